/**
 * Assertions on the archive part of the synthesized TrailkeeperStack: the KMS key, the Object Lock
 * archive bucket and the staging bucket (encryption, lock, versioning, lifecycle, TLS, public
 * access, logs), the archive settings and their CDK context overrides and validation, the
 * archiver's stream event source, the EventBridge schedules of the scheduled jobs, the S3/KMS
 * grants each definition asks for (and that no role can shorten or bypass the lock), and the
 * archive alarms. Handlers are not bundled (only the template is under test); stack.test.ts
 * synthesizes with bundling and runs cdk-nag over the default stack.
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVE_ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS,
  ARCHIVE_CONTEXT,
  LONGEST_PLAN_DAYS,
  NONCURRENT_VERSION_EXPIRATION_DAYS,
  resolveArchiveSettings,
} from '#infra/constructs/archive.ts';
import { ARCHIVER_METRICS, TAMPERING_METRIC } from '#infra/constructs/metrics.ts';
import { MAX_ITERATOR_AGE } from '#infra/constructs/monitoring.ts';
import { SCHEDULE_DELIVERY_RETRIES } from '#infra/constructs/schedule.ts';
import { RESERVE_CONCURRENCY_CONTEXT } from '#infra/constructs/service-function.ts';
import { TrailkeeperStack } from '#infra/stack.ts';
import { functionsOfKind, MANIFEST } from '#shared/config/manifest.ts';
import {
  ARCHIVE,
  ARCHIVE_BUCKET,
  ARCHIVE_EVENTS_PREFIX,
  ARCHIVE_STAGING_BUCKET,
} from '#shared/config/storage.ts';
import { PLANS } from '#shared/domain/retention.ts';
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

type Statement = Record<string, Json>;

/** A stack whose handlers are not bundled: the template is the same, minus real code assets. */
const synthesize = (context: Record<string, unknown> = {}) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    emailFrom: TEST_SENDER,
    console: TEST_CONSOLE,
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

const propertiesOf = (construct: IConstruct): Record<string, Json> =>
  resources[logicalId(construct)]?.Properties ?? {};

const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const objectsOf = (bucket: IConstruct, pattern = '*') => ({
  'Fn::Join': ['', [getAtt(bucket), `/${pattern}`]],
});

const statementsOfRole = (role: IConstruct): Statement[] =>
  asList(
    (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
      ?.Statement,
  ) as Statement[];

/** Every Allow statement of every identity and resource policy in a template. */
const allowStatements = (of: Record<string, Resource>): [string, Statement][] =>
  Object.entries(of)
    .flatMap(([id, r]): [string, Json][] => {
      if (r.Type === 'AWS::IAM::Role') {
        return asList(r.Properties?.Policies).map((p) => [
          id,
          (p as { PolicyDocument?: Json }).PolicyDocument,
        ]);
      }
      return /^AWS::(IAM::(Managed)?Policy|S3::BucketPolicy|SQS::QueuePolicy|KMS::Key)$/.test(r.Type)
        ? [[id, r.Properties?.PolicyDocument ?? r.Properties?.KeyPolicy]]
        : [];
    })
    .flatMap(([id, doc]) =>
      (asList((doc as { Statement?: Json } | undefined)?.Statement) as Statement[]).map(
        (statement): [string, Statement] => [id, statement],
      ),
    )
    .filter(([, statement]) => statement.Effect === 'Allow');

const actionsOf = (statement: Statement): string[] => asList(statement.Action).map(String);

// --- lock guarantees ------------------------------------------------------------------------------

/** Actions that would let a principal shorten, lift or route around Object Lock, on any bucket. */
const LOCK_ACTIONS = [
  's3:PutObjectRetention',
  's3:BypassGovernanceRetention',
  's3:PutBucketObjectLockConfiguration',
];
/** Deletes that must never be granted on the archive bucket. */
const ARCHIVE_DELETES = ['s3:DeleteObject', 's3:DeleteObjectVersion'];

/** Does a Resource entry name the archive bucket (by its logical id) or could a wildcard cover it? */
const mayCoverArchive = (resource: Json, archiveId: string): boolean =>
  typeof resource === 'string'
    ? globMatches(resource, 'arn:aws:s3:::trailkeeper-archive-sample/tenant=t/date=2026-01-01/x.ndjson.gz')
    : JSON.stringify(resource).includes(`"${archiveId}"`);

/** Statements that could delete archive objects or alter a lock, however spelled. */
const lockViolations = (statements: [string, Statement][], archiveId: string): [string, string[]][] =>
  statements.flatMap(([id, statement]): [string, string[]][] => {
    if (statement.NotAction !== undefined) return [[id, ['NotAction']]];
    const granted = (candidates: string[]) =>
      candidates.filter((action) => actionsOf(statement).some((pattern) => globMatches(pattern, action)));
    const lock = granted(LOCK_ACTIONS);
    const targets = statement.NotResource !== undefined ? ['*'] : asList(statement.Resource);
    const deletes = targets.some((r) => mayCoverArchive(r, archiveId)) ? granted(ARCHIVE_DELETES) : [];
    return lock.length + deletes.length > 0 ? [[id, [...lock, ...deletes]]] : [];
  });

// --- tests ----------------------------------------------------------------------------------------

describe('archive key', () => {
  it('is a customer-managed key with yearly rotation, retained with the stack', () => {
    expect(resources[logicalId(stack.archive.key)]).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });

  it('encrypts both buckets with SSE-KMS under that key, with a bucket key', () => {
    for (const bucket of [stack.archive.bucket, stack.archive.stagingBucket]) {
      expect(propertiesOf(bucket).BucketEncryption, bucket.node.path).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: getAtt(stack.archive.key),
            },
          },
        ],
      });
    }
  });
});

describe('archive bucket', () => {
  it(`locks every object in ${ARCHIVE.lockMode} mode for ${ARCHIVE.retentionDays} days by default`, () => {
    expect(propertiesOf(stack.archive.bucket)).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: ARCHIVE.retentionDays } },
      },
    });
  });

  it('keeps at least the longest plan by default', () => {
    expect(LONGEST_PLAN_DAYS).toBe(Math.max(...Object.values(PLANS)));
    expect(ARCHIVE.retentionDays).toBeGreaterThanOrEqual(LONGEST_PLAN_DAYS);
  });

  it('is versioned, blocks all public access, has ACLs off and is retained', () => {
    expect(resources[logicalId(stack.archive.bucket)]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    });
  });

  it('tiers large event objects to Glacier then Deep Archive, and expires everything after the retention period', () => {
    expect(propertiesOf(stack.archive.bucket).LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'TierEventObjects',
          Status: 'Enabled',
          Prefix: ARCHIVE_EVENTS_PREFIX,
          // CloudFormation types the size as a string.
          ObjectSizeGreaterThan: String(ARCHIVE.minTransitionBytes),
          Transitions: [
            { StorageClass: 'GLACIER', TransitionInDays: ARCHIVE.glacierAfterDays },
            { StorageClass: 'DEEP_ARCHIVE', TransitionInDays: ARCHIVE.deepArchiveAfterDays },
          ],
        },
        {
          Id: 'ExpireAfterRetention',
          Status: 'Enabled',
          ExpirationInDays: ARCHIVE.retentionDays,
          NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_EXPIRATION_DAYS },
          AbortIncompleteMultipartUpload: {
            DaysAfterInitiation: ARCHIVE_ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS,
          },
        },
        { Id: 'RemoveExpiredDeleteMarkers', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
      ],
    });
  });

  it('writes server access logs to the access log bucket under its own prefix', () => {
    expect(propertiesOf(stack.archive.bucket).LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logicalId(stack.accessLogs.bucket) },
      LogFilePrefix: `${ARCHIVE_BUCKET.localName}/`,
    });
  });
});

describe('archive staging bucket', () => {
  it(`expires staged batches after ${ARCHIVE_STAGING_BUCKET.expireAfterDays} days, well after their day is compacted`, () => {
    expect(propertiesOf(stack.archive.stagingBucket).LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'ExpireStagedBatches',
          Status: 'Enabled',
          ExpirationInDays: ARCHIVE_STAGING_BUCKET.expireAfterDays,
          AbortIncompleteMultipartUpload: {
            DaysAfterInitiation: ARCHIVE_ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS,
          },
        },
      ],
    });
    expect(ARCHIVE_STAGING_BUCKET.expireAfterDays * 24).toBeGreaterThan(ARCHIVE.closeAfterHours);
  });

  it('has no Object Lock and no versioning (the compactor really deletes what it compacted)', () => {
    const properties = propertiesOf(stack.archive.stagingBucket);
    expect(properties.ObjectLockEnabled).toBeUndefined();
    expect(properties.ObjectLockConfiguration).toBeUndefined();
    expect(properties.VersioningConfiguration).toBeUndefined();
  });

  it('blocks all public access, has ACLs off, logs access and is retained', () => {
    expect(resources[logicalId(stack.archive.stagingBucket)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: logicalId(stack.accessLogs.bucket) },
          LogFilePrefix: `${ARCHIVE_STAGING_BUCKET.localName}/`,
        },
      },
    });
  });
});

describe('archive buckets over TLS', () => {
  it('refuses every request not made over TLS, on each bucket and its objects', () => {
    for (const bucket of [stack.archive.bucket, stack.archive.stagingBucket]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: [getAtt(bucket), objectsOf(bucket)],
            },
          ]),
        },
      });
    }
  });

  it('lets log delivery write the access logs of both buckets', () => {
    for (const bucket of [stack.archive.bucket, stack.archive.stagingBucket]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(stack.accessLogs.bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': getAtt(bucket) } }),
            }),
          ]),
        },
      });
    }
  });
});

describe('archive outputs', () => {
  it('outputs both bucket names and the key ARN', () => {
    template.hasOutput('ArchiveBucketName', { Value: { Ref: logicalId(stack.archive.bucket) } });
    template.hasOutput('ArchiveStagingBucketName', {
      Value: { Ref: logicalId(stack.archive.stagingBucket) },
    });
    template.hasOutput('ArchiveKeyArn', { Value: getAtt(stack.archive.key) });
  });
});

describe('archive settings', () => {
  const context =
    (values: Record<string, unknown>) =>
    (key: string): unknown =>
      values[key];

  it('defaults to ARCHIVE when no context is given', () => {
    expect(resolveArchiveSettings(context({}))).toEqual({
      retentionDays: ARCHIVE.retentionDays,
      lockMode: ARCHIVE.lockMode,
      glacierAfterDays: ARCHIVE.glacierAfterDays,
      deepArchiveAfterDays: ARCHIVE.deepArchiveAfterDays,
    });
  });

  it('takes each setting from its context key, as a number or a -c string', () => {
    expect(
      resolveArchiveSettings(
        context({
          archiveRetentionDays: '3650',
          archiveLockMode: 'governance',
          archiveGlacierAfterDays: 30,
          archiveDeepArchiveAfterDays: ' 200 ',
        }),
      ),
    ).toEqual({
      retentionDays: 3650,
      lockMode: 'GOVERNANCE',
      glacierAfterDays: 30,
      deepArchiveAfterDays: 200,
    });
    expect(Object.values(ARCHIVE_CONTEXT).sort()).toEqual([
      'archiveDeepArchiveAfterDays',
      'archiveGlacierAfterDays',
      'archiveLockMode',
      'archiveRetentionDays',
    ]);
  });

  it('builds the lock and lifecycle from the context overrides', () => {
    const overridden = synthesize({
      archiveRetentionDays: '3650',
      archiveLockMode: 'GOVERNANCE',
      archiveGlacierAfterDays: '30',
      archiveDeepArchiveAfterDays: '200',
    });
    const properties = overridden.resources[logicalId(overridden.stack.archive.bucket)]?.Properties;
    expect(properties?.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3650 } },
    });
    const rules =
      (properties?.LifecycleConfiguration as { Rules?: Record<string, Json>[] } | undefined)?.Rules ?? [];
    expect(rules.find((rule) => rule.Id === 'TierEventObjects')?.Transitions).toEqual([
      { StorageClass: 'GLACIER', TransitionInDays: 30 },
      { StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 200 },
    ]);
    expect(rules.find((rule) => rule.Id === 'ExpireAfterRetention')?.ExpirationInDays).toBe(3650);
    overridden.template.hasOutput('ArchiveBucketName', {
      Description: Match.stringLikeRegexp('GOVERNANCE, 3650 days'),
    });
    const report = new AwsSolutionsChecks().validateScope(overridden.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('fails synth on a retention shorter than the longest plan', () => {
    expect(() => synthesize({ archiveRetentionDays: 2000 })).toThrow(
      `archiveRetentionDays (2000) must be at least the longest retention plan (compliance: ${LONGEST_PLAN_DAYS} days)`,
    );
  });

  it('fails synth on a retention beyond what Object Lock allows', () => {
    expect(() => resolveArchiveSettings(context({ archiveRetentionDays: 40_000 }))).toThrow(
      /archiveRetentionDays \(40000\) exceeds the 36500 days/,
    );
  });

  it('fails synth on a lock mode other than COMPLIANCE or GOVERNANCE', () => {
    expect(() => synthesize({ archiveLockMode: 'LEGAL_HOLD' })).toThrow(
      'archiveLockMode must be COMPLIANCE or GOVERNANCE, got "LEGAL_HOLD"',
    );
  });

  it('fails synth on days that are not whole positive numbers', () => {
    for (const value of ['ten', '12.5', -3, 0, 1.5]) {
      expect(
        () => resolveArchiveSettings(context({ archiveGlacierAfterDays: value })),
        String(value),
      ).toThrow(/archiveGlacierAfterDays must be a whole number of days/);
    }
  });

  it('fails synth unless Deep Archive comes after Glacier', () => {
    expect(() => synthesize({ archiveGlacierAfterDays: 180, archiveDeepArchiveAfterDays: 180 })).toThrow(
      'archiveDeepArchiveAfterDays (180) must be greater than archiveGlacierAfterDays (180)',
    );
    expect(() => synthesize({ archiveDeepArchiveAfterDays: 60 })).toThrow(
      `archiveDeepArchiveAfterDays (60) must be greater than archiveGlacierAfterDays (${ARCHIVE.glacierAfterDays})`,
    );
  });

  it('fails synth when objects would expire before reaching Deep Archive', () => {
    expect(() => synthesize({ archiveDeepArchiveAfterDays: ARCHIVE.retentionDays })).toThrow(
      /must be less than archiveRetentionDays .*expire before reaching Deep Archive/,
    );
  });
});

const ARCHIVER = MANIFEST.archiver;

describe('archiver', () => {
  it('reads the events stream as its manifest entry says, reporting partial failures, with an on-failure queue', () => {
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: {
        EventSourceArn: getAtt(stack.events.table, 'StreamArn'),
        FunctionName: { Ref: logicalId(stack.functions.archiver.fn) },
      },
    });
    expect(Object.values(mappings).map((m) => (m as Resource).Properties)).toEqual([
      {
        EventSourceArn: getAtt(stack.events.table, 'StreamArn'),
        FunctionName: { Ref: logicalId(stack.functions.archiver.fn) },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: ARCHIVER.stream.batchSize,
        MaximumBatchingWindowInSeconds: ARCHIVER.stream.maxBatchingWindowSeconds,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: ARCHIVER.stream.retryAttempts,
        MaximumRecordAgeInSeconds: ARCHIVER.stream.maxRecordAgeSeconds,
        ParallelizationFactor: ARCHIVER.stream.parallelizationFactor,
        DestinationConfig: {
          OnFailure: { Destination: getAtt(stack.streamConsumers.archiver.deadLetterQueue) },
        },
      },
    ]);
  });

  it('keeps failed batches 14 days in an encrypted, TLS-only queue', () => {
    expect(propertiesOf(stack.streamConsumers.archiver.deadLetterQueue)).toEqual({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(stack.streamConsumers.archiver.deadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('is built from its manifest entry', () => {
    expect(propertiesOf(stack.functions.archiver.fn)).toMatchObject({
      MemorySize: ARCHIVER.memoryMiB,
      Timeout: ARCHIVER.timeoutSeconds,
    });
  });

  it('names its metrics in the Trailkeeper namespace with the service dimension', () => {
    expect(TAMPERING_METRIC).toBe(ARCHIVER_METRICS.tampering);
    const metric = (metricName: string) => ({
      namespace: 'Trailkeeper',
      metricName,
      dimensions: { service: 'trailkeeper' },
    });
    expect(ARCHIVER_METRICS).toEqual({
      tampering: metric('EventTampering'),
      quarantined: metric('ArchiveQuarantined'),
      inserted: metric('EventsInserted'),
      archived: metric('EventsArchived'),
      expired: metric('EventsExpired'),
      retimed: metric('EventsRetimed'),
    });
  });
});

describe('scheduled jobs', () => {
  const jobs = () =>
    functionsOfKind('schedule').map(([name, definition]) => ({
      name,
      definition,
      job: stack.jobs[name],
    }));

  it('schedules exactly the definitions that have a schedule: compactor, retention worker, sealer, integrity scan, stream sweeper', () => {
    const scheduled = functionCases(stack).filter((c) => c.definition.kind === 'schedule');
    expect(scheduled.map((c) => c.name).sort()).toEqual([
      'archiveCompactor',
      'integrityScan',
      'retentionWorker',
      'sealer',
      'streamSweeper',
    ]);
    expect(jobs().map(({ name }) => name)).toEqual(scheduled.map((c) => c.name));
    template.resourceCountIs('AWS::Events::Rule', scheduled.length);
  });

  it('invokes each on its rate, with a bounded retry policy and a dead-letter queue', () => {
    expect(jobs().map(({ definition }) => definition.schedule.rateMinutes)).toEqual([1, 60, 1, 5, 15]);
    for (const { name, definition, job } of jobs()) {
      const schedule = job.schedule;
      expect(schedule, name).toBeDefined();
      if (!schedule) continue;
      const tickSeconds = Math.max(60, definition.schedule.rateMinutes * 60);
      expect(propertiesOf(schedule.rule), name).toMatchObject({
        ScheduleExpression: Schedule.rate(Duration.minutes(definition.schedule.rateMinutes)).expressionString,
        State: 'ENABLED',
        Targets: [
          {
            Arn: getAtt(job.fn),
            Id: 'Target0',
            RetryPolicy: {
              MaximumRetryAttempts: SCHEDULE_DELIVERY_RETRIES,
              MaximumEventAgeInSeconds: tickSeconds,
            },
            DeadLetterConfig: { Arn: getAtt(schedule.deadLetterQueue) },
          },
        ],
      });
      expect(propertiesOf(schedule.deadLetterQueue), name).toEqual({
        MessageRetentionPeriod: 14 * 86_400,
        SqsManagedSseEnabled: true,
      });
      // EventBridge may put undeliverable invocations into it, from this rule only.
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(schedule.deadLetterQueue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Condition: { ArnEquals: { 'aws:SourceArn': getAtt(schedule.rule) } },
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(job.fn),
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(schedule.rule),
      });
    }
  });

  it('reserves no concurrency by default: a fresh account with a low quota can deploy the stack', () => {
    for (const { name, job } of jobs()) {
      expect(propertiesOf(job.fn).ReservedConcurrentExecutions, name).toBeUndefined();
    }
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { ReservedConcurrentExecutions: Match.anyValue() },
      0,
    );
  });

  it('reserves one execution per job with -c reserveConcurrency=true, and nothing for other functions', () => {
    for (const value of ['true', true]) {
      const reserved = synthesize({ [RESERVE_CONCURRENCY_CONTEXT]: value });
      for (const [name] of functionsOfKind('schedule')) {
        const fn = reserved.stack.jobs[name].fn;
        expect(reserved.resources[logicalId(fn)]?.Properties?.ReservedConcurrentExecutions, name).toBe(1);
      }
      reserved.template.resourcePropertiesCountIs(
        'AWS::Lambda::Function',
        { ReservedConcurrentExecutions: Match.anyValue() },
        functionsOfKind('schedule').length,
      );
    }
    synthesize({ [RESERVE_CONCURRENCY_CONTEXT]: 'false' }).template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { ReservedConcurrentExecutions: Match.anyValue() },
      0,
    );
    expect(() => synthesize({ [RESERVE_CONCURRENCY_CONTEXT]: 'yes' })).toThrow(
      /context reserveConcurrency must be true or false/,
    );
  });

  it('drops a tick older than one interval and never retries a run: the next tick is the retry', () => {
    for (const { definition, job } of jobs()) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(job.fn) },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: Math.max(60, definition.schedule.rateMinutes * 60),
      });
    }
  });
});

describe('grants on the archive', () => {
  const viaS3 = {
    StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.us-east-1.', { Ref: 'AWS::URLSuffix' }]] } },
  };

  it('gives each function exactly the S3 and KMS actions of its archive access', () => {
    const { bucket, stagingBucket, key } = stack.archive;
    const ids = [bucket, stagingBucket, key].map((construct) => `"${logicalId(construct)}"`);
    const expected: Record<string, Statement[]> = {
      none: [],
      stage: [
        { Action: 's3:PutObject', Effect: 'Allow', Resource: objectsOf(stagingBucket) },
        { Action: 's3:PutObject', Effect: 'Allow', Resource: objectsOf(bucket, 'quarantine/*') },
        {
          Action: ['kms:GenerateDataKey', 'kms:Encrypt'],
          Condition: viaS3,
          Effect: 'Allow',
          Resource: getAtt(key),
        },
      ],
      digests: [
        { Action: 's3:GetObject', Effect: 'Allow', Resource: objectsOf(bucket, 'digests/*') },
        {
          Action: 's3:PutObject',
          Condition: { StringEquals: { 's3:if-none-match': '*' } },
          Effect: 'Allow',
          Resource: objectsOf(bucket, 'digests/*'),
        },
        {
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Condition: viaS3,
          Effect: 'Allow',
          Resource: getAtt(key),
        },
      ],
      'digests-read': [
        { Action: 's3:GetObject', Effect: 'Allow', Resource: objectsOf(bucket, 'digests/*') },
        { Action: 'kms:Decrypt', Condition: viaS3, Effect: 'Allow', Resource: getAtt(key) },
      ],
      compact: [
        { Action: ['s3:GetObject', 's3:DeleteObject'], Effect: 'Allow', Resource: objectsOf(stagingBucket) },
        { Action: 's3:ListBucket', Effect: 'Allow', Resource: getAtt(stagingBucket) },
        {
          Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
          Effect: 'Allow',
          Resource: objectsOf(bucket, 'tenant=*'),
        },
        {
          Action: 's3:ListBucket',
          Condition: { StringLike: { 's3:prefix': ['tenant=*'] } },
          Effect: 'Allow',
          Resource: getAtt(bucket),
        },
        {
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Condition: viaS3,
          Effect: 'Allow',
          Resource: getAtt(key),
        },
      ],
    };
    const cases = functionCases(stack);
    expect(
      cases
        .filter((c) => c.definition.archive)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['archiveCompactor', 'archiver', 'integrity', 'integrityScan', 'sealer']);
    for (const { name, definition, role } of cases) {
      const onArchive = statementsOfRole(role).filter((s) =>
        ids.some((id) => JSON.stringify(s.Resource).includes(id)),
      );
      expect(onArchive, name).toEqual(expected[definition.archive ?? 'none']);
    }
  });

  it('lets no policy delete archive objects, change or bypass retention, or change the lock configuration', () => {
    const all = allowStatements(resources);
    expect(all.length).toBeGreaterThan(functionCases(stack).length);
    expect(lockViolations(all, logicalId(stack.archive.bucket))).toEqual([]);
  });

  it('the lock checker catches such grants however they are spelled (so the real check can fail)', () => {
    const archiveId = 'ArchiveBucketABC';
    const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [archiveId, 'Arn'] }, '/*']] };
    const allow = (Action: Json, Resource: Json): Statement => ({ Effect: 'Allow', Action, Resource });
    const found = lockViolations(
      [
        ['Delete', allow('s3:DeleteObject', objects)],
        ['Versions', allow(['s3:Delete*'], objects)],
        ['Star', allow('*', '*')],
        ['Retention', allow('s3:PutObjectRetention', { 'Fn::GetAtt': ['OtherBucket', 'Arn'] })],
        ['Bypass', allow('s3:Bypass*', objects)],
        ['LockConfig', allow('s3:PutBucket*', { 'Fn::GetAtt': [archiveId, 'Arn'] })],
        ['AnyBucket', allow('s3:DeleteObjectVersion', 'arn:aws:s3:::*/*')],
        ['NotAction', { Effect: 'Allow', NotAction: 's3:GetObject', Resource: objects }],
        ['Fine', allow(['s3:GetObject', 's3:PutObject'], objects)],
        ['OtherDelete', allow('s3:DeleteObject', { 'Fn::GetAtt': ['StagingBucket', 'Arn'] })],
      ],
      archiveId,
    );
    expect(found.map(([id]) => id)).toEqual([
      'Delete',
      'Versions',
      'Star',
      'Retention',
      'Bypass',
      'LockConfig',
      'AnyBucket',
      'NotAction',
    ]);
  });

  it('acknowledges each object wildcard only on the roles granted it', () => {
    const acknowledgedOn = (finding: string): string[] =>
      functionCases(stack)
        .filter(({ role }) =>
          role.node.metadata.some(
            (entry) =>
              entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
              Object.keys(entry.data as object).some((id) => id.replace(/^annotation::/i, '') === finding),
          ),
        )
        .map(({ name }) => name)
        .sort();
    const finding = (bucket: IConstruct, pattern: string) =>
      `AwsSolutions-IAM5[Resource::<${logicalId(bucket)}.Arn>/${pattern}]`;
    expect(acknowledgedOn(finding(stack.archive.stagingBucket, '*'))).toEqual([
      'archiveCompactor',
      'archiver',
    ]);
    expect(acknowledgedOn(finding(stack.archive.bucket, 'quarantine/*'))).toEqual(['archiver']);
    expect(acknowledgedOn(finding(stack.archive.bucket, 'tenant=*'))).toEqual(['archiveCompactor']);
    expect(acknowledgedOn(finding(stack.archive.bucket, '*'))).toEqual([]);
    expect(acknowledgedOn(finding(stack.archive.bucket, 'digests/*'))).toEqual([
      'integrity',
      'integrityScan',
      'sealer',
    ]);
  });
});

describe('archive alarms', () => {
  const topic = () => [{ Ref: logicalId(stack.monitoring.topic) }];
  const lambdaAlarms = (metricName: string, fn: IConstruct): Resource[] =>
    Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
        },
      }),
    ) as Resource[];

  it('alarms at one EventTampering and at one ArchiveQuarantined, per minute, into the topic', () => {
    for (const metricName of ['EventTampering', 'ArchiveQuarantined']) {
      const alarms = Object.values(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { Namespace: 'Trailkeeper', MetricName: metricName },
        }),
      ) as Resource[];
      expect(alarms, metricName).toHaveLength(1);
      expect(alarms[0]?.Properties, metricName).toMatchObject({
        Dimensions: [{ Name: 'service', Value: 'trailkeeper' }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: topic(),
      });
    }
  });

  it('counts archived, expired and re-timed events without alarming on them', () => {
    for (const metricName of ['EventsArchived', 'EventsExpired', 'EventsRetimed']) {
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: metricName },
      });
      expect(Object.keys(alarms), metricName).toHaveLength(0);
    }
  });

  it('alarms at one message in the archiver dead-letter queue', () => {
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: getAtt(stack.streamConsumers.archiver.deadLetterQueue, 'QueueName') },
          ],
        },
      }),
    ) as Resource[];
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: topic(),
    });
  });

  it(`alarms when the archiver's iterator age exceeds ${MAX_ITERATOR_AGE.toHours()} hour`, () => {
    const alarms = lambdaAlarms('IteratorAge', stack.functions.archiver.fn);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Statistic: 'Maximum',
      Threshold: 3_600_000,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: topic(),
    });
  });

  it('alarms on errors of the compactor and of the retention worker, and on their schedule dead letters', () => {
    for (const name of ['archiveCompactor', 'retentionWorker'] as const) {
      const job = stack.jobs[name];
      const errors = lambdaAlarms('Errors', job.fn);
      expect(errors, name).toHaveLength(1);
      expect(errors[0]?.Properties, name).toMatchObject({
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: topic(),
      });
      const queue = job.schedule?.deadLetterQueue;
      expect(queue, name).toBeDefined();
      if (!queue) continue;
      const deadLetters = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }],
        },
      });
      expect(Object.keys(deadLetters), `${name} schedule dead letters`).toHaveLength(1);
    }
  });
});
