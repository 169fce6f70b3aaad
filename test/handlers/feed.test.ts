import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fromItem, toItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { shardOf } from '#shared/domain/keys.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/query.ts').handler;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_CURSOR_KEY', 'test-cursor-key');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/query.ts'));
});

const SHARDS = 2;
const reader = keyContext('events:read', { shards: SHARDS });
const NOW = Date.parse('2026-12-07T12:30:00.000Z');
/** NOW minus the sealer's watermark lag (the longest event-writing function's timeout + 60 s = 960 s). */
const WATERMARK = '2026-12-07T12:14:00.000Z';

const receivedEvent = (id: string, receivedAt: string, occurredAt = receivedAt): StoredEvent => {
  const built = buildStoredEvent(
    { id, action: 'document.shared', actor: { id: 'u1' }, occurred_at: occurredAt },
    { tenantId: TENANT, retentionDays: 90 },
    Date.parse(receivedAt),
    (value) => value,
  );
  if (!built.ok) throw new Error('bad fixture');
  return built.event;
};

/** The events table as DynamoDB would answer the bySeal queries and the BatchGets (keys only). */
const serveTable = (events: StoredEvent[]) => {
  const items = events.map((event) => toItem(event, SHARDS));
  ddb.on(QueryCommand).callsFake((input) => {
    const values = input.ExpressionAttributeValues;
    return {
      Items: items
        .filter(
          (i) =>
            i.seal_pk === values[':pk'] &&
            String(i.seal_sk) >= values[':low'] &&
            String(i.seal_sk) <= values[':high'],
        )
        .sort((a, b) => (String(a.seal_sk) < String(b.seal_sk) ? -1 : 1))
        .slice(0, input.Limit)
        .map((i) => ({ seal_sk: i.seal_sk, hash: i.hash })),
    };
  });
  ddb.on(BatchGetCommand).callsFake((input) => {
    const keys = input.RequestItems['events-test'].Keys.map((k: { pk: string }) => k.pk);
    return { Responses: { 'events-test': items.filter((i) => keys.includes(i.pk)) } };
  });
  ddb.on(PutCommand).resolves({});
};

const ids = (body: { data: { id: string }[] }) => body.data.map((e) => e.id);
/** The events written into the trail (the action registry's puts go to the control table). */
const audits = () =>
  ddb
    .commandCalls(PutCommand)
    .filter((call) => call.args[0].input.TableName === 'events-test')
    .map((call) => fromItem(call.args[0].input.Item ?? {}));
const feed = async (query: Record<string, string>, auth = reader) =>
  handler(apiEvent('GET /v1/feed', { query, auth }), lambdaContext);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});

afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
});

// Ids picked so the three land on both shards (asserted below): the merge is what orders them.
const first = receivedEvent('evt_a1', '2026-12-07T11:05:00.000Z');
const late = receivedEvent('evt_b3', '2026-12-07T11:50:00.000Z', '2026-11-30T08:00:00.000Z');
const third = receivedEvent('evt_c1', '2026-12-07T12:10:00.000Z');
const beyondWatermark = receivedEvent('evt_d4', '2026-12-07T12:20:00.000Z');

describe('GET /v1/feed handler', () => {
  it('reads the bySeal index of every shard from `from` up to the watermark, merged in received_at order, and audits the start', async () => {
    expect(new Set([first, late, third].map((e) => shardOf(e.id, SHARDS))).size).toBe(2);
    serveTable([third, beyondWatermark, late, first]);

    const result = await feed({ from: '2026-12-07T11:00:00Z' });

    expect(result.statusCode).toBe(200);
    const body = parse(result);
    expect(ids(body)).toEqual(['evt_a1', 'evt_b3', 'evt_c1']);
    expect(body.data[1].occurred_at).toBe('2026-11-30T08:00:00.000Z');
    expect(body.watermark).toBe(WATERMARK);
    expect(typeof body.next_cursor).toBe('string');
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    // 2 shards × the hours 10 (the millisecond before `from`), 11 and 12.
    expect(queries).toHaveLength(6);
    expect(queries).toContainEqual({
      TableName: 'events-test',
      IndexName: 'bySeal',
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
      ExpressionAttributeNames: { '#pk': 'seal_pk', '#sk': 'seal_sk', '#hash': 'hash' },
      ExpressionAttributeValues: {
        ':pk': `${TENANT}#1#2026-12-07T11`,
        ':low': '2026-12-07T10:59:59.999Z#\uffff',
        ':high': `${WATERMARK}#\uffff`,
      },
      ProjectionExpression: '#sk, #hash',
      Limit: 100,
      ExclusiveStartKey: undefined,
    });
    expect(ddb.commandCalls(BatchGetCommand)[0]?.args[0].input).toEqual({
      RequestItems: {
        'events-test': {
          Keys: [{ pk: `${TENANT}#evt_a1` }, { pk: `${TENANT}#evt_b3` }, { pk: `${TENANT}#evt_c1` }],
          ConsistentRead: true,
        },
      },
    });
    const [audit] = audits();
    expect(audits()).toHaveLength(1);
    expect(audit).toMatchObject({
      action: 'audit_log.viewed',
      actor: { id: 'key_01jd0000000000000000000000', type: 'api_key' },
      metadata: { feed: 'started', from: '2026-12-07T11:00:00.000Z', returned: 3 },
    });
  });

  it('continues after a caught-up page from the watermark, returns what the watermark has since passed, and does not audit each poll', async () => {
    serveTable([first, late, third, beyondWatermark]);
    const caughtUp = parse(await feed({ from: '2026-12-07T11:00:00Z' }));
    ddb.resetHistory();

    vi.setSystemTime(NOW + 10 * 60_000);
    const next = await feed({ cursor: caughtUp.next_cursor });

    expect(next.statusCode).toBe(200);
    expect(ids(parse(next))).toEqual(['evt_d4']);
    expect(parse(next).watermark).toBe('2026-12-07T12:24:00.000Z');
    // Only from the previous watermark on: hours 12 of each shard.
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input.ExpressionAttributeValues)).toEqual([
      {
        ':pk': `${TENANT}#0#2026-12-07T12`,
        ':low': `${WATERMARK}#\uffff`,
        ':high': '2026-12-07T12:24:00.000Z#\uffff',
      },
      {
        ':pk': `${TENANT}#1#2026-12-07T12`,
        ':low': `${WATERMARK}#\uffff`,
        ':high': '2026-12-07T12:24:00.000Z#\uffff',
      },
    ]);
    expect(audits()).toHaveLength(0);
  });

  it('pages a full page strictly after its last event, never repeating it', async () => {
    serveTable([first, late, third]);

    const page1 = parse(await feed({ from: '2026-12-07T11:00:00Z', limit: '2' }));
    const page2 = parse(await feed({ cursor: page1.next_cursor, limit: '2' }));

    expect(ids(page1)).toEqual(['evt_a1', 'evt_b3']);
    expect(ids(page2)).toEqual(['evt_c1']);
  });

  it('walks a quiet stretch a week at a time within one request, up to the next event', async () => {
    const tenDaysAgo = receivedEvent('evt_a1', '2026-11-27T09:00:00.000Z');
    serveTable([tenDaysAgo]);

    const result = parse(await feed({ from: '2026-11-17T12:00:00Z' }));

    expect(ids(result)).toEqual(['evt_a1']);
    const highs = new Set(
      ddb.commandCalls(QueryCommand).map((c) => c.args[0].input.ExpressionAttributeValues?.[':high']),
    );
    // The first week (nothing), then the second one, which holds the event.
    expect([...highs]).toEqual(['2026-11-24T11:59:59.999Z#\uffff', '2026-12-01T11:59:59.999Z#\uffff']);
  });

  it('stops reading empty weeks when its time budget is spent, and its cursor has moved past them', async () => {
    serveTable([receivedEvent('evt_a1', '2026-12-05T09:00:00.000Z')]);
    // Each query takes 10 ms: a week of hours on both shards is 3.4 s, so the 5 s budget ends
    // after two empty weeks.
    ddb.on(QueryCommand).callsFake(() => {
      vi.setSystemTime(Date.now() + 10);
      return { Items: [] };
    });

    const stopped = parse(await feed({ from: '2026-11-01T00:00:00Z' }));
    expect(stopped.data).toEqual([]);
    ddb.resetHistory();
    await feed({ cursor: stopped.next_cursor });

    const lows = ddb
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':low']);
    expect(lows[0]).toBe('2026-11-14T23:59:59.999Z#\uffff');
  });

  it('audits a followed chain again once an hour has passed', async () => {
    serveTable([first]);
    const started = parse(await feed({}));
    ddb.resetHistory();

    vi.setSystemTime(NOW + 61 * 60_000);
    await feed({ cursor: started.next_cursor });

    expect(audits().map((e) => e.metadata)).toEqual([{ feed: 'continued', returned: 0 }]);
  });

  it('rejects a cursor from another tenant, and reads nothing', async () => {
    serveTable([first]);
    const other = keyContext('events:read', { tenantId: 'tnt_01jdzzzzzzzzzzzzzzzzzzzzzz' });
    const theirs = parse(await feed({}, other)).next_cursor;
    ddb.resetHistory();

    const result = await feed({ cursor: theirs });

    expect(result.statusCode).toBe(400);
    expect(parse(result).type).toMatch(/invalid-cursor$/);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('rejects `from` together with a cursor, and a limit over 1000', async () => {
    serveTable([]);
    const cursor = parse(await feed({})).next_cursor;

    const both = await feed({ cursor, from: '2026-12-07T11:00:00Z' });
    const tooMany = await feed({ limit: '1001' });

    expect(both.statusCode).toBe(400);
    expect(parse(both).errors).toEqual([
      { field: 'from', message: expect.stringContaining('first call only') },
    ]);
    expect(tooMany.statusCode).toBe(400);
  });

  it('is refused to a viewer session and to a key without events:read', async () => {
    const person = keyContext('events:read', {
      kind: 'person',
      userId: 'user_ada',
      role: 'owner',
      permissions: 'view export',
      sessionId: 'ses_1',
      via: 'session',
    });

    expect((await feed({}, person)).statusCode).toBe(403);
    expect((await feed({}, keyContext('events:write'))).statusCode).toBe(403);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});
