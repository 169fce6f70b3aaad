/**
 * Assertions on the synthesized TrailkeeperStack template: the events table as tables.ts declares
 * it, every Lambda on nodejs24.x/arm64 with the environment of its definition, every route of
 * routes.ts with its authorizer, the append-only IAM guarantee on the events table (over every
 * role, the export worker's included), alarms, and a clean cdk-nag run. The export resources
 * themselves are covered by exports.test.ts.
 * The stack is synthesized (and its handlers bundled) once for the whole file.
 */
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrailkeeperStack } from '#infra/stack.ts';
import { AUTHORIZER, ENV, FUNCTIONS, ROUTES } from '#shared/config/routes.ts';
import { EXPORT_QUEUE, EXPORTS_BUCKET } from '#shared/config/storage.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';
import {
  asList,
  functionCases as casesOf,
  defaultPolicyId,
  type FunctionCase,
  globMatches,
  type Json,
  logicalId,
  type Resource,
} from './stack-helpers.ts';

let app: App;
let stack: TrailkeeperStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  app = new App();
  stack = new TrailkeeperStack(app, 'Trailkeeper', { env: { region: 'us-east-1' } });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** Every function of the stack with the definition it was built from. */
const functionCases = (): FunctionCase[] => casesOf(stack);

// --- IAM analysis -------------------------------------------------------------------------------

/** Writes that would let a role change or remove a stored event. */
const FORBIDDEN_EVENT_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

/** The forbidden actions a statement allows (through Action wildcards or an Allow + NotAction). */
const forbiddenActionsGranted = (statement: Record<string, Json>): string[] => {
  if (statement.Effect !== 'Allow') return [];
  if (statement.NotAction !== undefined) {
    const excluded = asList(statement.NotAction).map(String);
    return FORBIDDEN_EVENT_ACTIONS.filter(
      (action) => !excluded.some((pattern) => globMatches(pattern, action)),
    );
  }
  const actions = asList(statement.Action).map(String);
  return FORBIDDEN_EVENT_ACTIONS.filter((action) => actions.some((pattern) => globMatches(pattern, action)));
};

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};
const eventsTableArn = (tableName: string): string =>
  `arn:aws:dynamodb:us-east-1:123456789012:table/${tableName}`;

/**
 * Renders an IAM Resource value to a string, as CloudFormation would: the events table's
 * Ref/GetAtt become its (sample) name/ARN, pseudo parameters their sample values, anything else
 * an opaque token that no pattern can match.
 */
const render = (value: Json, eventsId: string): string => {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => render(v, eventsId)).join('');
  if (value && typeof value === 'object') {
    const [fn, arg] = Object.entries(value)[0] ?? [];
    const sampleName = `Trailkeeper-${eventsId}-SAMPLE`;
    if (fn === 'Ref' && typeof arg === 'string')
      return PSEUDO[arg] ?? (arg === eventsId ? sampleName : `#${arg}#`);
    if (fn === 'Fn::GetAtt') {
      const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
      if (id !== eventsId) return `#${id}.${attribute}#`;
      return attribute === 'Arn' ? eventsTableArn(sampleName) : `${eventsTableArn(sampleName)}/stream/SAMPLE`;
    }
    if (fn === 'Fn::Join' && Array.isArray(arg)) {
      const [separator, parts] = arg as [string, Json[]];
      return asList(parts)
        .map((part) => render(part, eventsId))
        .join(separator);
    }
    if (fn === 'Fn::Sub') {
      const text = Array.isArray(arg) ? String(arg[0]) : String(arg);
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [id, attribute] = name.split('.');
        return attribute
          ? render({ 'Fn::GetAtt': [id, attribute] }, eventsId)
          : render({ Ref: name }, eventsId);
      });
    }
    return `#${String(fn)}#`;
  }
  return String(value);
};

/** Does this Resource entry name the events table (directly, by an index/stream suffix, or by a wildcard)? */
const touchesEventsTable = (resource: Json, eventsId: string): boolean => {
  const rendered = render(resource, eventsId);
  const tableArn = eventsTableArn(`Trailkeeper-${eventsId}-SAMPLE`);
  return rendered.startsWith(tableArn) || globMatches(rendered, tableArn);
};

interface Finding {
  readonly policy: string;
  readonly actions: string[];
  readonly resource: string;
}

const findForbiddenGrants = (policies: [string, Json[]][], eventsId: string): Finding[] =>
  policies.flatMap(([policy, statements]) =>
    statements.flatMap((raw) => {
      const statement = raw as Record<string, Json>;
      const actions = forbiddenActionsGranted(statement);
      if (actions.length === 0) return [];
      // NotResource with Allow grants everything except the listed resources.
      const targets = statement.NotResource !== undefined ? ['*'] : asList(statement.Resource);
      return targets
        .filter((resource) => touchesEventsTable(resource, eventsId))
        .map((resource) => ({ policy, actions, resource: render(resource, eventsId) }));
    }),
  );

/** Every policy document in the template: AWS::IAM::Policy, managed policies and inline role policies. */
const allPolicyStatements = (): [string, Json[]][] => {
  const docs: [string, Json][] = [
    ...ofType('AWS::IAM::Policy').map(([id, r]): [string, Json] => [id, r.Properties?.PolicyDocument]),
    ...ofType('AWS::IAM::ManagedPolicy').map(([id, r]): [string, Json] => [id, r.Properties?.PolicyDocument]),
    ...ofType('AWS::IAM::Role').flatMap(([id, r]) =>
      asList(r.Properties?.Policies).map((p): [string, Json] => [
        id,
        (p as { PolicyDocument?: Json }).PolicyDocument,
      ]),
    ),
  ];
  return docs.map(([id, doc]) => [id, asList((doc as { Statement?: Json } | undefined)?.Statement)]);
};

/** Allowed actions per resource of one role's default policy, rendered. */
const statementsOf = (policyId: string): { actions: string[]; resources: string[] }[] => {
  const eventsId = logicalId(stack.events.table);
  const doc = resources[policyId]?.Properties?.PolicyDocument as
    | { Statement: Record<string, Json>[] }
    | undefined;
  if (!doc) throw new Error(`no policy ${policyId}`);
  return doc.Statement.map((s) => ({
    actions: asList(s.Action).map(String),
    resources: asList(s.Resource).map((r) => render(r, eventsId)),
  }));
};

// --- tests --------------------------------------------------------------------------------------

describe('events table', () => {
  it('has the partition key, TTL, stream, PITR, deletion protection and retain policy of tables.ts', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: EVENTS_TABLE.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: EVENTS_TABLE.ttlAttribute, Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [
          Match.objectLike({
            Region: 'us-east-1',
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
    });
  });

  it('has exactly the GSIs of tables.ts, each keyed (partition, sk) and projecting what the definition names', () => {
    const table = resources[logicalId(stack.events.table)];
    const expected = Object.values(EVENTS_TABLE.indexes).map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] },
    }));
    expect(expected.length).toBeGreaterThan(0);
    expect(table?.Properties?.GlobalSecondaryIndexes).toEqual(expected);
  });

  it('declares every key attribute as a string', () => {
    const table = resources[logicalId(stack.events.table)];
    const keyNames = [
      EVENTS_TABLE.partitionKey,
      ...Object.values(EVENTS_TABLE.indexes).flatMap((index) => [index.partitionKey, index.sortKey]),
    ];
    const definitions = table?.Properties?.AttributeDefinitions as {
      AttributeName: string;
      AttributeType: string;
    }[];
    expect(new Set(definitions.map((d) => d.AttributeName))).toEqual(new Set(keyNames));
    expect(definitions.every((d) => d.AttributeType === 'S')).toBe(true);
  });
});

describe('control table', () => {
  it('has pk/sk, PITR, deletion protection and retain policy', () => {
    const table = resources[logicalId(stack.control.table)] as Resource & { DeletionPolicy?: string };
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: CONTROL_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: CONTROL_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      Replicas: [
        {
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        },
      ],
    });
  });
});

describe('functions', () => {
  it('runs every Lambda on nodejs24.x and arm64', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(functionCases().length);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });

  it('gives each function the memory, timeout and environment of its definition', () => {
    for (const { name, definition, fn } of functionCases()) {
      const properties = resources[logicalId(fn)]?.Properties;
      expect(properties, name).toMatchObject({
        MemorySize: definition.memoryMiB,
        Timeout: definition.timeoutSeconds,
        Handler: 'index.handler',
        Environment: {
          Variables: {
            [EVENTS_TABLE.envVar]: { Ref: logicalId(stack.events.table) },
            [CONTROL_TABLE.envVar]: { Ref: logicalId(stack.control.table) },
            POWERTOOLS_SERVICE_NAME: 'trailkeeper',
            NODE_OPTIONS: ['--enable-source-maps', ...(definition.nodeFlags ?? [])].join(' '),
          },
        },
      });
      const variables =
        (properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
      expect('OPERATOR_KEY_SECRET_ARN' in variables, `${name} operator key`).toBe(
        definition.secrets.includes('operatorKey'),
      );
      expect('CURSOR_KEY_SECRET_ARN' in variables, `${name} cursor key`).toBe(
        definition.secrets.includes('cursorKey'),
      );
      expect(variables[EXPORTS_BUCKET.envVar], `${name} exports bucket`).toEqual(
        definition.exportsBucket ? { Ref: logicalId(stack.exports.bucket) } : undefined,
      );
      expect(variables[EXPORT_QUEUE.envVar], `${name} export queue`).toEqual(
        definition.exportQueue ? { Ref: logicalId(stack.exports.queue) } : undefined,
      );
      expect(variables[ENV.emailFrom], `${name} email sender`).toEqual(
        definition.sendsEmail ? stack.exports.emailFrom : undefined,
      );
    }
  });

  it('logs every function to its own log group with a retention', () => {
    for (const { name, fn } of functionCases()) {
      const properties = resources[logicalId(fn)]?.Properties as {
        LoggingConfig?: { LogGroup?: { Ref?: string } };
      };
      const logGroupId = properties.LoggingConfig?.LogGroup?.Ref;
      expect(logGroupId, name).toBeDefined();
      expect(resources[logGroupId ?? '']?.Properties?.RetentionInDays, name).toBeGreaterThan(0);
    }
  });
});

describe('HTTP API', () => {
  const authorizerId = (): string => ofType('AWS::ApiGatewayV2::Authorizer')[0]?.[0] ?? 'missing';

  /** Logical id of the Lambda function behind a route's integration. */
  const functionBehind = (route: Resource): string | undefined => {
    const target = route.Properties?.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integration = resources[target['Fn::Join'][1][1].Ref];
    const uri = integration?.Properties?.IntegrationUri as { 'Fn::GetAtt'?: [string, string] } | undefined;
    return uri?.['Fn::GetAtt']?.[0];
  };

  it('has exactly the routes of routes.ts, each with its function and authorizer', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    expect(routes).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const routeKey = `${route.method} ${route.path}`;
      const found = routes.find(([, r]) => r.Properties?.RouteKey === routeKey)?.[1];
      expect(found, routeKey).toBeDefined();
      if (!found) continue;
      if (route.authorized) {
        expect(found.Properties, routeKey).toMatchObject({
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: authorizerId() },
        });
      } else {
        expect(found.Properties?.AuthorizationType, routeKey).toBe('NONE');
        expect(found.Properties?.AuthorizerId, routeKey).toBeUndefined();
      }
      expect(functionBehind(found), routeKey).toBe(logicalId(stack.api.functions[route.fn].fn));
    }
  });

  it('runs a simple-response Lambda authorizer on the Authorization header with the configured cache TTL', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: AUTHORIZER.cacheTtlSeconds,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([
          Match.arrayWith([{ 'Fn::GetAtt': [logicalId(stack.api.authorizerFunction.fn), 'Arn'] }]),
        ]),
      }),
    });
  });

  it('throttles and access-logs the $default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('outputs the API URL and the operator key secret ARN', () => {
    template.hasOutput('ApiUrl', {});
    template.hasOutput('OperatorKeySecretArn', {
      Value: { Ref: logicalId(stack.secrets.secrets.operatorKey) },
    });
  });
});

describe('IAM on the events table', () => {
  it('the checker flags forbidden writes however they are spelled (so the real check can fail)', () => {
    const eventsId = 'EventsTableABC';
    const table = { 'Fn::GetAtt': [eventsId, 'Arn'] };
    const indexes = { 'Fn::Join': ['', [table, '/index/*']] };
    const regionWildcard = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':dynamodb:', { Ref: 'AWS::Region' }, ':*:table/*'],
      ],
    };
    const allow = (Action: Json, Resource: Json) => ({ Effect: 'Allow', Action, Resource });
    const findings = findForbiddenGrants(
      [
        ['Update', [allow('dynamodb:UpdateItem', table)]],
        ['Wildcard', [allow(['dynamodb:*'], indexes)]],
        ['Star', [allow('*', '*')]],
        ['Pattern', [allow('dynamodb:Batch*', regionWildcard)]],
        ['Sub', [allow('dynamodb:PartiQLDelete', { 'Fn::Sub': `\${${eventsId}.Arn}` })]],
        ['NotAction', [{ Effect: 'Allow', NotAction: 'dynamodb:Scan', Resource: table }]],
        ['Fine', [allow(['dynamodb:PutItem', 'dynamodb:GetItem'], table)]],
        ['OtherTable', [allow('dynamodb:*', { 'Fn::GetAtt': ['ControlTable', 'Arn'] })]],
        ['Denied', [{ Effect: 'Deny', Action: 'dynamodb:*', Resource: table }]],
      ],
      eventsId,
    );
    expect(findings.map((f) => f.policy)).toEqual([
      'Update',
      'Wildcard',
      'Star',
      'Pattern',
      'Sub',
      'NotAction',
    ]);
  });

  it('no policy grants UpdateItem, DeleteItem, BatchWriteItem, PartiQL writes or a wildcard on the events table', () => {
    const policies = allPolicyStatements();
    expect(policies.length).toBeGreaterThanOrEqual(Object.keys(FUNCTIONS).length + 2);
    expect(findForbiddenGrants(policies, logicalId(stack.events.table))).toEqual([]);
  });

  it('no role attaches a managed policy that could reach DynamoDB', () => {
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      const attached = asList(role.Properties?.ManagedPolicyArns).map((arn) => JSON.stringify(arn));
      expect(
        attached.filter((arn) => /dynamodb|poweruser|administrator|fullaccess/i.test(arn)),
        id,
      ).toEqual([]);
    }
  });

  it('grants each function exactly the events actions its access level allows', () => {
    const eventsArn = eventsTableArn(`Trailkeeper-${logicalId(stack.events.table)}-SAMPLE`);
    const expected: Record<string, string[]> = {
      none: [],
      append: [
        'dynamodb:ConditionCheckItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
      ],
      read: ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'],
      'read-append': [
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
    };
    // The stream monitor reads the stream, not the table: its own test below.
    for (const { name, definition, role } of functionCases().filter((c) => c.name !== 'streamMonitor')) {
      const onTable = statementsOf(defaultPolicyId(role))
        .filter((s) => s.resources.includes(eventsArn))
        .flatMap((s) => s.actions);
      expect([...new Set(onTable)].sort(), name).toEqual(expected[definition.events]);
      const onIndexes = statementsOf(defaultPolicyId(role))
        .filter((s) => s.resources.some((r) => r.startsWith(`${eventsArn}/index/`)))
        .flatMap((s) => s.actions);
      expect(onIndexes, `${name} index actions`).toEqual(
        definition.events.startsWith('read') ? ['dynamodb:Query'] : [],
      );
    }
  });

  it('lets the stream monitor read only the events stream', () => {
    const statements = statementsOf(defaultPolicyId(stack.streamMonitor.monitorFunction.role));
    const dynamo = statements.filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    for (const statement of dynamo) {
      expect(
        statement.resources.every((r) => r.endsWith('/stream/SAMPLE')),
        JSON.stringify(statement),
      ).toBe(true);
    }
  });
});

describe('secrets', () => {
  it('generates an alphanumeric 48-character operator key and 64-character cursor key', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        PasswordLength: 48,
        ExcludePunctuation: true,
        IncludeSpace: false,
      }),
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        PasswordLength: 64,
        ExcludePunctuation: true,
        IncludeSpace: false,
      }),
    });
  });
});

describe('stream monitor', () => {
  it('reads the events stream from the trim horizon with bisecting, partial failures and a DLQ', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.events.table), 'StreamArn'] },
      FunctionName: { Ref: logicalId(stack.streamMonitor.monitorFunction.fn) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } },
    });
  });

  it('encrypts the dead-letter queue and refuses plain HTTP to it', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('monitoring', () => {
  it('alarms on API 5xx, errors and throttles of every function, table throttles, tampering, dead letters and queue age', () => {
    const functionCount = functionCases().length;
    const deadLetterQueues = 2; // stream monitor, export jobs
    const workQueues = 1; // export jobs
    template.resourceCountIs(
      'AWS::CloudWatch::Alarm',
      1 + 2 * functionCount + 1 + 1 + deadLetterQueues + workQueues,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5xx',
      Namespace: 'AWS/ApiGateway',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
    });
    for (const { name, fn } of functionCases()) {
      for (const metric of ['Errors', 'Throttles']) {
        const alarms = template.findResources('AWS::CloudWatch::Alarm', {
          Properties: {
            MetricName: metric,
            Namespace: 'AWS/Lambda',
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
          },
        });
        expect(Object.keys(alarms), `${name} ${metric}`).toHaveLength(1);
      }
    }
  });

  it('alarms on DynamoDB throttled requests of the events table', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: {
        Metrics: Match.arrayWith([
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                MetricName: 'ThrottledRequests',
                Namespace: 'AWS/DynamoDB',
                Dimensions: Match.arrayWith([
                  { Name: 'TableName', Value: { Ref: logicalId(stack.events.table) } },
                ]),
              }),
            }),
          }),
        ]),
      },
    });
    expect(Object.keys(alarms)).toHaveLength(1);
  });

  it('alarms at one Trailkeeper/EventTampering, treating missing data as fine, into the SNS topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Trailkeeper',
      MetricName: 'EventTampering',
      Dimensions: [{ Name: 'service', Value: 'trailkeeper' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
    });
  });

  it('sends every alarm to the encrypted, TLS-only topic', () => {
    const topicRef = { Ref: logicalId(stack.monitoring.topic) };
    for (const [id, alarm] of ofType('AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties?.AlarmActions, id).toEqual([topicRef]);
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes the alarmEmail address only when one is given', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    // Bundling is skipped for this second app: only the subscription is under test.
    const withEmail = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const emailStack = new TrailkeeperStack(withEmail, 'WithEmail', {
      env: { region: 'us-east-1' },
      alarmEmail: 'ops@example.com',
    });
    Template.fromStack(emailStack).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('acknowledges only the expected findings, each on the construct it concerns and with a reason', () => {
    const acknowledged = app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
            path: construct.node.path,
            id: id.replace(/^annotation::/i, ''),
            reason,
          })),
        ),
    );
    const exportObjects = `AwsSolutions-IAM5[Resource::<${logicalId(stack.exports.bucket)}.Arn>/*]`;
    expect(acknowledged.map(({ path, id }) => `${path} ${id}`).sort()).toEqual(
      [
        'Trailkeeper/AccessLogs/Bucket AwsSolutions-S1',
        `Trailkeeper/Api/Exports/Role ${exportObjects}`,
        `Trailkeeper/Exports/Worker/Role ${exportObjects}`,
        'Trailkeeper/Api/HttpApi/GET--health AwsSolutions-APIG4',
        'Trailkeeper/Secrets/CursorKey AwsSolutions-SMG4',
        'Trailkeeper/Secrets/OperatorKey AwsSolutions-SMG4',
        'Trailkeeper/StreamMonitor/DeadLetterQueue AwsSolutions-SQS3',
      ].sort(),
    );
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });
});
