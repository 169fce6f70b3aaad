/**
 * Assertions on the synthesized TrailkeeperStack template: the events table as tables.ts declares
 * it, every Lambda on nodejs24.x/arm64 with the environment of its definition, every route of
 * the manifest's route table with its authorizer, the append-only IAM guarantee on the events table (over every
 * role, the export worker's, the sealer's and the integrity scan's included; the retention
 * worker's one attribute-restricted UpdateItem is the single exception, checked to the letter),
 * alarms, and a clean cdk-nag run. The export resources are covered by exports.test.ts, the
 * archive, archiver and schedules by archive.test.ts, the signing key, digests and integrity jobs
 * by integrity.test.ts. The stack is synthesized (and its handlers bundled) once for the whole file.
 */

import { isDeepStrictEqual } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ARCHIVE_GRANTS } from '#infra/constructs/archive-access.ts';
import { TABLE_OPERATIONS } from '#infra/constructs/monitoring.ts';
import {
  ACTION_LISTING_CONDITIONS,
  ACTION_REGISTRY_CONDITIONS,
  KIND_READING_CONDITIONS,
  KIND_REGISTRY_CONDITIONS,
  RATE_COUNTER_CONDITIONS,
  SESSION_CODE_CONDITIONS,
} from '#infra/constructs/table-access.ts';
import { normalizePublicUrl, TrailkeeperStack, type TrailkeeperStackProps } from '#infra/stack.ts';
import { DynamoActionRegistry } from '#shared/adapters/action-registry.ts';
import { DynamoKindRegistry } from '#shared/adapters/kind-registry.ts';
import { DynamoRateCounterStore } from '#shared/adapters/rate-counter-store.ts';
import { ENV } from '#shared/config/env.ts';
import { functionsOfKind, MANIFEST } from '#shared/config/manifest.ts';
import { ROUTES } from '#shared/config/routes.ts';
import { ARCHIVE, EXPORT_QUEUE, EXPORTS_BUCKET } from '#shared/config/storage.ts';
import { CONTROL_TABLE, EVENTS_TABLE, type IndexDefinition } from '#shared/config/tables.ts';
import {
  asList,
  functionCases as casesOf,
  defaultPolicyId,
  type FunctionCase,
  globMatches,
  type Json,
  logicalId,
  type Resource,
  TEST_CONSOLE,
  TEST_SENDER,
} from './stack-helpers.ts';

let app: App;
let stack: TrailkeeperStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  app = new App();
  stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    emailFrom: TEST_SENDER,
    console: TEST_CONSOLE,
  });
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

/**
 * The one update on events any role may hold: the retention worker's UpdateItem, restricted to the
 * partition key and the TTL attribute and to return values that read nothing else back.
 */
const RETIME_CONDITION = {
  'ForAllValues:StringEquals': {
    'dynamodb:Attributes': [EVENTS_TABLE.partitionKey, EVENTS_TABLE.ttlAttribute],
  },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
};

/** Exactly `Allow dynamodb:UpdateItem` on the events table ARN alone, with exactly RETIME_CONDITION. */
const isRestrictedRetime = (statement: Record<string, Json>, eventsId: string): boolean =>
  statement.Effect === 'Allow' &&
  statement.NotAction === undefined &&
  statement.NotResource === undefined &&
  isDeepStrictEqual(asList(statement.Action), ['dynamodb:UpdateItem']) &&
  isDeepStrictEqual(
    asList(statement.Resource).map((r) => render(r, eventsId)),
    [eventsTableArn(`Trailkeeper-${eventsId}-SAMPLE`)],
  ) &&
  isDeepStrictEqual(statement.Condition, RETIME_CONDITION);

/**
 * Forbidden writes on the events table in any of `policies`. A statement of a policy in
 * `retimePolicies` is let through only when it is exactly the restricted retime statement.
 */
const findForbiddenGrants = (
  policies: [string, Json[]][],
  eventsId: string,
  retimePolicies: ReadonlySet<string> = new Set(),
): Finding[] =>
  policies.flatMap(([policy, statements]) =>
    statements.flatMap((raw) => {
      const statement = raw as Record<string, Json>;
      if (retimePolicies.has(policy) && isRestrictedRetime(statement, eventsId)) return [];
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

  it('expires short-lived records (rate counters) by TTL', () => {
    expect(resources[logicalId(stack.control.table)]?.Properties?.TimeToLiveSpecification).toEqual({
      AttributeName: CONTROL_TABLE.ttlAttribute,
      Enabled: true,
    });
  });

  it("lets the authorizer count requests: UpdateItem on RATE# items only, naming only the counter's attributes", () => {
    const statements = asList(
      (
        resources[defaultPolicyId(stack.api.authorizerFunction.role)]?.Properties?.PolicyDocument as
          | { Statement?: Json }
          | undefined
      )?.Statement,
    ) as Record<string, Json>[];
    expect(statements.filter((st) => isDeepStrictEqual(st.Condition, RATE_COUNTER_CONDITIONS))).toEqual([
      {
        Action: 'dynamodb:UpdateItem',
        Condition: RATE_COUNTER_CONDITIONS,
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack.control.table), 'Arn'] },
      },
    ]);
  });

  it("the rate counter store's request is one the conditions admit", async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    try {
      ddb.on(UpdateCommand).resolves({ Attributes: { count: 3 } });
      const store = new DynamoRateCounterStore(
        DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
        'control',
      );
      await store.add('tnt_1', 1234, 3);
      const [call] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
      const leading = RATE_COUNTER_CONDITIONS['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
      expect(
        leading.some((pattern) => globMatches(pattern, String(call?.Key?.[CONTROL_TABLE.partitionKey]))),
      ).toBe(true);
      const allowed: readonly string[] =
        RATE_COUNTER_CONDITIONS['ForAllValues:StringEquals']['dynamodb:Attributes'];
      const named = [...Object.keys(call?.Key ?? {}), ...Object.values(call?.ExpressionAttributeNames ?? {})];
      expect(named.filter((attribute) => !allowed.includes(attribute))).toEqual([]);
      expect(RATE_COUNTER_CONDITIONS.StringEqualsIfExists['dynamodb:ReturnValues']).toContain(
        call?.ReturnValues,
      );
    } finally {
      ddb.restore();
    }
  });

  it("the action registry's write is one its conditions admit, and only ingest and query hold it", async () => {
    expect(
      functionCases()
        .filter((c) => c.definition.actionRegistry === 'register')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['ingest', 'query']);
    const ddb = mockClient(DynamoDBDocumentClient);
    try {
      ddb.on(PutCommand).resolves({});
      const registry = new DynamoActionRegistry(
        DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
        'control',
      );
      await registry.register(
        { tenantId: 'tnt_1', teamId: 'team_a', action: 'member.invited' },
        '2026-12-07T00:00:00Z',
      );
      const [call] = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
      const leading = ACTION_REGISTRY_CONDITIONS['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
      expect(
        leading.some((pattern) => globMatches(pattern, String(call?.Item?.[CONTROL_TABLE.partitionKey]))),
      ).toBe(true);
      const allowed: readonly string[] =
        ACTION_REGISTRY_CONDITIONS['ForAllValues:StringEquals']['dynamodb:Attributes'];
      const named = [
        ...Object.keys(call?.Item ?? {}),
        ...Object.values(call?.ExpressionAttributeNames ?? {}),
      ];
      expect(named.filter((attribute) => !allowed.includes(attribute))).toEqual([]);
      expect(call?.ReturnValues ?? 'NONE').toBe('NONE');
      ddb.on(QueryCommand).resolves({ Items: [] });
      await registry.list('tnt_1', 'team_a', 'member.', 10);
      const [query] = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
      const listing = ACTION_LISTING_CONDITIONS['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
      expect(
        listing.some((pattern) => globMatches(pattern, String(query?.ExpressionAttributeValues?.[':pk']))),
      ).toBe(true);
      expect(query?.IndexName).toBeUndefined();
    } finally {
      ddb.restore();
    }
  });

  it('grants kind registration to every function that appends events, and reading to the query planners', () => {
    const appends = (events: string) => events === 'append' || events === 'read-append';
    for (const { name, definition } of functionCases()) {
      const registers = definition.kindRegistry === 'register' || definition.kindRegistry === 'register-read';
      // An appender without the grant would fail every append (registration comes first).
      expect(registers, `${name} registers kinds`).toBe(appends(definition.events));
    }
    expect(
      functionCases()
        .filter((c) => c.definition.kindRegistry === 'read' || c.definition.kindRegistry === 'register-read')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['exportWorker', 'exports', 'query']);
  });

  it("the kind registry's writes and reads are ones its conditions admit", async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    try {
      ddb.on(UpdateCommand).resolves({});
      ddb.on(QueryCommand).resolves({ Items: [] });
      const registry = new DynamoKindRegistry(
        DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
        'control',
      );
      await registry.register(
        'tnt_1',
        {
          kinds: [
            {
              id: 'k1',
              kind: {
                action: 'member.invited',
                area: 'members',
                method: 'create',
                target_type: 'member',
                status: 'success',
                actor_type: 'user',
              },
              count: 2,
            },
          ],
          emails: [{ email: 'ada@example.com', actorId: 'user 1' }],
        },
        '2026-12-07T00:00:00Z',
      );
      const calls = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
      expect(calls).toHaveLength(2);
      const leading = KIND_REGISTRY_CONDITIONS['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
      const allowed: readonly string[] =
        KIND_REGISTRY_CONDITIONS['ForAllValues:StringEquals']['dynamodb:Attributes'];
      for (const call of calls) {
        expect(
          leading.some((pattern) => globMatches(pattern, String(call.Key?.[CONTROL_TABLE.partitionKey]))),
        ).toBe(true);
        const named = [...Object.keys(call.Key ?? {}), ...Object.values(call.ExpressionAttributeNames ?? {})];
        expect(named.filter((attribute) => !allowed.includes(attribute))).toEqual([]);
        expect(KIND_REGISTRY_CONDITIONS.StringEqualsIfExists['dynamodb:ReturnValues']).toContain(
          call.ReturnValues ?? 'NONE',
        );
      }
      // A bad request is one the check refuses: a key outside KINDS#, an attribute not listed.
      expect(leading.some((pattern) => globMatches(pattern, 'TENANT#tnt_1'))).toBe(false);
      expect(allowed).not.toContain('entity');
      await registry.kinds('tnt_1');
      await registry.actorsWithEmail('tnt_1', 'ada@example.com', 10);
      const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
      expect(queries).toHaveLength(2);
      const reading = KIND_READING_CONDITIONS['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
      for (const query of queries) {
        expect(
          reading.some((pattern) => globMatches(pattern, String(query.ExpressionAttributeValues?.[':pk']))),
        ).toBe(true);
        expect(query.IndexName).toBeUndefined();
      }
    } finally {
      ddb.restore();
    }
  });

  it('has the indexes of tables.ts, projecting keys only where the definition names no attribute', () => {
    const table = resources[logicalId(stack.control.table)];
    const indexes: IndexDefinition[] = Object.values(CONTROL_TABLE.indexes);
    expect(indexes.map((index) => index.name)).toContain('activeJobs');
    expect(table?.Properties?.GlobalSecondaryIndexes).toEqual(
      indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection:
          index.projection.length === 0
            ? { ProjectionType: 'KEYS_ONLY' }
            : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] },
      })),
    );
  });

  it('grants item actions on the table and Query on each named index, never Scan, stream reads or index/*', () => {
    const controlId = logicalId(stack.control.table);
    const tableArn = { 'Fn::GetAtt': [controlId, 'Arn'] };
    const indexArns = Object.values(CONTROL_TABLE.indexes).map((index) => ({
      'Fn::Join': ['', [tableArn, `/index/${index.name}`]],
    }));
    const read = ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'];
    const expected: Record<string, { table: string[]; indexes: Json[] }> = {
      none: { table: [], indexes: [] },
      read: { table: read, indexes: indexArns },
      'read-write': {
        table: [
          ...read,
          'dynamodb:BatchWriteItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:DeleteItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ].sort(),
        indexes: indexArns,
      },
    };
    for (const { name, definition, role } of functionCases()) {
      const statements = asList(
        (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json })?.Statement,
      ) as Record<string, Json>[];
      const onControl = statements.filter((s) => JSON.stringify(s.Resource).includes(`"${controlId}"`));
      // The authorizer's rate counters are their own, conditioned statement (tested below).
      const rateCounters = onControl.filter((s) => isDeepStrictEqual(s.Condition, RATE_COUNTER_CONDITIONS));
      expect(rateCounters.length, `${name} rate counters`).toBe(name === 'authorizer' ? 1 : 0);
      // So is the code exchange's DeleteItem on session codes (test/infra/sessions.test.ts).
      const sessionCodes = onControl.filter((s) => isDeepStrictEqual(s.Condition, SESSION_CODE_CONDITIONS));
      expect(sessionCodes.length, `${name} session codes`).toBe(name === 'sessions' ? 1 : 0);
      rateCounters.push(...sessionCodes);
      // And the action registry's create-only PutItem on ACTIONS# items (ingest and query).
      const registry = onControl.filter((s) => isDeepStrictEqual(s.Condition, ACTION_REGISTRY_CONDITIONS));
      expect(registry.length, `${name} action registry`).toBe(
        definition.actionRegistry === 'register' ? 1 : 0,
      );
      expect(registry.flatMap((s) => asList(s.Action))).toEqual(registry.map(() => 'dynamodb:PutItem'));
      rateCounters.push(...registry);
      // The suggestions route reads the registry only: Query on ACTIONS# partitions.
      const listing = onControl.filter((s) => isDeepStrictEqual(s.Condition, ACTION_LISTING_CONDITIONS));
      expect(listing.length, `${name} action listing`).toBe(name === 'actions' ? 1 : 0);
      expect(listing.flatMap((s) => asList(s.Action))).toEqual(listing.map(() => 'dynamodb:Query'));
      rateCounters.push(...listing);
      // The kind registry's UpdateItem and Query on KINDS# items (appenders; query planners).
      const kindWrites = onControl.filter((s) => isDeepStrictEqual(s.Condition, KIND_REGISTRY_CONDITIONS));
      expect(kindWrites.length, `${name} kind registration`).toBe(
        definition.kindRegistry === 'register' || definition.kindRegistry === 'register-read' ? 1 : 0,
      );
      expect(kindWrites.flatMap((s) => asList(s.Action))).toEqual(
        kindWrites.map(() => 'dynamodb:UpdateItem'),
      );
      const kindReads = onControl.filter((s) => isDeepStrictEqual(s.Condition, KIND_READING_CONDITIONS));
      expect(kindReads.length, `${name} kind reading`).toBe(
        definition.kindRegistry === 'read' || definition.kindRegistry === 'register-read' ? 1 : 0,
      );
      expect(kindReads.flatMap((s) => asList(s.Action))).toEqual(kindReads.map(() => 'dynamodb:Query'));
      for (const statement of [...kindWrites, ...kindReads]) {
        expect(asList(statement.Resource), `${name} kind registry resource`).toEqual([tableArn]);
      }
      rateCounters.push(...kindWrites, ...kindReads);
      const onTable = onControl.filter(
        (s) => isDeepStrictEqual(asList(s.Resource), [tableArn]) && !rateCounters.includes(s),
      );
      const onIndexes = onControl.filter((s) => !onTable.includes(s) && !rateCounters.includes(s));
      expect(onTable.flatMap((s) => asList(s.Action)).sort(), name).toEqual(
        expected[definition.control]?.table,
      );
      expect(
        onIndexes.flatMap((s) => asList(s.Resource)),
        `${name} indexes`,
      ).toEqual(expected[definition.control]?.indexes);
      expect([...new Set(onIndexes.flatMap((s) => asList(s.Action)))], `${name} index actions`).toEqual(
        definition.control === 'none' ? [] : ['dynamodb:Query'],
      );
    }
  });
});

describe('functions', () => {
  it('runs every Lambda on nodejs24.x and arm64, but CDK’s deploy-time console upload', () => {
    const ours = new Set(functionCases().map(({ fn }) => logicalId(fn)));
    const functions = ofType('AWS::Lambda::Function');
    for (const [id, fn] of functions.filter(([id]) => ours.has(id))) {
      expect(fn.Properties, id).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
    // The one other Lambda: BucketDeployment's handler (Python, bundling the AWS CLI), with the
    // console construct's own role (console.test.ts checks what that role may do).
    const others = functions.filter(([id]) => !ours.has(id));
    expect(others.map(([id]) => id)).toEqual([expect.stringMatching(/^CustomCDKBucketDeployment/)]);
    expect(others[0]?.[1].Properties).toMatchObject({
      Architectures: ['arm64'],
      Role: { 'Fn::GetAtt': [logicalId(stack.console.node.findChild('DeploymentRole')), 'Arn'] },
    });
    expect(ours.size).toBe(functionCases().length);
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
      expect(variables[ENV.archiveBucket], `${name} archive bucket`).toEqual(
        definition.archive ? { Ref: logicalId(stack.archive.bucket) } : undefined,
      );
      // Only the buckets its grant reaches: the sealer's digests live in the archive bucket alone.
      const staging = definition.archive ? ARCHIVE_GRANTS[definition.archive].staging : undefined;
      expect(variables[ENV.archiveStagingBucket], `${name} staging bucket`).toEqual(
        staging && staging.objects.length + staging.bucket.length > 0
          ? { Ref: logicalId(stack.archive.stagingBucket) }
          : undefined,
      );
      expect(variables[ENV.signingKeyId], `${name} signing key`).toEqual(
        definition.signing ? { 'Fn::GetAtt': [logicalId(stack.signingKey.key), 'Arn'] } : undefined,
      );
      expect(variables[ENV.signingKeyFile], `${name} local key file`).toBeUndefined();
      expect(variables[ENV.archiveCloseAfterHours], `${name} close after`).toEqual(
        definition.archive === 'compact' ? String(ARCHIVE.closeAfterHours) : undefined,
      );
      // Nothing reserves concurrency by default: a new account's low quota could not give it
      // (the opt-in for scheduled jobs is tested in archive.test.ts).
      expect(properties?.ReservedConcurrentExecutions, `${name} reserved concurrency`).toBeUndefined();
      // API Gateway caches no authorizer result: the authorizer keeps credentials briefly itself.
      expect(variables[ENV.authCacheSeconds], `${name} auth cache`).toBe(
        name === 'authorizer' ? String(MANIFEST.authorizer.inMemoryCacheSeconds) : undefined,
      );
      // Every link is built from one base URL: the API's endpoint unless the deployment says.
      expect(variables[ENV.publicUrl], `${name} public URL`).toEqual({
        'Fn::Join': [
          '',
          ['https://', { 'Fn::GetAtt': [logicalId(stack.console.distribution), 'DomainName'] }],
        ],
      });
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

  it('has exactly the routes of the manifest, each with its function and authorizer', () => {
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

  it('runs a simple-response Lambda authorizer on every request: no identity source, no API Gateway cache', () => {
    // With an identity source API Gateway answers a request without it by itself (a bare 401,
    // not problem+json); without one it must not cache (TTL 0), and the authorizer caches itself.
    expect(MANIFEST.authorizer.cacheTtlSeconds).toBe(0);
    expect(MANIFEST.authorizer.inMemoryCacheSeconds).toBeGreaterThan(0);
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: [],
      AuthorizerResultTtlInSeconds: 0,
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

  it('the checker lets through only the exact restricted UpdateItem, and only in the retention worker policy', () => {
    const eventsId = 'EventsTableABC';
    const table = { 'Fn::GetAtt': [eventsId, 'Arn'] };
    const update = (Condition: Json, Action: Json = 'dynamodb:UpdateItem', Resource: Json = table) => ({
      Effect: 'Allow',
      Action,
      Resource,
      ...(Condition === undefined ? {} : { Condition }),
    });
    const wider = {
      ...RETIME_CONDITION,
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'expires_at', 'doc'] },
    };
    const noReturnValues = { 'ForAllValues:StringEquals': RETIME_CONDITION['ForAllValues:StringEquals'] };
    const retimePolicies = new Set(['Restricted', 'Bare', 'Wider', 'NoReturnValues', 'Mixed', 'Index']);
    const findings = findForbiddenGrants(
      [
        ['Restricted', [update(RETIME_CONDITION)]],
        ['Bare', [update(undefined)]],
        ['Wider', [update(wider)]],
        ['NoReturnValues', [update(noReturnValues)]],
        ['Mixed', [update(RETIME_CONDITION, ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'])]],
        [
          'Index',
          [update(RETIME_CONDITION, 'dynamodb:UpdateItem', [table, { 'Fn::Join': ['', [table, '/*']] }])],
        ],
        ['Elsewhere', [update(RETIME_CONDITION)]],
      ],
      eventsId,
      retimePolicies,
    );
    expect(findings.map((f) => f.policy)).toEqual([
      'Bare',
      'Wider',
      'NoReturnValues',
      'Mixed',
      'Index',
      'Index',
      'Elsewhere',
    ]);
  });

  it('no policy grants UpdateItem, DeleteItem, BatchWriteItem, PartiQL writes or a wildcard on the events table, but the retention worker its restricted UpdateItem', () => {
    const policies = allPolicyStatements();
    expect(policies.length).toBeGreaterThanOrEqual(functionsOfKind('http').length + 2);
    const retimePolicy = defaultPolicyId(stack.jobs.retentionWorker.role);
    expect(findForbiddenGrants(policies, logicalId(stack.events.table), new Set([retimePolicy]))).toEqual([]);
  });

  it('lets the retention worker update events only through the one statement restricted to the key and the TTL attribute', () => {
    const eventsId = logicalId(stack.events.table);
    const statements = asList(
      (
        resources[defaultPolicyId(stack.jobs.retentionWorker.role)]?.Properties?.PolicyDocument as {
          Statement?: Json;
        }
      )?.Statement,
    ) as Record<string, Json>[];
    const updates = statements.filter(
      (s) =>
        forbiddenActionsGranted(s).length > 0 &&
        asList(s.Resource).some((resource) => touchesEventsTable(resource, eventsId)),
    );
    expect(updates).toHaveLength(1);
    expect(updates[0]?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'expires_at'] },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
    });
    expect(updates.every((s) => isRestrictedRetime(s, eventsId))).toBe(true);
    // Without the exemption the same statement is a finding: the walker does see it.
    expect(findForbiddenGrants(allPolicyStatements(), eventsId).map((f) => [f.policy, f.actions])).toEqual([
      [defaultPolicyId(stack.jobs.retentionWorker.role), ['dynamodb:UpdateItem']],
    ]);
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
      retime: ['dynamodb:UpdateItem'],
    };
    const allIndexes = Object.values(EVENTS_TABLE.indexes).map((index) => `${eventsArn}/index/${index.name}`);
    const expectedIndexes: Record<string, string[]> = {
      none: [],
      append: [],
      read: allIndexes,
      'read-append': allIndexes,
      retime: [`${eventsArn}/index/${EVENTS_TABLE.indexes.byTenantTime.name}`],
    };
    // The archiver reads the stream, not the table: its own test below.
    const cases = functionCases().filter((c) => c.name !== 'archiver');
    expect(cases.map((c) => c.definition.events)).toContain('retime');
    for (const { name, definition, role } of cases) {
      const onTable = statementsOf(defaultPolicyId(role))
        .filter((s) => s.resources.includes(eventsArn))
        .flatMap((s) => s.actions);
      expect([...new Set(onTable)].sort(), name).toEqual(expected[definition.events]);
      const indexStatements = statementsOf(defaultPolicyId(role)).filter((s) =>
        s.resources.some((r) => r.startsWith(`${eventsArn}/index/`)),
      );
      expect(
        indexStatements.flatMap((s) => s.actions),
        `${name} index actions`,
      ).toEqual(expectedIndexes[definition.events]?.length ? ['dynamodb:Query'] : []);
      expect(
        indexStatements.flatMap((s) => s.resources),
        `${name} indexes`,
      ).toEqual(expectedIndexes[definition.events]);
    }
  });

  it('lets the archiver read only the events stream', () => {
    const statements = statementsOf(defaultPolicyId(stack.functions.archiver.role));
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

describe('public URL', () => {
  const unbundled = (props: Partial<TrailkeeperStackProps> = {}) => {
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const built = new TrailkeeperStack(other, 'Trailkeeper', {
      env: { region: 'us-east-1' },
      emailFrom: TEST_SENDER,
      console: TEST_CONSOLE,
      ...props,
    });
    const json = Template.fromStack(built).toJSON() as {
      Resources: Record<string, Resource>;
      Outputs: Record<string, Json>;
    };
    return { built, json };
  };
  /** TRAILKEEPER_PUBLIC_URL of every Node.js Lambda (the service's; not CDK's Python upload handler). */
  const publicUrlsOf = (json: { Resources: Record<string, Resource> }): Json[] =>
    Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Runtime).startsWith('nodejs'))
      .map(
        (r) =>
          (r.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables?.[
            ENV.publicUrl
          ],
      );

  /** Logical ids each resource refers to (Ref, GetAtt, Sub, DependsOn). */
  const references = (value: Json, into: Set<string>): Set<string> => {
    if (Array.isArray(value)) for (const v of value) references(v, into);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'Ref' && typeof v === 'string') into.add(v);
        else if (key === 'Fn::GetAtt') into.add(String(Array.isArray(v) ? v[0] : String(v).split('.')[0]));
        else if (key === 'Fn::Sub')
          for (const [, name] of String(Array.isArray(v) ? v[0] : v).matchAll(/\$\{([^}.!]+)/g))
            into.add(String(name));
        else references(v, into);
      }
    }
    return into;
  };
  const cycle = (all: Record<string, Resource & { DependsOn?: Json }>): string[] | null => {
    const edges = new Map(
      Object.entries(all).map(([id, r]) => [
        id,
        [
          ...references(
            [r.Properties, r.DependsOn === undefined ? [] : asList(r.DependsOn).map((d) => ({ Ref: d }))],
            new Set(),
          ),
        ].filter((ref) => ref in all),
      ]),
    );
    const state = new Map<string, 'open' | 'done'>();
    const visit = (id: string, path: string[]): string[] | null => {
      if (state.get(id) === 'done') return null;
      if (state.get(id) === 'open') return [...path, id];
      state.set(id, 'open');
      for (const next of edges.get(id) ?? []) {
        const found = visit(next, [...path, id]);
        if (found) return found;
      }
      state.set(id, 'done');
      return null;
    };
    for (const id of edges.keys()) {
      const found = visit(id, []);
      if (found) return found;
    }
    return null;
  };

  it('defaults to the CloudFront distribution on every function, with no dependency cycle in the template', () => {
    // The distribution names the HttpApi (its id); the functions name the distribution. No cycle,
    // because the HttpApi resource depends on no function (its routes and integrations do).
    const distributionUrl = {
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack.console.distribution), 'DomainName'] }]],
    };
    const urls = publicUrlsOf(template.toJSON() as { Resources: Record<string, Resource> });
    expect(urls).toHaveLength(functionCases().length);
    expect(new Set(urls.map((u) => JSON.stringify(u)))).toEqual(new Set([JSON.stringify(distributionUrl)]));
    expect(cycle(resources)).toBeNull();
    template.hasOutput('ApiUrl', { Value: distributionUrl });
  });

  it('the cycle finder finds a cycle (so the real check can fail)', () => {
    expect(
      cycle({
        A: { Type: 'T', Properties: { X: { 'Fn::GetAtt': ['B', 'Arn'] } } },
        B: { Type: 'T', Properties: { Y: { 'Fn::Sub': [`\${C.Arn}`, {}] } } },
        C: { Type: 'T', DependsOn: ['A'] },
      }),
    ).toEqual(['A', 'B', 'C', 'A']);
  });

  it('takes -c publicUrl as given, without a trailing slash, and refuses anything but an https URL', () => {
    const { json } = unbundled({ publicUrl: 'https://audit.example.com/' });
    expect(new Set(publicUrlsOf(json))).toEqual(new Set(['https://audit.example.com']));
    expect(normalizePublicUrl('https://proxy.example.com/audit/')).toBe('https://proxy.example.com/audit');
    for (const bad of [
      'http://audit.example.com',
      'audit.example.com',
      'https://a.example.com/?x=1',
      'https://u:p@a.example.com',
    ]) {
      expect(() => normalizePublicUrl(bad), bad).toThrow(/publicUrl must be/);
    }
  });

  it('serves a custom domain (-c domainName, -c certificateArn) behind the distribution', () => {
    const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
    const { built, json } = unbundled({ domainName: 'Audit.Example.org', certificateArn });
    const withDomain = Template.fromJSON(json);
    withDomain.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'audit.example.org',
      DomainNameConfigurations: [
        Match.objectLike({ CertificateArn: certificateArn, EndpointType: 'REGIONAL' }),
      ],
    });
    withDomain.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiId: { Ref: logicalId(built.api.httpApi) },
      DomainName: { Ref: logicalId(built.api.domainName as IConstruct) },
      Stage: '$default',
    });
    // Links go to the distribution, which serves the console too; the domain is CloudFront's origin.
    expect(new Set(publicUrlsOf(json).map((u) => JSON.stringify(u)))).toEqual(
      new Set([
        JSON.stringify({
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [logicalId(built.console.distribution), 'DomainName'] }],
          ],
        }),
      ]),
    );
    withDomain.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    withDomain.hasOutput('ApiDomainTarget', {});
    expect(cycle(json.Resources)).toBeNull();
    expect(() => unbundled({ domainName: 'audit.example.org' })).toThrow(
      /both domainName and certificateArn/,
    );
  });
});

describe('secrets', () => {
  it('lets each function read its secrets in any version stage (AWSCURRENT and AWSPREVIOUS), and only those', () => {
    const secretIds = Object.values(stack.secrets.secrets).map((secret) => logicalId(secret));
    for (const { name, definition, role } of functionCases()) {
      const statements = (
        asList(
          (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
            ?.Statement,
        ) as Record<string, Json>[]
      ).filter((st) => asList(st.Action).some((a) => String(a).startsWith('secretsmanager:')));
      const readable = statements.flatMap((st) =>
        asList(st.Resource).map((r) => (r as { Ref?: string }).Ref),
      );
      expect(readable.sort(), name).toEqual(
        definition.secrets.map((secret) => logicalId(stack.secrets.secrets[secret])).sort(),
      );
      for (const statement of statements) {
        expect(asList(statement.Action), name).toContain('secretsmanager:GetSecretValue');
        // A VersionStage condition would refuse reading AWSPREVIOUS during a rotation.
        expect(statement.Condition, name).toBeUndefined();
      }
    }
    expect(secretIds).toHaveLength(2);
  });

  it('outputs both secret ARNs, for reading the operator key and for `npm run rotate`', () => {
    template.hasOutput('OperatorKeySecretArn', {
      Value: { Ref: logicalId(stack.secrets.secrets.operatorKey) },
      Description: Match.stringLikeRegexp('npm run rotate -- operator-key'),
    });
    template.hasOutput('CursorKeySecretArn', {
      Value: { Ref: logicalId(stack.secrets.secrets.cursorKey) },
      Description: Match.stringLikeRegexp('npm run rotate -- cursor-key'),
    });
  });

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

describe('monitoring', () => {
  it('alarms on API 5xx, errors of every function, throttles of all but the scheduled jobs, stalled jobs, table throttles, archiver and integrity metrics, lag, dead letters and queue age', () => {
    const scheduled = functionCases().filter((c) => c.definition.kind === 'schedule');
    const unscheduled = functionCases().filter((c) => c.definition.kind !== 'schedule');
    expect(scheduled.map((c) => c.name).sort()).toEqual([
      'archiveCompactor',
      'integrityScan',
      'retentionWorker',
      'sealer',
      'streamSweeper',
    ]);
    const securityMetrics = 3; // EventTampering, ArchiveQuarantined, IntegrityMismatch
    const iteratorAge = 2; // archiver, stream router
    const deadLetterQueues = 4 + scheduled.length; // archiver, stream router, export jobs, deliveries, one per schedule
    const workQueues = 2; // export jobs, deliveries
    const tableThrottles = 2; // events and control tables
    template.resourceCountIs(
      'AWS::CloudWatch::Alarm',
      1 +
        2 * unscheduled.length +
        2 * scheduled.length + // Errors and Stalled
        tableThrottles +
        securityMetrics +
        iteratorAge +
        deadLetterQueues +
        workQueues,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5xx',
      Namespace: 'AWS/ApiGateway',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
    });
    for (const { name, fn, definition } of functionCases()) {
      for (const metric of ['Errors', 'Throttles']) {
        const alarms = template.findResources('AWS::CloudWatch::Alarm', {
          Properties: {
            MetricName: metric,
            Namespace: 'AWS/Lambda',
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
          },
        });
        // A scheduled job's throttle is a skipped tick (opt-in reserved concurrency 1) or an
        // exhausted account quota that the other functions' alarms report; a job that no longer
        // runs at all is its Stalled alarm.
        const expected = metric === 'Throttles' && definition.kind === 'schedule' ? 0 : 1;
        expect(Object.keys(alarms), `${name} ${metric}`).toHaveLength(expected);
      }
    }
  });

  /** The alarm on a table's throttled requests, with the operations its expression sums. */
  const throttleAlarm = (table: IConstruct) => {
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Metrics: Match.arrayWith([
            Match.objectLike({
              MetricStat: Match.objectLike({
                Metric: Match.objectLike({
                  MetricName: 'ThrottledRequests',
                  Namespace: 'AWS/DynamoDB',
                  Dimensions: Match.arrayWith([{ Name: 'TableName', Value: { Ref: logicalId(table) } }]),
                }),
              }),
            }),
          ]),
        },
      }),
    ) as Resource[];
    expect(alarms).toHaveLength(1);
    const metrics = alarms[0]?.Properties?.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData?: boolean;
      MetricStat?: { Metric: { Dimensions: { Name: string; Value: Json }[] } };
    }[];
    const operations = metrics.flatMap(
      (m) =>
        m.MetricStat?.Metric.Dimensions.filter((d) => d.Name === 'Operation').map((d) => String(d.Value)) ??
        [],
    );
    const expression = metrics.find((m) => m.Expression !== undefined);
    return {
      alarm: alarms[0],
      operations,
      expression,
      ids: metrics.filter((m) => m.MetricStat).map((m) => m.Id),
    };
  };

  /**
   * Granted actions that are no data-plane request on the table: DescribeTable, and the stream
   * reads of the archiver (its lag is the IteratorAge alarm).
   */
  const NOT_TABLE_OPERATIONS = [
    'dynamodb:DescribeTable',
    'dynamodb:DescribeStream',
    'dynamodb:GetRecords',
    'dynamodb:GetShardIterator',
    'dynamodb:ListStreams',
  ];

  /** The DynamoDB operations a role's grants allow on a table (ConditionCheckItem runs inside TransactWriteItems). */
  const grantedOperations = (table: IConstruct): string[] => {
    const tableId = `"${logicalId(table)}"`;
    const actions = functionCases().flatMap(({ role }) =>
      (
        asList(
          (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
            ?.Statement,
        ) as Record<string, Json>[]
      )
        .filter(
          (st) =>
            JSON.stringify(st.Resource).includes(tableId) &&
            !JSON.stringify(st.Resource).includes('/stream/'),
        )
        .flatMap((st) => asList(st.Action).map(String)),
    );
    return [
      ...new Set(
        actions
          .filter((a) => a.startsWith('dynamodb:') && !NOT_TABLE_OPERATIONS.includes(a))
          .map((a) => a.replace('dynamodb:', ''))
          .map((a) => (a === 'ConditionCheckItem' ? 'TransactWriteItems' : a)),
      ),
    ].sort();
  };

  it('alarms on throttled requests of every operation any function runs on the events and control tables', () => {
    for (const [name, table, listed] of [
      ['events', stack.events.table, TABLE_OPERATIONS.events],
      ['control', stack.control.table, TABLE_OPERATIONS.control],
    ] as const) {
      const { operations } = throttleAlarm(table);
      expect([...operations].sort(), name).toEqual([...listed].sort());
      expect([...operations].sort(), `${name}: every granted operation is watched`).toEqual(
        grantedOperations(table),
      );
    }
    // The retention worker's re-timing is an UpdateItem on events: watched too.
    expect(TABLE_OPERATIONS.events).toContain('UpdateItem');
  });

  it('sums the throttle series with FILL(…, 0), so one operation throttled alone still reaches the alarm', () => {
    for (const table of [stack.events.table, stack.control.table]) {
      const { expression, ids } = throttleAlarm(table);
      expect(ids.length).toBeGreaterThan(1);
      expect(expression?.Expression).toBe(ids.map((id) => `FILL(${id}, 0)`).join(' + '));
      expect(expression?.ReturnData ?? true).toBe(true);
    }
  });

  it('decides per alarm what missing data means: a stopped job breaches, everything else is quiet', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    const stalled = alarms.filter(([id]) => /Stalled/.test(id));
    expect(stalled.map(([, a]) => a.Properties?.MetricName)).toEqual(
      Array(functionCases().filter((c) => c.definition.kind === 'schedule').length).fill('Invocations'),
    );
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties?.TreatMissingData, id).toBe(/Stalled/.test(id) ? 'breaching' : 'notBreaching');
    }
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
      emailFrom: TEST_SENDER,
      console: TEST_CONSOLE,
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
    const objects = (bucket: IConstruct, pattern = '*') =>
      `AwsSolutions-IAM5[Resource::<${logicalId(bucket)}.Arn>/${pattern}]`;
    const exportObjects = objects(stack.exports.bucket);
    // CDK's BucketDeployment handler: one singleton per stack, named by a fixed UUID.
    const uploaderId = () =>
      stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))?.node.id ??
      'missing';
    expect(acknowledged.map(({ path, id }) => `${path} ${id}`).sort()).toEqual(
      [
        `Trailkeeper/Api/Exports/Role ${exportObjects}`,
        `Trailkeeper/Exports/Worker/Role ${exportObjects}`,
        'Trailkeeper/Api/HttpApi/GET--console--t--{tenant_id} AwsSolutions-APIG4',
        'Trailkeeper/Api/HttpApi/GET--health AwsSolutions-APIG4',
        'Trailkeeper/Api/HttpApi/GET--v1--openapi.json AwsSolutions-APIG4',
        'Trailkeeper/Api/HttpApi/GET--v1--integrity--public-key AwsSolutions-APIG4',
        'Trailkeeper/Api/HttpApi/POST--v1--sessions AwsSolutions-APIG4',
        'Trailkeeper/Secrets/CursorKey AwsSolutions-SMG4',
        'Trailkeeper/Secrets/OperatorKey AwsSolutions-SMG4',
        'Trailkeeper/Archiver/DeadLetterQueue AwsSolutions-SQS3',
        `Trailkeeper/Archiver/Function/Role ${objects(stack.archive.stagingBucket)}`,
        `Trailkeeper/Archiver/Function/Role ${objects(stack.archive.bucket, 'quarantine/*')}`,
        `Trailkeeper/ArchiveCompactor/Role ${objects(stack.archive.stagingBucket)}`,
        `Trailkeeper/ArchiveCompactor/Role ${objects(stack.archive.bucket, 'tenant=*')}`,
        'Trailkeeper/ArchiveCompactor/Schedule/DeadLetterQueue AwsSolutions-SQS3',
        'Trailkeeper/RetentionWorker/Schedule/DeadLetterQueue AwsSolutions-SQS3',
        `Trailkeeper/Sealer/Role ${objects(stack.archive.bucket, 'digests/*')}`,
        `Trailkeeper/Api/Integrity/Role ${objects(stack.archive.bucket, 'digests/*')}`,
        `Trailkeeper/IntegrityScan/Role ${objects(stack.archive.bucket, 'digests/*')}`,
        'Trailkeeper/Sealer/Schedule/DeadLetterQueue AwsSolutions-SQS3',
        'Trailkeeper/IntegrityScan/Schedule/DeadLetterQueue AwsSolutions-SQS3',
        'Trailkeeper/StreamRouter/DeadLetterQueue AwsSolutions-SQS3',
        'Trailkeeper/StreamSweeper/Schedule/DeadLetterQueue AwsSolutions-SQS3',
        'Trailkeeper/Console/Distribution AwsSolutions-CFR1',
        'Trailkeeper/Console/Distribution AwsSolutions-CFR2',
        'Trailkeeper/Console/Distribution AwsSolutions-CFR3',
        'Trailkeeper/Console/Distribution AwsSolutions-CFR4',
        `Trailkeeper/Console/DeploymentRole ${objects(stack.console.bucket, 'console/assets/*')}`,
        `Trailkeeper/${uploaderId()} AwsSolutions-L1`,
      ].sort(),
    );
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(40);
    // No reason may promise a tool that does not exist (rotation is `npm run rotate`).
    for (const { id, reason } of acknowledged.filter((a) => a.id === 'AwsSolutions-SMG4')) {
      expect(reason, id).toMatch(/npm run rotate/);
      expect(reason, id).not.toMatch(/admin CLI/);
    }
  });

  it('acknowledges nothing cdk-nag does not report: every acknowledgement silences a real finding', () => {
    // Build the stack again with acknowledgements recorded instead of applied, and let cdk-nag
    // report everything it finds.
    const recorded: { path: string; id: string }[] = [];
    const validationsOf = vi.spyOn(Validations, 'of').mockImplementation(
      (scope) =>
        ({
          acknowledge: (...rules: { id: string }[]) => {
            for (const rule of rules) recorded.push({ path: scope.node.path, id: rule.id });
          },
        }) as unknown as Validations,
    );
    let raw: App;
    try {
      raw = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      new TrailkeeperStack(raw, 'Trailkeeper', {
        env: { region: 'us-east-1' },
        emailFrom: TEST_SENDER,
        console: TEST_CONSOLE,
      });
    } finally {
      validationsOf.mockRestore();
    }
    const findings = new AwsSolutionsChecks()
      .validateScope(raw)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ path: r.constructPath ?? '', id: v.ruleName })),
      );
    expect(recorded.length).toBeGreaterThan(10);
    const dead = recorded.filter(
      (ack) =>
        !findings.some((f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`))),
    );
    expect(dead).toEqual([]);
  });
});
