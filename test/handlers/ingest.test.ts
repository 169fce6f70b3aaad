import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromItem } from '#shared/adapters/event-store.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
type Handler = typeof import('#functions/ingest.ts').handler;
let handler: Handler;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/ingest.ts'));
});

afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
});

const writer = keyContext('events:write');
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
    const calls = ddb.commandCalls(PutCommand);
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
        action_pk: `${TENANT}#0#member.role_changed`,
        action_category_pk: `${TENANT}#0#member`,
        expires_at: Date.parse('2027-02-19T12:00:00Z') / 1000,
      },
    });
    expect(put?.Item?.doc).toBeInstanceOf(Uint8Array);
    const stored = fromItem(put?.Item ?? {});
    expect(stored.metadata).toEqual({ password: '[REDACTED]', to: 'admin' });
    expect(parse(result)).toEqual(stored);
    expect(parse(result)).toMatchObject({ id: 'evt-1', tenant_id: TENANT });
  });

  it('answers a replayed id with the stored event and 200, writing nothing new', async () => {
    ddb.on(PutCommand).resolves({});
    const first = parse(
      await handler(apiEvent('POST /v1/events', { body: event, auth: writer }), lambdaContext),
    );
    const storedItem = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item ?? {};
    ddb.reset();
    ddb.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'exists',
        $metadata: {},
        Item: marshall(storedItem, { removeUndefinedValues: true }),
      }),
    );
    const result = await handler(
      apiEvent('POST /v1/events', { body: { ...event, action: 'other.thing' }, auth: writer }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toEqual(first);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
  });

  it('stores the new part of a partly replayed batch and answers the rest from storage', async () => {
    ddb.on(PutCommand).resolves({});
    await handler(
      apiEvent('POST /v1/events', { body: { events: [{ ...event, id: 'r-0' }] }, auth: writer }),
      lambdaContext,
    );
    const firstItem = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item ?? {};
    ddb.reset();
    ddb.on(PutCommand).resolves({});
    ddb.on(PutCommand, { Item: { pk: `${TENANT}#r-0` } }).rejects(
      new ConditionalCheckFailedException({
        message: 'exists',
        $metadata: {},
        Item: marshall(firstItem, { removeUndefinedValues: true }),
      }),
    );
    const retry = { events: [0, 1, 2].map((i) => ({ ...event, id: `r-${i}` })) };
    const result = await handler(apiEvent('POST /v1/events', { body: retry, auth: writer }), lambdaContext);
    expect(result.statusCode).toBe(201);
    expect(parse(result).data.map((e: { id: string }) => e.id)).toEqual(['r-0', 'r-1', 'r-2']);
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk)).toEqual(
      expect.arrayContaining([`${TENANT}#r-0`, `${TENANT}#r-1`, `${TENANT}#r-2`]),
    );
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
