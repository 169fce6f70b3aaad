import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromItem } from '#shared/adapters/event-store.ts';
import { contentHash } from '#shared/domain/event.ts';
import { kindId } from '#shared/domain/kinds.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
type Handler = typeof import('#functions/ingest.ts').handler;
let handler: Handler;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/ingest.ts'));
});

afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
});

const writer = keyContext('events:write');
const readWriter = keyContext('events:write events:read');

const conditionFailed = (item: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'exists',
    $metadata: {},
    Item: marshall(item, { removeUndefinedValues: true }),
  });

/** Stores `body` through the handler and returns the item it wrote and its answer; resets the mock. */
const storeOnce = async (body: unknown) => {
  ddb.reset();
  ddb.on(PutCommand).resolves({});
  const first = parse(await handler(apiEvent('POST /v1/events', { body, auth: readWriter }), lambdaContext));
  const storedItem = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item ?? {};
  ddb.reset();
  return { storedItem, first };
};

/** Every put finds `item` already there, as DynamoDB answers a conditional put on an existing key. */
const rejectPutsWith = (item: Record<string, unknown>) => ddb.on(PutCommand).rejects(conditionFailed(item));
const event = {
  id: 'evt-1',
  action: 'member.role_changed',
  actor: { id: 'user_1' },
  metadata: { password: 'x', to: 'admin' },
};

describe('POST /v1/events handler', () => {
  it('stores one event with a conditional PutItem and answers 201 with it', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T12:00:00Z'), toFake: ['Date'] });
    ddb.on(PutCommand).resolves({});
    const result = await handler(apiEvent('POST /v1/events', { body: event, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    // The events table's one write (the action registry's are tested below).
    const calls = ddb.commandCalls(PutCommand).filter((c) => c.args[0].input.TableName === 'events-test');
    expect(calls).toHaveLength(1);
    const put = calls[0]?.args[0].input;
    expect(put).toMatchObject({
      TableName: 'events-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      Item: {
        pk: `${TENANT}#evt-1`,
        sk: '2026-11-21T12:00:00.000Z#evt-1',
        time_pk: `${TENANT}#0`,
        actor_pk: `${TENANT}#0#user_1`,
        // The event's kind (action, area, method, target type, status, actor type) by its digest.
        kind_pk: `${TENANT}#0#${kindId({ action: 'member.role_changed' })}`,
        expires_at: Date.parse('2027-02-19T12:00:00Z') / 1000,
      },
    });
    expect(put?.Item?.doc).toBeInstanceOf(Uint8Array);
    const stored = fromItem(put?.Item ?? {});
    expect(stored.metadata).toEqual({ password: '[REDACTED]', to: 'admin' });
    expect(parse(result)).toEqual(stored);
    expect(parse(result)).toMatchObject({ id: 'evt-1', tenant_id: TENANT });
  });

  it('stores the fingerprint of the submitted content beside the event, outside the hashed document', async () => {
    ddb.on(PutCommand).resolves({});
    const result = await handler(apiEvent('POST /v1/events', { body: event, auth: writer }), lambdaContext);
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item ?? {};
    const stored = parse(result);
    expect(item.content_hash).toEqual(Buffer.from(contentHash(stored, false), 'hex'));
    expect(JSON.stringify(fromItem(item))).not.toContain('content_hash');
  });

  it('answers a same-content replay to a reading key with the stored event and 200, writing nothing new', async () => {
    const { storedItem, first } = await storeOnce(event);
    rejectPutsWith(storedItem);
    vi.useFakeTimers({ now: Date.now() + 60_000, toFake: ['Date'] });
    const result = await handler(
      apiEvent('POST /v1/events', { body: event, auth: readWriter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toEqual(first);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
  });

  it('answers a same-content replay to a write-only key with {id, duplicate} and never the stored event', async () => {
    const { storedItem } = await storeOnce(event);
    rejectPutsWith(storedItem);
    const result = await handler(apiEvent('POST /v1/events', { body: event, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toEqual({ id: 'evt-1', duplicate: true });
  });

  it('answers an id reused with other content with 409 naming the id, overwriting nothing', async () => {
    const { storedItem } = await storeOnce(event);
    rejectPutsWith(storedItem);
    const result = await handler(
      apiEvent('POST /v1/events', { body: { ...event, action: 'other.thing' }, auth: readWriter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(409);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(parse(result)).toMatchObject({
      type: '/problems/id-conflict',
      status: 409,
      detail: expect.stringContaining('"evt-1"'),
      errors: [{ field: 'id', id: 'evt-1', message: expect.any(String) }],
    });
    expect(result.body).not.toContain('member.role_changed');
    const puts = ddb.commandCalls(PutCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.args[0].input.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('counts a redacted secret as the same content: the replay carries another password', async () => {
    const { storedItem } = await storeOnce(event);
    rejectPutsWith(storedItem);
    const replay = { ...event, metadata: { ...event.metadata, password: 'other' } };
    const result = await handler(apiEvent('POST /v1/events', { body: replay, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(200);
  });

  it('compares an event stored before fingerprints field by field', async () => {
    const { storedItem } = await storeOnce(event);
    const { content_hash: _dropped, ...legacyItem } = storedItem;
    rejectPutsWith(legacyItem);
    const same = await handler(apiEvent('POST /v1/events', { body: event, auth: writer }), lambdaContext);
    const other = await handler(
      apiEvent('POST /v1/events', { body: { ...event, actor: { id: 'user_2' } }, auth: writer }),
      lambdaContext,
    );
    expect(same.statusCode).toBe(200);
    expect(other.statusCode).toBe(409);
  });

  it('stores the new part of a partly replayed batch and answers the rest from storage', async () => {
    const { storedItem } = await storeOnce({ ...event, id: 'r-0' });
    ddb.on(PutCommand).resolves({});
    ddb.on(PutCommand, { Item: { pk: `${TENANT}#r-0` } }).rejects(conditionFailed(storedItem));
    const retry = { events: [0, 1, 2].map((i) => ({ ...event, id: `r-${i}` })) };
    const result = await handler(apiEvent('POST /v1/events', { body: retry, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    expect(parse(result).data).toEqual([
      { id: 'r-0', duplicate: true },
      expect.objectContaining({ id: 'r-1', tenant_id: TENANT }),
      expect.objectContaining({ id: 'r-2', tenant_id: TENANT }),
    ]);
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk)).toEqual(
      expect.arrayContaining([`${TENANT}#r-0`, `${TENANT}#r-1`, `${TENANT}#r-2`]),
    );
  });

  it('answers a batch replayed whole with 200', async () => {
    const { storedItem } = await storeOnce({ ...event, id: 'w-0' });
    rejectPutsWith(storedItem);
    const body = { events: [{ ...event, id: 'w-0' }] };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: readWriter }), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect(parse(result).data).toEqual([expect.objectContaining({ id: 'w-0', action: event.action })]);
  });

  it('stores the rest of a batch and answers 409 listing every conflicting id with its index', async () => {
    const { storedItem: a } = await storeOnce({ ...event, id: 'c-1' });
    const { storedItem: b } = await storeOnce({ ...event, id: 'c-3' });
    ddb.on(PutCommand).resolves({});
    ddb.on(PutCommand, { Item: { pk: `${TENANT}#c-1` } }).rejects(conditionFailed(a));
    ddb.on(PutCommand, { Item: { pk: `${TENANT}#c-3` } }).rejects(conditionFailed(b));
    const events = [0, 1, 2, 3].map((i) => ({ ...event, id: `c-${i}`, metadata: { n: i } }));
    const result = await handler(
      apiEvent('POST /v1/events', { body: { events }, auth: writer }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(409);
    expect(parse(result).errors).toEqual([
      expect.objectContaining({ field: 'events[1].id', index: 1, id: 'c-1' }),
      expect.objectContaining({ field: 'events[3].id', index: 3, id: 'c-3' }),
    ]);
    expect(parse(result).detail).toMatch(/other 2 events are stored/);
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk)).toEqual(
      expect.arrayContaining([`${TENANT}#c-0`, `${TENANT}#c-2`]),
    );
  });

  it.each([
    ['audit_log.viewed', { ...event, action: 'audit_log.viewed' }, 'action'],
    ['trailkeeper.api_key.created', { ...event, action: 'trailkeeper.api_key.created' }, 'action'],
    ['a service id', { ...event, id: 'tk_audit-export-exp_1' }, 'id'],
    [
      'a reserved action in a batch',
      { events: [event, { ...event, id: 'evt-2', action: 'audit_log.exported' }] },
      'events[1].action',
    ],
  ])('refuses %s from a client with 400 naming the field', async (_name, body, field) => {
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors).toEqual([
      expect.objectContaining({ field, message: expect.stringMatching(/reserved/) }),
    ]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('validates a whole batch before writing anything', async () => {
    const body = { events: [event, { action: 'nope', actor: { id: 'u' } }] };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(400);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(parse(result).errors).toEqual([expect.objectContaining({ field: 'events[1].action', index: 1 })]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('writes a batch as one conditional put per event, in parallel, and answers {data}', async () => {
    ddb.on(PutCommand).resolves({});
    const body = { events: [0, 1, 2].map((i) => ({ ...event, id: `b-${i}` })) };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    expect(parse(result).data.map((e: { id: string }) => e.id)).toEqual(['b-0', 'b-1', 'b-2']);
    expect(ddb.calls()).toHaveLength(3);
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts.every((p) => p.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
  });

  it('answers 503 with Retry-After when DynamoDB keeps throttling', async () => {
    const throttled = Object.assign(new Error('slow down'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    ddb.on(PutCommand).rejects(throttled);
    const result = await handler(apiEvent('POST /v1/events', { body: event, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('1');
    expect(result.body).not.toContain('slow down');
  });

  it('refuses a body that is not valid UTF-8 instead of repairing it', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"action":"a.b","actor":{"id":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const request = {
      ...apiEvent('POST /v1/events', { auth: writer }),
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    };
    const result = await handler(request, lambdaContext);
    expect(result.statusCode).toBe(400);
    expect(parse(result).type).toBe('/problems/malformed-json');
    expect(ddb.calls()).toHaveLength(0);
  });

  it.each([
    ['malformed JSON', { rawBody: '{"action":', auth: writer }, 400],
    [
      'a body over 1 MiB',
      { rawBody: JSON.stringify({ ...event, metadata: { x: 'y'.repeat(1024 * 1024) } }), auth: writer },
      413,
    ],
    ['no credentials', { body: event }, 401],
    ['a key without events:write', { body: event, auth: keyContext('events:read') }, 403],
    ['the operator key', { body: event, auth: { kind: 'operator' as const } }, 403],
    [
      'metadata nested 5,000 levels deep',
      {
        rawBody: `{"action":"a.b","actor":{"id":"u"},"metadata":{"d":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
        auth: writer,
      },
      400,
    ],
    [
      'a lone surrogate in a string',
      { rawBody: '{"action":"a.b","actor":{"id":"x\\ud800"}}', auth: writer },
      400,
    ],
    [
      'a lone surrogate in a key',
      { rawBody: '{"action":"a.b","actor":{"id":"x"},"metadata":{"\\udc00":1}}', auth: writer },
      400,
    ],
    ['an unavailable authorizer dependency', { body: event, auth: { kind: 'unavailable' as const } }, 503],
  ])('refuses %s with problem+json and stores nothing', async (_name, options, status) => {
    const result = await handler(apiEvent('POST /v1/events', options), lambdaContext);
    expect(result.statusCode).toBe(status);
    expect(parse(result)).toMatchObject({ status, type: expect.stringMatching(/^\/problems\//) });
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('POST /v1/events request bodies', () => {
  const post = (options: Parameters<typeof apiEvent>[1]) =>
    handler(apiEvent('POST /v1/events', { auth: writer, ...options }), lambdaContext);

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/jsonp',
    'text/json',
    'application/json-seq',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    '',
  ])('refuses a JSON body sent as %j with 415', async (type) => {
    const result = await post({ body: event, headers: { 'content-type': type } });
    expect(result.statusCode).toBe(415);
    expect(parse(result)).toMatchObject({ status: 415, type: '/problems/unsupported-media-type' });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('refuses a body without a Content-Type with 415', async () => {
    const request = apiEvent('POST /v1/events', { body: event, auth: writer });
    delete request.headers['content-type'];
    const result = await handler(request, lambdaContext);
    expect(result.statusCode).toBe(415);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('refuses a repeated Content-Type with 400', async () => {
    const result = await post({
      body: event,
      headers: { 'content-type': 'application/json,application/json' },
    });
    expect(result.statusCode).toBe(400);
    expect(ddb.calls()).toHaveLength(0);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;Charset="UTF-8"'])(
    'accepts %j',
    async (type) => {
      ddb.on(PutCommand).resolves({});
      const result = await post({ body: event, headers: { 'content-type': type } });
      expect(result.statusCode).toBe(201);
    },
  );

  it.each([
    ['an integer beyond 2^53 - 1', '{"amount":12345678901234567890123}', 'metadata.amount'],
    ['2^53 + 1', '{"amount":9007199254740993}', 'metadata.amount'],
    ['a number beyond a double', '{"x":[1,1e400]}', 'metadata.x[1]'],
    ['more precision than a double', '{"x":{"y":0.1000000000000000055511151231257827}}', 'metadata.x.y'],
    ['a number too small for a double', '{"x":1e-400}', 'metadata.x'],
  ])('refuses %s with 400 naming the field, storing nothing', async (_name, metadata, field) => {
    const rawBody = `{"action":"a.b","actor":{"id":"u"},"metadata":${metadata}}`;
    const result = await post({ rawBody });
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors).toEqual([
      expect.objectContaining({ field, message: expect.stringContaining('send it as a string') }),
    ]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('names the batch index of an inexact number', async () => {
    const ok = '{"action":"a.b","actor":{"id":"u"}}';
    const rawBody = `{"events":[${ok},${ok},{"action":"a.b","actor":{"id":"u"},"metadata":{"x":12345678901234567890}}]}`;
    const result = await post({ rawBody });
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors).toEqual([
      expect.objectContaining({ field: 'events[2].metadata.x', index: 2 }),
    ]);
  });

  it('keeps numbers a double holds exactly, whatever their spelling', async () => {
    ddb.on(PutCommand).resolves({});
    const metadata =
      '{"a":9007199254740991,"b":1.50,"c":1e2,"d":0.30000000000000004,"e":-0.0,"f":"12345678901234567890"}';
    const result = await post({ rawBody: `{"action":"a.b","actor":{"id":"u"},"metadata":${metadata}}` });
    expect(result.statusCode).toBe(201);
    expect(parse(result).metadata).toEqual({
      a: 9007199254740991,
      b: 1.5,
      c: 100,
      d: 0.30000000000000004,
      e: 0,
      f: '12345678901234567890',
    });
  });

  it('bounds the error answer: 50,000 unknown fields give the first 100 and a count', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 1]));
    const result = await post({ body: { ...event, ...unknown } });
    expect(result.statusCode).toBe(400);
    expect(Buffer.byteLength(result.body ?? '')).toBeLessThan(16 * 1024);
    const body = parse(result);
    expect(body.errors).toHaveLength(100);
    expect(body.errors[0]).toEqual({ field: 'k0', message: 'unknown field' });
    expect(body.error_count).toBe(50_000);
    expect(body.detail).toMatch(/first 100 of 50000/);
  });

  it('cuts a field named after a huge unknown key', async () => {
    const result = await post({ body: { ...event, ['x'.repeat(100_000)]: 1 } });
    expect(result.statusCode).toBe(400);
    expect(Buffer.byteLength(result.body ?? '')).toBeLessThan(2 * 1024);
  });
});

describe('POST /v1/events handler: the action registry', () => {
  const registryPuts = () =>
    ddb
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.TableName === 'control-test');

  it('registers a new action, in the tenant and in the event’s team, with a conditional PutItem after the event', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T12:00:00Z'), toFake: ['Date'] });
    ddb.on(PutCommand).resolves({});
    const body = { id: 'reg-1', action: 'registry.first_seen', actor: { id: 'u1' }, team_id: 'team_a' };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input.TableName)).toEqual([
      'events-test',
      'control-test',
      'control-test',
    ]);
    const registration = (pk: string) => ({
      TableName: 'control-test',
      Item: {
        pk,
        sk: 'ACTION#registry.first_seen',
        action: 'registry.first_seen',
        first_seen_at: '2026-11-21T12:00:00.000Z',
      },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
    expect(registryPuts()).toEqual([
      registration(`ACTIONS#${TENANT}`),
      registration(`ACTIONS#${TENANT}#TEAM#team_a`),
    ]);
  });

  it('registers an action once per container: the next events with it write only themselves', async () => {
    ddb.on(PutCommand).resolves({});
    const body = (id: string) => ({ id, action: 'registry.busy', actor: { id: 'u1' } });
    await handler(apiEvent('POST /v1/events', { body: body('busy-1'), auth: writer }), lambdaContext);
    expect(registryPuts()).toHaveLength(1);
    ddb.resetHistory();
    const batch = { events: [body('busy-2'), body('busy-3')] };
    const result = await handler(apiEvent('POST /v1/events', { body: batch, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input.TableName)).toEqual([
      'events-test',
      'events-test',
    ]);
  });

  it('takes an action another writer registered first (condition failed) as registered', async () => {
    ddb.on(PutCommand, { TableName: 'events-test' }).resolves({});
    ddb
      .on(PutCommand, { TableName: 'control-test' })
      .rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    const body = { id: 'race-1', action: 'registry.raced', actor: { id: 'u1' } };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    ddb.resetHistory();
    await handler(
      apiEvent('POST /v1/events', { body: { ...body, id: 'race-2' }, auth: writer }),
      lambdaContext,
    );
    expect(registryPuts()).toHaveLength(0);
  });

  it('still answers 201 when the registry cannot be written, and tries again with the next event', async () => {
    ddb.on(PutCommand, { TableName: 'events-test' }).resolves({});
    ddb
      .on(PutCommand, { TableName: 'control-test' })
      .rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    const body = { id: 'down-1', action: 'registry.unavailable', actor: { id: 'u1' } };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    ddb.reset();
    ddb.on(PutCommand).resolves({});
    await handler(
      apiEvent('POST /v1/events', { body: { ...body, id: 'down-2' }, auth: writer }),
      lambdaContext,
    );
    expect(registryPuts().map((input) => input.Item?.sk)).toEqual(['ACTION#registry.unavailable']);
  });
});

describe('POST /v1/events handler: the kind registry', () => {
  const kindUpdates = () =>
    ddb
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input)
      .filter((input) => String(input.Key?.pk).startsWith('KINDS#'));

  it("registers a new kind and the actor's lower-cased email with UpdateItems before the event's PutItem", async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T12:00:00Z'), toFake: ['Date'] });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const body = {
      id: 'kind-1',
      action: 'kinds.first_seen',
      actor: { id: 'user_k', type: 'user', email: 'Kay@Example.com' },
      status: 'success',
    };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    const id = kindId({ action: 'kinds.first_seen', status: 'success', actor_type: 'user' });
    expect(kindUpdates().map((input) => input.Key)).toEqual([
      { pk: `KINDS#${TENANT}`, sk: `KIND#${id}` },
      { pk: `KINDS#${TENANT}`, sk: 'EMAIL#kay@example.com user_k' },
    ]);
    const order = ddb.calls().map((call) => (call.args[0].input as { TableName?: string }).TableName);
    expect(order.indexOf('events-test')).toBeGreaterThan(order.indexOf('control-test'));
  });

  it('answers 503 and stores nothing when the kind cannot be registered, then registers it with the retry', async () => {
    ddb.on(PutCommand).resolves({});
    ddb
      .on(UpdateCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    const body = { id: 'kind-down-1', action: 'kinds.unavailable', actor: { id: 'u1' } };
    const result = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(503);
    expect(ddb.commandCalls(PutCommand).filter((c) => c.args[0].input.TableName === 'events-test')).toEqual(
      [],
    );
    ddb.reset();
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const retried = await handler(apiEvent('POST /v1/events', { body, auth: writer }), lambdaContext);
    expect(retried.statusCode).toBe(201);
    expect(kindUpdates()).toHaveLength(1);
  });

  it('registers a kind once per container: the next events of it write no registry item', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const body = (id: string) => ({ id, action: 'kinds.busy', actor: { id: 'u1' } });
    await handler(apiEvent('POST /v1/events', { body: body('kb-1'), auth: writer }), lambdaContext);
    expect(kindUpdates()).toHaveLength(1);
    ddb.resetHistory();
    await handler(
      apiEvent('POST /v1/events', { body: { events: [body('kb-2'), body('kb-3')] }, auth: writer }),
      lambdaContext,
    );
    expect(kindUpdates()).toHaveLength(0);
  });
});
