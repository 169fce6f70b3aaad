/**
 * DynamoKindRegistry (shared/adapters/kind-registry.ts): the exact commands it sends — one
 * UpdateItem per kind and per email pair, in the tenant's `KINDS#` partition; a Query of the
 * `KIND#` range read to its end; a Query of one email's range with Limit limit + 1 — and what it
 * makes of the answers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoKindRegistry } from '#shared/adapters/kind-registry.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const registry = new DynamoKindRegistry(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
  'control-test',
);

afterEach(() => {
  ddb.reset();
});

const AT = '2026-12-07T10:00:00.000Z';
const FULL_KIND = {
  action: 'member.role_changed',
  area: 'members',
  method: 'update',
  target_type: 'member',
  status: '200',
  actor_type: 'user',
};

describe('DynamoKindRegistry.register', () => {
  it('sends one UpdateItem per kind: SET its fields and first-seen time if absent, ADD its count', async () => {
    ddb.on(UpdateCommand).resolves({});

    await registry.register(
      'tnt_a',
      {
        kinds: [
          { id: 'kind_full', kind: FULL_KIND, count: 3 },
          { id: 'kind_bare', kind: { action: 'billing.paid' }, count: 0 },
        ],
        emails: [],
      },
      AT,
    );

    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'control-test',
        Key: { pk: 'KINDS#tnt_a', sk: 'KIND#kind_full' },
        UpdateExpression:
          'SET #action = :action, #area = :area, #method = :method, #target_type = :target_type, #status = :status, #actor_type = :actor_type, #first = if_not_exists(#first, :first) ADD #count :count',
        ExpressionAttributeNames: {
          '#first': 'first_seen_at',
          '#count': 'count',
          '#action': 'action',
          '#area': 'area',
          '#method': 'method',
          '#target_type': 'target_type',
          '#status': 'status',
          '#actor_type': 'actor_type',
        },
        ExpressionAttributeValues: {
          ':first': AT,
          ':count': 3,
          ':action': 'member.role_changed',
          ':area': 'members',
          ':method': 'update',
          ':target_type': 'member',
          ':status': '200',
          ':actor_type': 'user',
        },
      },
      {
        TableName: 'control-test',
        Key: { pk: 'KINDS#tnt_a', sk: 'KIND#kind_bare' },
        // An absent field stays absent: never written as ''.
        UpdateExpression: 'SET #action = :action, #first = if_not_exists(#first, :first) ADD #count :count',
        ExpressionAttributeNames: { '#first': 'first_seen_at', '#count': 'count', '#action': 'action' },
        ExpressionAttributeValues: { ':first': AT, ':count': 0, ':action': 'billing.paid' },
      },
    ]);
  });

  it('sends one idempotent UpdateItem per email pair, the email ending at a space in the sort key', async () => {
    ddb.on(UpdateCommand).resolves({});

    await registry.register(
      'tnt_a',
      { kinds: [], emails: [{ email: 'ada@example.com', actorId: 'user 42' }] },
      AT,
    );

    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'control-test',
        Key: { pk: 'KINDS#tnt_a', sk: 'EMAIL#ada@example.com user 42' },
        UpdateExpression: 'SET #email = :email, #actor = :actor, #first = if_not_exists(#first, :first)',
        ExpressionAttributeNames: { '#email': 'email', '#actor': 'actor_id', '#first': 'first_seen_at' },
        ExpressionAttributeValues: { ':email': 'ada@example.com', ':actor': 'user 42', ':first': AT },
      },
    ]);
  });

  it('sends every write even when one fails, then rejects with the failure', async () => {
    const throttled = Object.assign(new Error('slow down'), {
      name: 'ProvisionedThroughputExceededException',
    });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(UpdateCommand, { Key: { pk: 'KINDS#tnt_a', sk: 'KIND#k1' } }).rejects(throttled);

    const registering = registry.register(
      'tnt_a',
      {
        kinds: [
          { id: 'k1', kind: { action: 'a.b' }, count: 1 },
          { id: 'k2', kind: { action: 'a.c' }, count: 1 },
        ],
        emails: [{ email: 'ada@example.com', actorId: 'u1' }],
      },
      AT,
    );

    await expect(registering).rejects.toThrow('slow down');
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(3);
  });

  it('sends nothing for nothing', async () => {
    await registry.register('tnt_a', { kinds: [], emails: [] }, AT);

    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('DynamoKindRegistry.kinds', () => {
  it("queries the KIND# range of the tenant's partition to its end, projecting the fields and count", async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ sk: 'KIND#k1', ...FULL_KIND, count: 12 }],
        LastEvaluatedKey: { pk: 'KINDS#tnt_a', sk: 'KIND#k1' },
        ConsumedCapacity: { CapacityUnits: 2.5 },
      })
      .resolvesOnce({
        Items: [{ sk: 'KIND#k2', action: 'billing.paid', count: 0 }],
        ConsumedCapacity: { CapacityUnits: 0.5 },
      });

    const { kinds, readUnits } = await registry.kinds('tnt_a');
    // What the planner adds to the page's read units.
    expect(readUnits).toBe(3);

    expect(kinds).toEqual([
      { id: 'k1', kind: FULL_KIND, count: 12 },
      { id: 'k2', kind: { action: 'billing.paid' }, count: 0 },
    ]);
    const [first, second] = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(first).toEqual({
      TableName: 'control-test',
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: {
        '#pk': 'pk',
        '#sk': 'sk',
        '#count': 'count',
        '#action': 'action',
        '#area': 'area',
        '#method': 'method',
        '#target_type': 'target_type',
        '#status': 'status',
        '#actor_type': 'actor_type',
      },
      ExpressionAttributeValues: { ':pk': 'KINDS#tnt_a', ':prefix': 'KIND#' },
      ProjectionExpression: '#sk, #action, #area, #method, #target_type, #status, #actor_type, #count',
      ReturnConsumedCapacity: 'TOTAL',
    });
    expect(second).toEqual({ ...first, ExclusiveStartKey: { pk: 'KINDS#tnt_a', sk: 'KIND#k1' } });
  });

  it('skips an item that is no kind, and counts a kind without a count as 0', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { sk: 'KIND#k1', area: 'members' },
        { sk: 'OTHER', action: 'a.b' },
        { sk: 'KIND#k3', action: 'a.c' },
      ],
    });

    expect((await registry.kinds('tnt_a')).kinds).toEqual([{ id: 'k3', kind: { action: 'a.c' }, count: 0 }]);
  });
});

describe('DynamoKindRegistry.actorsWithEmail', () => {
  it("queries the email's exact range with Limit limit + 1 and says when there are more", async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ actor_id: 'u1' }, { actor_id: 'u 2' }, { actor_id: 'u3' }] });

    const found = await registry.actorsWithEmail('tnt_a', 'ada@example.com', 2);

    expect(found).toEqual({ ids: ['u1', 'u 2'], more: true, readUnits: 0 });
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'control-test',
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#actor': 'actor_id' },
        ExpressionAttributeValues: { ':pk': 'KINDS#tnt_a', ':prefix': 'EMAIL#ada@example.com ' },
        ProjectionExpression: '#actor',
        Limit: 3,
        ReturnConsumedCapacity: 'TOTAL',
      },
    ]);
  });

  it('answers no ids and no more for an email never seen', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    expect(await registry.actorsWithEmail('tnt_a', 'nobody@example.com', 50)).toEqual({
      ids: [],
      more: false,
      readUnits: 0,
    });
  });
});
