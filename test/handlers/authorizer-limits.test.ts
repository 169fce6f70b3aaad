import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatToken, hashToken } from '#shared/domain/tenant.ts';
import { lambdaContext } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let authorizer: typeof import('#functions/authorizer.ts');

const TENANT = 'tnt_01jd0000000000000000000001';
const KEY = 'key_01jd0000000000000000000001';
const token = formatToken(TENANT, KEY, 'C'.repeat(43));
const keyItem = {
  pk: `TENANT#${TENANT}`,
  sk: `KEY#${KEY}`,
  id: KEY,
  tenant_id: TENANT,
  name: 'ingest',
  scopes: ['events:write'],
  secret_hash: hashToken(token),
  created_at: '2026-11-01T00:00:00Z',
};
const tenantItem = (rate: number | null) => ({
  pk: `TENANT#${TENANT}`,
  sk: 'TENANT',
  id: TENANT,
  name: 'A',
  plan: 'free',
  custom_retention_days: null,
  rate_limit_rps: rate,
  shards: 1,
});

const request = (authorization?: string) =>
  ({
    type: 'REQUEST',
    headers: authorization === undefined ? {} : { authorization },
  }) as unknown as APIGatewayRequestAuthorizerEventV2;

const mockKey = (rate: number | null) => {
  ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `KEY#${KEY}` } }).resolves({ Item: keyItem });
  ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem(rate) });
};

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_OPERATOR_KEY', 'operator-secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  authorizer = await import('#functions/authorizer.ts');
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  authorizer.clearAuthorizerCache();
});

afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
  vi.unstubAllEnvs();
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_OPERATOR_KEY', 'operator-secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});

/** One invocation, as API Gateway makes it. */
const authorize = (event: APIGatewayRequestAuthorizerEventV2) => authorizer.handler(event, lambdaContext);

describe('authorizer without an identity source', () => {
  it('answers a request without Authorization as anonymous (problem+json 401 downstream)', async () => {
    expect((await authorize(request())).context).toEqual({
      kind: 'anonymous',
      reason: 'missing or malformed authorization header',
    });
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('authorizer credential cache', () => {
  it('reads the store on every request when no cache is configured', async () => {
    mockKey(null);
    await authorize(request(`Bearer ${token}`));
    await authorize(request(`Bearer ${token}`));
    expect(ddb.commandCalls(GetCommand)).toHaveLength(4);
  });

  it('keeps a resolved key for the configured seconds, then reads it again', async () => {
    vi.stubEnv('TRAILKEEPER_AUTH_CACHE_SECONDS', '10');
    mockKey(null);
    vi.setSystemTime(new Date('2026-12-02T10:00:00.000Z'));
    await authorize(request(`Bearer ${token}`));
    vi.setSystemTime(new Date('2026-12-02T10:00:09.000Z'));
    await authorize(request(`Bearer ${token}`));
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    vi.setSystemTime(new Date('2026-12-02T10:00:10.500Z'));
    await authorize(request(`Bearer ${token}`));
    expect(ddb.commandCalls(GetCommand)).toHaveLength(4);
  });

  it('caches nothing when the store is down', async () => {
    vi.stubEnv('TRAILKEEPER_AUTH_CACHE_SECONDS', '10');
    ddb.on(GetCommand).rejects(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
    expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('unavailable');
    ddb.reset();
    mockKey(null);
    expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('key');
  });
});

describe('authorizer rate limit', () => {
  it('throttles a tenant over its limit with Retry-After, syncing the shared counter by ADD', async () => {
    mockKey(4);
    ddb
      .on(UpdateCommand)
      .callsFake((input) => ({ Attributes: { count: input.ExpressionAttributeValues[':n'] } }));
    vi.setSystemTime(new Date('2026-12-02T10:00:00.100Z'));
    const kinds: string[] = [];
    for (let i = 0; i < 6; i++)
      kinds.push(String((await authorize(request(`Bearer ${token}`))).context.kind));
    expect(kinds).toEqual(['key', 'key', 'key', 'key', 'throttled', 'throttled']);
    const throttled = await authorize(request(`Bearer ${token}`));
    expect(throttled.context).toEqual({ kind: 'throttled', tenantId: TENANT, retryAfter: 1 });
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.length).toBeLessThan(7);
    expect(updates[0]).toEqual({
      TableName: 'control-test',
      Key: { pk: `RATE#${TENANT}`, sk: `W#${Math.floor(Date.parse('2026-12-02T10:00:00.100Z') / 1000)}` },
      UpdateExpression: 'ADD #count :n SET #ttl = if_not_exists(#ttl, :ttl)',
      ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':n': 1,
        ':ttl': Math.floor(Date.parse('2026-12-02T10:00:00.100Z') / 1000) + 61,
      },
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('admits again in the next second', async () => {
    mockKey(1);
    vi.setSystemTime(new Date('2026-12-02T11:00:00.100Z'));
    expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('key');
    expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('throttled');
    vi.setSystemTime(new Date('2026-12-02T11:00:01.100Z'));
    expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('key');
  });

  it('never limits the operator, and can be switched off for raw-throughput runs', async () => {
    for (let i = 0; i < 50; i++)
      expect((await authorize(request('Bearer operator-secret'))).context.kind).toBe('operator');
    vi.stubEnv('TRAILKEEPER_RATE_LIMITS', 'off');
    mockKey(1);
    vi.setSystemTime(new Date('2026-12-02T12:00:00.100Z'));
    for (let i = 0; i < 5; i++)
      expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('key');
  });
});
