import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromItem, toItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { kindId, kindOf } from '#shared/domain/kinds.ts';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

/** A person's authorizer context, as the authorizer builds it from a viewer session. */
const personContext = (overrides: Partial<AuthorizerContext> = {}): AuthorizerContext => ({
  kind: 'person',
  tenantId: TENANT,
  userId: 'user_ada',
  userEmail: 'ada@example.com',
  userName: 'Ada',
  role: 'team_admin',
  teams: 'team_a,team_b',
  permissions: 'view export',
  sessionId: 'ses_1',
  via: 'session',
  retentionDays: 90,
  shards: 2,
  ...overrides,
});

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/query.ts').handler;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_CURSOR_KEY', 'test-cursor-key');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/query.ts'));
});

afterEach(() => ddb.reset());

const reader = keyContext('events:read');
const NOW = Date.now();
/** The kind registry's item for the kind of `event`, with a count (what DynamoKindRegistry reads). */
const kindItem = (event: StoredEvent, count: number) => {
  const kind = kindOf(event);
  return { pk: `KINDS#${event.tenant_id}`, sk: `KIND#${kindId(kind)}`, ...kind, count };
};

/** Events-table Queries that read events (not the planner's probes, which project only the sort key). */
const eventReads = () =>
  ddb
    .commandCalls(QueryCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.TableName === 'events-test' && input.ProjectionExpression === undefined);

const stored = (i: number, teamId?: string) => {
  const built = buildStoredEvent(
    {
      id: `e${i}`,
      action: 'secret.read',
      actor: { id: 'u1' },
      ...(teamId === undefined ? {} : { team_id: teamId }),
      occurred_at: new Date(NOW - i * 1000).toISOString(),
    },
    { tenantId: TENANT, retentionDays: 90 },
    NOW,
    createRedactor(),
  );
  if (!built.ok) throw new Error('bad fixture');
  return built.event;
};

describe('GET /v1/events handler', () => {
  it('queries the index chosen for the filter, newest first, and audits the read', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [toItem(stored(1), 1), toItem(stored(2), 1)],
      ConsumedCapacity: { CapacityUnits: 0.5 },
    });
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('GET /v1/events', { query: { actor_id: 'u1', limit: '2' }, auth: reader }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    const body = parse(result);
    expect(body.data.map((e: { id: string }) => e.id)).toEqual(['e1', 'e2']);
    expect(body.next_cursor).toBeNull(); // the index said there is nothing more

    const query = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query).toMatchObject({
      TableName: 'events-test',
      IndexName: 'byActor',
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
      ExpressionAttributeNames: expect.objectContaining({ '#pk': 'actor_pk', '#sk': 'sk' }),
      ExpressionAttributeValues: expect.objectContaining({ ':pk': `${TENANT}#0#u1` }),
      ScanIndexForward: false,
      ReturnConsumedCapacity: 'TOTAL',
    });
    expect(query?.FilterExpression).toBeUndefined(); // conditions run on the documents in code

    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(fromItem(put?.Item ?? {})).toMatchObject({
      action: 'audit_log.viewed',
      actor: { id: reader.keyId, type: 'api_key' },
      tenant_id: TENANT,
    });
  });

  it('continues from a cursor strictly below the last event, and rejects it for other filters', async () => {
    ddb
      .on(QueryCommand)
      .resolves({ Items: [] })
      .resolvesOnce({ Items: [toItem(stored(1), 1)], LastEvaluatedKey: { pk: 'x' } });
    ddb.on(PutCommand).resolves({});
    const first = parse(
      await handler(apiEvent('GET /v1/events', { query: { limit: '1' }, auth: reader }), lambdaContext),
    );
    ddb.resetHistory();
    await handler(
      apiEvent('GET /v1/events', { query: { limit: '1', cursor: first.next_cursor }, auth: reader }),
      lambdaContext,
    );
    const high = ddb.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':high'];
    expect(high).toBe(`${stored(1).occurred_at}#e1`);

    ddb.resetHistory();
    const other = await handler(
      apiEvent('GET /v1/events', {
        query: { limit: '1', actor_id: 'u2', cursor: first.next_cursor },
        auth: reader,
      }),
      lambdaContext,
    );
    expect(other.statusCode).toBe(400);
    expect(parse(other).type).toBe('/problems/invalid-cursor');
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('rejects a cursor replayed by another tenant', async () => {
    ddb
      .on(QueryCommand)
      .resolves({ Items: [] })
      .resolvesOnce({ Items: [toItem(stored(1), 1)], LastEvaluatedKey: { pk: 'x' } });
    ddb.on(PutCommand).resolves({});
    const first = parse(
      await handler(apiEvent('GET /v1/events', { query: { limit: '1' }, auth: reader }), lambdaContext),
    );
    const foreign = keyContext('events:read', { tenantId: 'tnt_01jd0000000000000000000001' });
    const result = await handler(
      apiEvent('GET /v1/events', { query: { limit: '1', cursor: first.next_cursor }, auth: foreign }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(400);
  });

  it('reads one event by id with a GetItem scoped to the tenant and 404s when absent', async () => {
    ddb.on(GetCommand).resolves({ Item: toItem(stored(3), 1) });
    ddb.on(PutCommand).resolves({});
    const found = await handler(
      apiEvent('GET /v1/events/{id}', { params: { id: 'e3' }, auth: reader }),
      lambdaContext,
    );
    expect(found.statusCode).toBe(200);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({ pk: `${TENANT}#e3` });

    ddb.on(GetCommand).resolves({});
    const missing = await handler(
      apiEvent('GET /v1/events/{id}', { params: { id: 'nope' }, auth: reader }),
      lambdaContext,
    );
    expect(missing.statusCode).toBe(404);
  });

  it('never returns an event past its expiry', async () => {
    const expired = { ...toItem(stored(4), 1), expires_at: Math.floor(Date.now() / 1000) - 10 };
    ddb.on(GetCommand).resolves({ Item: expired });
    const result = await handler(
      apiEvent('GET /v1/events/{id}', { params: { id: 'e4' }, auth: reader }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(404);
  });

  it('refuses a key without events:read', async () => {
    const result = await handler(
      apiEvent('GET /v1/events', { auth: keyContext('events:write') }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(403);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('GET /v1/events for people', () => {
  const teamAdmin = personContext();

  it("reads a team admin's unfiltered list from the byTeam partitions of their teams, every shard, without probing", async () => {
    ddb.on(QueryCommand).resolves({ Items: [], ConsumedCapacity: { CapacityUnits: 0.5 } });
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('GET /v1/events', { query: { impersonated: 'false' }, auth: teamAdmin }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(4);
    for (const query of queries) {
      expect(query).toMatchObject({
        TableName: 'events-test',
        IndexName: 'byTeam',
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
        ExpressionAttributeNames: { '#pk': 'team_pk', '#sk': 'sk' },
        ScanIndexForward: false,
      });
      expect(query.FilterExpression).toBeUndefined();
    }
    expect(queries.map((q) => q.ExpressionAttributeValues?.[':pk']).sort()).toEqual([
      `${TENANT}#0#team_a`,
      `${TENANT}#0#team_b`,
      `${TENANT}#1#team_a`,
      `${TENANT}#1#team_b`,
    ]);

    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(fromItem(put?.Item ?? {})).toMatchObject({
      action: 'audit_log.viewed',
      actor: { id: 'user_ada', type: 'user', email: 'ada@example.com', name: 'Ada', role: 'team_admin' },
      metadata: { filters: { impersonated: 'false' }, returned: 0, viewer_session: 'ses_1' },
    });
  });

  it("answers 403 for a team outside the team admin's, before reading anything", async () => {
    const result = await handler(
      apiEvent('GET /v1/events', { query: { team_id: 'team_a,team_z' }, auth: teamAdmin }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(403);
    expect(parse(result).detail).toContain('team_z');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('serves an owner from the index of the filter, like a key', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(PutCommand).resolves({});
    const owner = personContext({ role: 'owner', teams: '', shards: 1 });
    const result = await handler(
      apiEvent('GET /v1/events', { query: { actor_id: 'u1' }, auth: owner }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byActor',
      ExpressionAttributeValues: expect.objectContaining({ ':pk': `${TENANT}#0#u1` }),
    });
  });

  it('answers 403 to a role the access policy does not let view, reading nothing', async () => {
    const member = personContext({ role: 'member', teams: '', permissions: '' });
    const result = await handler(apiEvent('GET /v1/events', { auth: member }), lambdaContext);
    expect(result.statusCode).toBe(403);
    expect(parse(result).detail).toContain('may not view');
    expect(ddb.calls()).toHaveLength(0);
  });

  it("reads an event of the team admin's teams, and 404s (unaudited) one outside them or without a team", async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand, { Key: { pk: `${TENANT}#e1` } }).resolves({ Item: toItem(stored(1, 'team_b'), 2) });
    ddb.on(GetCommand, { Key: { pk: `${TENANT}#e2` } }).resolves({ Item: toItem(stored(2, 'team_c'), 2) });
    ddb.on(GetCommand, { Key: { pk: `${TENANT}#e3` } }).resolves({ Item: toItem(stored(3), 2) });
    const read = (id: string) =>
      handler(apiEvent('GET /v1/events/{id}', { params: { id }, auth: teamAdmin }), lambdaContext);
    expect((await read('e1')).statusCode).toBe(200);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect((await read('e2')).statusCode).toBe(404);
    expect((await read('e3')).statusCode).toBe(404);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
  });
});

describe('GET /v1/events: exclude_action and scanned_until', () => {
  it('leaves the excluded actions out of what the chosen index returns, and says it searched to `from`', async () => {
    const login = { ...stored(2), action: 'auth.login' };
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({
      Items: [kindItem(stored(1), 2), kindItem(login, 1)],
    });
    ddb.on(QueryCommand, { TableName: 'events-test' }).resolves({
      Items: [toItem(stored(1), 1), toItem(login, 1), toItem(stored(3), 1)],
    });
    ddb.on(PutCommand).resolves({});
    const from = new Date(NOW - 86_400_000).toISOString();
    const query = { actor_id: 'u1', exclude_action: 'secret.*', from };
    const result = await handler(apiEvent('GET /v1/events', { query, auth: reader }), lambdaContext);
    expect(result.statusCode).toBe(200);
    const body = parse(result);
    expect(body.data.map((e: { id: string }) => e.id)).toEqual(['e2']);
    expect(body.next_cursor).toBeNull();
    expect(body.scanned_until).toBe(from);
    // One path serves it (whichever reads least), and the exclusion is evaluated in code.
    const reads = eventReads();
    expect(new Set(reads.map((q) => q.IndexName)).size).toBe(1);
    for (const q of reads) expect(q.FilterExpression).toBeUndefined();
  });

  it("continues a kind fan-out from the cursor's kinds: no registry read, and a spent kind is not read again", async () => {
    const read = stored(1);
    const rotated = { ...stored(2), action: 'secret.key.rotated' };
    const busy = `${TENANT}#0#${kindId(kindOf(read))}`;
    const spent = `${TENANT}#0#${kindId(kindOf(rotated))}`;
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({
      Items: [kindItem(read, 50), kindItem(rotated, 1), kindItem({ ...read, action: 'doc.viewed' }, 5_000)],
    });
    // The busy kind holds more than a page; the rarer one holds one event, newer than the page's
    // cut, and nothing after it.
    ddb
      .on(QueryCommand, { TableName: 'events-test' })
      .callsFake((input) =>
        input.ExpressionAttributeValues?.[':pk'] !== busy
          ? { Items: [toItem(rotated, 1)] }
          : input.ExclusiveStartKey === undefined
            ? { Items: [toItem(read, 1), toItem(stored(3), 1)], LastEvaluatedKey: { pk: 'more' } }
            : { Items: [] },
      );
    ddb.on(PutCommand).resolves({});
    const query = { action: 'secret.*', limit: '2' };
    const first = parse(await handler(apiEvent('GET /v1/events', { query, auth: reader }), lambdaContext));
    expect(first.data.map((e: { id: string }) => e.id)).toEqual(['e1', 'e2']);
    expect(
      eventReads()
        .map((q) => q.ExpressionAttributeValues?.[':pk'])
        .sort(),
    ).toEqual([busy, spent].sort());

    ddb.resetHistory();
    const second = await handler(
      apiEvent('GET /v1/events', { query: { ...query, cursor: first.next_cursor }, auth: reader }),
      lambdaContext,
    );
    expect(second.statusCode).toBe(200);
    expect(ddb.commandCalls(QueryCommand, { TableName: 'control-test' })).toHaveLength(0);
    expect(new Set(eventReads().map((q) => q.ExpressionAttributeValues?.[':pk']))).toEqual(new Set([busy]));
    expect(eventReads()[0]?.ExpressionAttributeValues?.[':high']).toBe(`${rotated.occurred_at}#e2`);
  });

  it('keeps a cursor short enough to send back when the listed ids are long (they are then planned again)', async () => {
    const actors = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(3, '0')}${'a'.repeat(253)}`);
    ddb.on(QueryCommand, { TableName: 'events-test' }).callsFake((input) => ({
      Items:
        input.ExclusiveStartKey === undefined
          ? [1, 2].map((i) => toItem({ ...stored(i), actor: { id: actors[0] as string } }, 1))
          : [],
      ...(input.ExclusiveStartKey === undefined ? { LastEvaluatedKey: { pk: 'more' } } : {}),
    }));
    ddb.on(PutCommand).resolves({});
    const query = { actor_id: actors.join(','), limit: '1' };
    const first = parse(await handler(apiEvent('GET /v1/events', { query, auth: reader }), lambdaContext));
    expect(typeof first.next_cursor).toBe('string');
    expect(first.next_cursor.length).toBeLessThanOrEqual(4096);
    ddb.resetHistory();
    const second = await handler(
      apiEvent('GET /v1/events', { query: { ...query, cursor: first.next_cursor }, auth: reader }),
      lambdaContext,
    );
    expect(second.statusCode).toBe(200);
    expect(parse(second).data.map((e: { id: string }) => e.id)).toEqual(['e2']);
  });

  it('says a full page searched back to its last event', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [toItem(stored(1), 1), toItem(stored(2), 1), toItem(stored(3), 1)],
      LastEvaluatedKey: { pk: 'more' },
    });
    ddb.on(PutCommand).resolves({});
    const query = { actor_id: 'u1', limit: '2' };
    const body = parse(await handler(apiEvent('GET /v1/events', { query, auth: reader }), lambdaContext));
    expect(body.next_cursor).toEqual(expect.any(String));
    expect(body.scanned_until).toBe(stored(2).occurred_at);
  });
});

describe('GET /v1/events work budget', () => {
  it('answers with what it found within the budget and a cursor from how far back it searched', async () => {
    // 8,000 items on every partition the planner may read, none of them the asked-for action;
    // each bills a tenth of a read unit, so the page's budget (128 units) is ~1,280 items.
    const pool = Array.from({ length: 8_000 }, (_, i) => toItem(stored(i + 1), 1));
    const login = { ...stored(1), action: 'auth.login' };
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({
      Items: [kindItem(stored(1), 4_000), kindItem(login, 4_000)],
    });
    ddb.on(QueryCommand, { TableName: 'events-test' }).callsFake((input) => {
      const start = Number(input.ExclusiveStartKey?.i ?? 0);
      const end = Math.min(pool.length, start + input.Limit);
      return {
        Items: pool.slice(start, end),
        ConsumedCapacity: { CapacityUnits: (end - start) / 10 },
        ...(end < pool.length ? { LastEvaluatedKey: { i: end } } : {}),
      };
    });
    ddb.on(PutCommand).resolves({});
    const query = { actor_id: 'u1', action: 'auth.login', limit: '10' };
    const result = await handler(apiEvent('GET /v1/events', { query, auth: reader }), lambdaContext);
    expect(result.statusCode).toBe(200);
    const body = parse(result);
    expect(body.data).toEqual([]);
    expect(body.next_cursor).toEqual(expect.any(String));
    const read = eventReads().reduce((n, input) => n + (input.Limit ?? 0), 0);
    expect(read).toBeGreaterThanOrEqual(1_000);
    expect(read).toBeLessThan(1_600);

    // The next page continues below the last item searched, not from the top.
    const searched = pool[read - 1]?.sk;
    // …and the answer says how far back that is.
    expect(body.scanned_until).toBe(String(searched).slice(0, String(searched).lastIndexOf('#')));
    ddb.resetHistory();
    await handler(
      apiEvent('GET /v1/events', { query: { ...query, cursor: body.next_cursor }, auth: reader }),
      lambdaContext,
    );
    // …on the path the cursor carries: no probe this time.
    const next = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(next.filter((q) => q.ProjectionExpression === '#sk')).toEqual([]);
    expect(eventReads()[0]?.ExpressionAttributeValues?.[':high']).toBe(searched);
  });
});

describe('GET /v1/events/{id}: the action registry', () => {
  it('registers the audit_log.viewed action of its read event once per container, after the event', async () => {
    const tenant = 'tnt_01jdregistry000000000000000';
    const auth = keyContext('events:read', { tenantId: tenant });
    ddb.on(GetCommand).resolves({ Item: toItem({ ...stored(1), tenant_id: tenant }, 1) });
    ddb.on(PutCommand).resolves({});
    const read = () =>
      handler(apiEvent('GET /v1/events/{id}', { params: { id: 'e1' }, auth }), lambdaContext);

    expect((await read()).statusCode).toBe(200);
    const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts.map((put) => put.TableName)).toEqual(['events-test', 'control-test']);
    expect(puts[1]).toEqual({
      TableName: 'control-test',
      Item: {
        pk: `ACTIONS#${tenant}`,
        sk: 'ACTION#audit_log.viewed',
        action: 'audit_log.viewed',
        first_seen_at: fromItem(puts[0]?.Item ?? {}).received_at,
      },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });

    ddb.resetHistory();
    expect((await read()).statusCode).toBe(200);
    expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input.TableName)).toEqual(['events-test']);
  });
});
