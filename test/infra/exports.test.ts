/**
 * Assertions on the export resources of the synthesized TrailkeeperStack: the exports bucket and
 * its access logs, the job queue and its dead-letter queue, the worker's event source, the export
 * routes, the S3/SQS/SES grants each function's definition asks for (and nothing more), the SES
 * sender identity and the export alarms. Handlers are not bundled here (only the template is
 * under test), so the stack synthesizes in about a second; stack.test.ts synthesizes with
 * bundling and runs cdk-nag over the whole stack.
 */
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_RETENTION_DAYS } from '#infra/constructs/access-log-bucket.ts';
import {
  ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS,
  EXPORT_WORKER_CONCURRENCY_CONTEXT,
  EXPORT_WORKER_MAX_CONCURRENCY,
  MISSING_SENDER_MESSAGE,
  resolveSender,
} from '#infra/constructs/exports.ts';
import { EXPORT_QUEUE_MAX_AGE, TrailkeeperStack, type TrailkeeperStackProps } from '#infra/stack.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { ROUTES } from '#shared/config/routes.ts';
import { EXPORT_QUEUE, EXPORTS_BUCKET } from '#shared/config/storage.ts';
import {
  asList,
  defaultPolicyId,
  functionCases,
  globMatches,
  type Json,
  logicalId,
  type Resource,
  TEST_CONSOLE,
  TEST_SENDER,
} from './stack-helpers.ts';

const EXPORT_WORKER = MANIFEST.exportWorker;

type Statement = Record<string, Json>;

/**
 * A stack whose handlers are not bundled: the template is the same, minus real code assets. The
 * props replace the default ones (the test sender) whole.
 */
const synthesize = (
  props: Omit<TrailkeeperStackProps, 'env' | 'console'> = { emailFrom: TEST_SENDER },
  context: Record<string, unknown> = {},
) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    console: TEST_CONSOLE,
    ...props,
  });
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
};

let stack: TrailkeeperStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  ({ stack, template, resources } = synthesize());
});

const statementsOfRole = (role: Parameters<typeof defaultPolicyId>[0]): Statement[] =>
  asList(
    (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
      ?.Statement,
  ) as Statement[];

/** Every Allow statement of every identity and resource policy in the template. */
const allAllowStatements = (): [string, Statement][] =>
  Object.entries(resources)
    .filter(([, r]) =>
      [
        'AWS::IAM::Policy',
        'AWS::IAM::ManagedPolicy',
        'AWS::S3::BucketPolicy',
        'AWS::SQS::QueuePolicy',
      ].includes(r.Type),
    )
    .flatMap(([id, r]) =>
      (
        asList((r.Properties?.PolicyDocument as { Statement?: Json } | undefined)?.Statement) as Statement[]
      ).map((statement): [string, Statement] => [id, statement]),
    )
    .filter(([, statement]) => statement.Effect === 'Allow');

const actionsOf = (statement: Statement): string[] => asList(statement.Action).map(String);
const mentions = (value: Json, id: string): boolean => JSON.stringify(value).includes(`"${id}"`);

describe('exports bucket', () => {
  it('is SSE-S3 encrypted, blocks all public access, has ACLs off and is retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      }),
    });
    expect(resources[logicalId(stack.exports.bucket)]).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  it(`expires exports after ${EXPORTS_BUCKET.expireAfterDays} days and aborts incomplete multipart uploads after ${ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS} day`, () => {
    const bucket = resources[logicalId(stack.exports.bucket)];
    expect(bucket?.Properties?.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'ExpireExports',
          Status: 'Enabled',
          ExpirationInDays: EXPORTS_BUCKET.expireAfterDays,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS },
        },
      ],
    });
  });

  it('refuses every request not made over TLS, on the bucket and on its objects', () => {
    const bucketId = logicalId(stack.exports.bucket);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [
              { 'Fn::GetAtt': [bucketId, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
            ],
          },
        ]),
      },
    });
  });

  it('writes server access logs to the access log bucket, which only log delivery from this bucket may write', () => {
    const bucketId = logicalId(stack.exports.bucket);
    const logsId = logicalId(stack.accessLogs.bucket);
    expect(resources[bucketId]?.Properties?.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: `${EXPORTS_BUCKET.localName}/`,
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
    expect(resources[logsId]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: {
          Rules: [{ Id: 'ExpireAccessLogs', Status: 'Enabled', ExpirationInDays: ACCESS_LOG_RETENTION_DAYS }],
        },
      },
    });
  });
});

describe('export job queue', () => {
  it('is SQS-encrypted with the visibility timeout of storage.ts and redrives to the dead-letter queue', () => {
    expect(resources[logicalId(stack.exports.queue)]?.Properties).toEqual({
      VisibilityTimeout: EXPORT_QUEUE.visibilityTimeoutSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.exports.deadLetterQueue), 'Arn'] },
        maxReceiveCount: EXPORT_QUEUE.maxReceiveCount,
      },
    });
  });

  it('keeps dead letters 14 days, encrypted', () => {
    expect(resources[logicalId(stack.exports.deadLetterQueue)]?.Properties).toEqual({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
  });

  it('refuses plain HTTP to both queues', () => {
    for (const queue of [stack.exports.queue, stack.exports.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('hides a received job for at least as long as the worker may run it', () => {
    expect(EXPORT_QUEUE.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(EXPORT_WORKER.timeoutSeconds);
  });
});

describe('export worker', () => {
  it('consumes the job queue one message at a time, reporting partial failures, at bounded concurrency', () => {
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.exports.queue), 'Arn'] } },
    });
    expect(Object.values(mappings).map((m) => (m as Resource).Properties)).toEqual([
      {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.exports.queue), 'Arn'] },
        FunctionName: { Ref: logicalId(stack.exports.worker.fn) },
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: EXPORT_WORKER_MAX_CONCURRENCY },
      },
    ]);
  });

  it('reserves no concurrency: the cap holds executions only while jobs run', () => {
    expect(
      resources[logicalId(stack.exports.worker.fn)]?.Properties?.ReservedConcurrentExecutions,
    ).toBeUndefined();
  });

  it(`runs at most -c ${EXPORT_WORKER_CONCURRENCY_CONTEXT}=… jobs at once on an account with a low quota`, () => {
    const low = synthesize(undefined, { [EXPORT_WORKER_CONCURRENCY_CONTEXT]: '2' });
    low.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    // SQS event sources accept 2 to 1000.
    for (const bad of ['1', '1001', 'ten']) {
      expect(() => synthesize(undefined, { [EXPORT_WORKER_CONCURRENCY_CONTEXT]: bad }), bad).toThrow(
        /exportWorkerMaxConcurrency must be a whole number from 2 to 1000/,
      );
    }
  });

  it('is built from its manifest entry like every other function', () => {
    expect(resources[logicalId(stack.exports.worker.fn)]?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: EXPORT_WORKER.memoryMiB,
      Timeout: EXPORT_WORKER.timeoutSeconds,
    });
  });
});

describe('export routes', () => {
  it('serves POST /v1/exports, GET /v1/exports/{id} and its /download through the exports function, behind the authorizer', () => {
    const exportRoutes = ROUTES.filter((route) => route.path.startsWith('/v1/exports'));
    expect(exportRoutes.map((route) => `${route.method} ${route.path}`).sort()).toEqual([
      'GET /v1/exports/{id}',
      'GET /v1/exports/{id}/download',
      'POST /v1/exports',
    ]);
    const authorizerId = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'))[0];
    const exportsFn = logicalId(stack.api.functions.exports.fn);
    for (const route of exportRoutes) {
      const routeKey = `${route.method} ${route.path}`;
      const found = Object.values(
        template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }),
      ) as Resource[];
      expect(found, routeKey).toHaveLength(1);
      expect(found[0]?.Properties, routeKey).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
      });
      const target = found[0]?.Properties?.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
      const integration = resources[target['Fn::Join'][1][1].Ref];
      expect(integration?.Properties?.IntegrationUri, routeKey).toEqual({ 'Fn::GetAtt': [exportsFn, 'Arn'] });
    }
  });
});

describe('grants on the export resources', () => {
  it('gives each function exactly the object actions of its exportsBucket access, on the bucket objects only', () => {
    const bucketId = logicalId(stack.exports.bucket);
    for (const { name, definition, role } of functionCases(stack)) {
      const onBucket = statementsOfRole(role).filter((s) => mentions(s.Resource, bucketId));
      const expected = {
        none: [],
        read: ['s3:GetObject'],
        write: ['s3:AbortMultipartUpload', 's3:PutObject'],
        'read-write': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      }[definition.exportsBucket ?? 'none'];
      expect(onBucket.flatMap(actionsOf).sort(), name).toEqual(expected);
      for (const statement of onBucket) {
        expect(statement.Resource, name).toEqual({
          'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']],
        });
      }
    }
  });

  it('never allows deleting an object or version, in any policy of the stack, but staged archive batches by the compactor', () => {
    const deletes = ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:DeleteBucket'];
    // The compactor removes the staged batches it has compacted (archive.test.ts covers that grant):
    // exactly s3:GetObject + s3:DeleteObject on the staging bucket's objects, in its own policy.
    const compactorPolicy = defaultPolicyId(stack.jobs.archiveCompactor.role);
    const stagedBatches = {
      'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.archive.stagingBucket), 'Arn'] }, '/*']],
    };
    const isStagingCleanup = (id: string, statement: Statement): boolean =>
      id === compactorPolicy &&
      JSON.stringify(actionsOf(statement)) === JSON.stringify(['s3:GetObject', 's3:DeleteObject']) &&
      JSON.stringify(statement.Resource) === JSON.stringify(stagedBatches);
    // An Allow with NotAction allows everything it does not list, deletes included.
    const offending = allAllowStatements().filter(
      ([id, statement]) =>
        statement.NotAction !== undefined ||
        (deletes.some((action) => actionsOf(statement).some((pattern) => globMatches(pattern, action))) &&
          !isStagingCleanup(id, statement)),
    );
    expect(offending.map(([id]) => id)).toEqual([]);
    expect(allAllowStatements().filter(([id, statement]) => isStagingCleanup(id, statement))).toHaveLength(1);
  });

  it('checks deletes by pattern, so a wildcard grant would be caught', () => {
    expect(globMatches('s3:Delete*', 's3:DeleteObject')).toBe(true);
    expect(globMatches('s3:*', 's3:DeleteObjectVersion')).toBe(true);
    expect(globMatches('s3:PutObject', 's3:DeleteObject')).toBe(false);
  });

  it('lets senders only SendMessage to the job queue, and only the worker consume it', () => {
    const queueId = logicalId(stack.exports.queue);
    const consume = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ];
    for (const { name, definition, role } of functionCases(stack)) {
      const onQueue = statementsOfRole(role)
        .filter((s) => mentions(s.Resource, queueId))
        .flatMap(actionsOf)
        .sort();
      const expected = {
        none: [],
        send: ['sqs:SendMessage'],
        consume: [...consume, 'sqs:SendMessage'].sort(),
      }[definition.exportQueue ?? 'none'];
      expect(onQueue, name).toEqual(expected);
    }
  });

  it('allows SES sending only to functions that send email, only as the sender identity', () => {
    const identityId = logicalId(stack.exports.emailIdentity);
    for (const { name, definition, role } of functionCases(stack)) {
      const ses = statementsOfRole(role).filter((s) => actionsOf(s).some((a) => a.startsWith('ses:')));
      expect(ses.flatMap(actionsOf).sort(), name).toEqual(
        definition.sendsEmail ? ['ses:SendEmail', 'ses:SendRawEmail'] : [],
      );
      for (const statement of ses) {
        expect(statement.Resource, name).toEqual({
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':ses:us-east-1:',
              { Ref: 'AWS::AccountId' },
              ':identity/',
              { Ref: identityId },
            ],
          ],
        });
      }
    }
    const anywhere = allAllowStatements().filter(([, s]) =>
      actionsOf(s).some((a) => a.startsWith('ses:') || a === '*'),
    );
    expect(anywhere.every(([, s]) => !JSON.stringify(s.Resource).includes('*'))).toBe(true);
  });
});

describe('SES sender', () => {
  it('verifies the emailFrom address as an email identity and hands it to the worker', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'no-reply@trailkeeper.test',
    });
    expect(stack.exports.emailFrom).toBe(TEST_SENDER);
    template.hasOutput('EmailSender', {
      Value: TEST_SENDER,
      Description: Match.stringLikeRegexp('verification link.*sandbox'),
    });
  });

  it('fails synth without a sender, saying which context to set, instead of deploying a placeholder', () => {
    expect(() => synthesize({})).toThrow(MISSING_SENDER_MESSAGE);
    expect(MISSING_SENDER_MESSAGE).toMatch(/-c emailFrom=.*-c emailDomain=.*cdk\.json/);
    expect(() => resolveSender({ emailFrom: '  ', emailDomain: '' })).toThrow(/No sender for export emails/);
  });

  it('takes the sender of emailDomain alone as no-reply@ that domain', () => {
    const domainOnly = synthesize({ emailDomain: 'audit.example.org' });
    expect(domainOnly.stack.exports.emailFrom).toBe('Trailkeeper <no-reply@audit.example.org>');
    domainOnly.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'audit.example.org',
    });
  });

  it('verifies a whole domain with DKIM when emailDomain is given, and outputs its DNS records', () => {
    const withDomain = synthesize({
      emailDomain: 'audit.example.org',
      emailFrom: 'Audit <exports@audit.example.org>',
    });
    withDomain.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'audit.example.org',
    });
    expect(withDomain.stack.exports.emailFrom).toBe('Audit <exports@audit.example.org>');
    for (const index of [1, 2, 3]) withDomain.template.hasOutput(`DkimRecord${index}`, {});
    const report = new AwsSolutionsChecks().validateScope(withDomain.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('takes the address out of "Name <address>" and defaults the sender of a domain to no-reply@', () => {
    expect(resolveSender({ emailFrom: 'Trailkeeper <audit@example.net>' })).toEqual({
      from: 'Trailkeeper <audit@example.net>',
      address: 'audit@example.net',
      identity: { kind: 'email', name: 'audit@example.net' },
    });
    expect(resolveSender({ emailDomain: 'Example.NET' })).toEqual({
      from: 'Trailkeeper <no-reply@example.net>',
      address: 'no-reply@example.net',
      identity: { kind: 'domain', name: 'example.net' },
    });
  });

  it('fails synth on a malformed sender or one outside emailDomain', () => {
    expect(() => resolveSender({ emailFrom: 'not an address' })).toThrow(/emailFrom must be/);
    expect(() => resolveSender({ emailFrom: 'a@other.org', emailDomain: 'example.net' })).toThrow(
      /not an address of emailDomain/,
    );
  });
});

describe('export alarms', () => {
  const alarmsOn = (metricName: string, queueId: string): Resource[] =>
    Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'AWS/SQS',
          MetricName: metricName,
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        },
      }),
    ) as Resource[];

  it('alarms at one message in the export dead-letter queue', () => {
    const alarms = alarmsOn('ApproximateNumberOfMessagesVisible', logicalId(stack.exports.deadLetterQueue));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
    });
  });

  it(`alarms when the oldest export job has waited over ${EXPORT_QUEUE_MAX_AGE.toMinutes()} minutes`, () => {
    const alarms = alarmsOn('ApproximateAgeOfOldestMessage', logicalId(stack.exports.queue));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Threshold: EXPORT_QUEUE_MAX_AGE.toSeconds(),
      ComparisonOperator: 'GreaterThanThreshold',
      Statistic: 'Maximum',
      AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
    });
  });

  it('alarms on errors and throttles of the worker', () => {
    for (const metricName of ['Errors', 'Throttles']) {
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.exports.worker.fn) } }],
        },
      });
      expect(Object.keys(alarms), metricName).toHaveLength(1);
    }
  });
});

describe('export acknowledgements', () => {
  it('acknowledges the object wildcard only on the roles that were granted it', () => {
    const finding = `AwsSolutions-IAM5[Resource::<${logicalId(stack.exports.bucket)}.Arn>/*]`;
    const acknowledgedOn = functionCases(stack)
      .filter(({ role }) =>
        role.node.metadata.some(
          (entry) =>
            entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
            Object.keys(entry.data as object).some((id) => id.replace(/^annotation::/i, '') === finding),
        ),
      )
      .map(({ name }) => name)
      .sort();
    const granted = functionCases(stack)
      .filter(({ definition }) => definition.exportsBucket !== undefined)
      .map(({ name }) => name)
      .sort();
    expect(granted.length).toBeGreaterThan(0);
    expect(acknowledgedOn).toEqual(granted);
  });
});
