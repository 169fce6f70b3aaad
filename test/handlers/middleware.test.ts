import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { apiHandler, requireReader } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { apiEvent, keyContext } from './api-event.ts';

const context = {} as never;
const handler = apiHandler({
  'GET /v1/events': async (request) => json(200, { baseUrl: request.baseUrl }),
});

beforeAll(() => vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT'));
afterEach(() => vi.unstubAllEnvs());

describe('links', () => {
  it('come from the configured public URL, never from Host or X-Forwarded-Host', async () => {
    vi.stubEnv('TRAILKEEPER_PUBLIC_URL', 'https://audit.example.com/');
    const result = await handler(
      apiEvent('GET /v1/events', {
        auth: keyContext('events:read'),
        headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
      }),
      context,
    );
    expect(JSON.parse(result.body ?? '')).toEqual({ baseUrl: 'https://audit.example.com' });
  });

  it('are paths when no public URL is configured', async () => {
    vi.stubEnv('TRAILKEEPER_PUBLIC_URL', '');
    const result = await handler(
      apiEvent('GET /v1/events', {
        auth: keyContext('events:read'),
        headers: { 'x-forwarded-host': 'evil.example' },
      }),
      context,
    );
    expect(JSON.parse(result.body ?? '')).toEqual({ baseUrl: '' });
  });
});

describe('throttled requests', () => {
  it('answer 429 problem+json with the authorizer’s Retry-After, before the route runs', async () => {
    const result = await handler(
      apiEvent('GET /v1/events', { auth: { kind: 'throttled', tenantId: 'tnt_x', retryAfter: 2 } }),
      context,
    );
    expect(result.statusCode).toBe(429);
    expect(result.headers).toMatchObject({ 'content-type': 'application/problem+json', 'retry-after': '2' });
    expect(JSON.parse(result.body ?? '')).toMatchObject({ type: '/problems/too-many-requests', status: 429 });
  });
});

describe('dependency failures', () => {
  const failing = (error: unknown) =>
    apiHandler({
      'GET /v1/events': async () => {
        throw error;
      },
    });
  const named = (name: string, fields: Record<string, unknown> = {}) =>
    Object.assign(new Error('dependency failed'), { name, ...fields });

  it.each([
    [
      'a DynamoDB throttle',
      named('ProvisionedThroughputExceededException', { $metadata: { httpStatusCode: 400 } }),
    ],
    ['an HTTP 429 from any AWS service', named('SomeNewThrottle', { $metadata: { httpStatusCode: 429 } })],
    ['an error the SDK marks retryable', named('Whatever', { $retryable: { throttling: false } })],
    ['a 5xx answer', named('InternalFailure', { $metadata: { httpStatusCode: 502 } })],
    ['the SDK request timeout (aborted)', named('AbortError')],
    ['Secrets Manager throttling', named('TooManyRequestsException')],
    ['a DNS failure', named('Error', { code: 'ENOTFOUND' })],
    ['a temporary DNS failure', named('Error', { code: 'EAI_AGAIN' })],
    ['an unreachable host', named('Error', { code: 'EHOSTUNREACH' })],
    ['a broken pipe', named('Error', { code: 'EPIPE' })],
  ])('%s answers 503 problem+json with Retry-After', async (_, error) => {
    const result = await failing(error)(
      apiEvent('GET /v1/events', { auth: keyContext('events:read') }),
      context,
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('1');
    expect(result.headers?.['content-type']).toBe('application/problem+json');
  });

  it('a bug stays a 500 without a stack trace', async () => {
    const result = await failing(new TypeError('x is undefined'))(
      apiEvent('GET /v1/events', { auth: keyContext('events:read') }),
      context,
    );
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('TypeError');
    expect(result.body).not.toContain('x is undefined');
  });
});

describe('requireReader', () => {
  const person = (overrides: Record<string, string | number> = {}) => ({
    kind: 'person' as const,
    tenantId: 'tnt_1',
    userId: 'user_ada',
    role: 'team_admin',
    teams: 'team_a',
    permissions: 'view',
    sessionId: 'ses_1',
    ...overrides,
  });
  const reading = apiHandler({
    'GET /v1/events': async (request) => {
      const reader = requireReader(request, { scopes: ['events:read'], permission: 'view' });
      return json(200, { kind: reader.kind });
    },
    'POST /v1/exports': async (request) => {
      const reader = requireReader(request, { scopes: ['exports:write'], permission: 'export' });
      return json(200, { kind: reader.kind });
    },
    'GET /v1/integrity/digests': async (request) => {
      const reader = requireReader(request, {
        scopes: ['events:read'],
        permission: 'view',
        wholeWorkspace: true,
      });
      return json(200, { kind: reader.kind });
    },
  });
  const call = async (
    routeKey: 'GET /v1/events' | 'POST /v1/exports' | 'GET /v1/integrity/digests',
    auth: AuthorizerContext,
  ) => {
    const result = await reading(apiEvent(routeKey, { auth }), context);
    return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') };
  };

  it('admits a key with the scope and a person with the permission, typed by kind', async () => {
    expect(await call('GET /v1/events', keyContext('events:read'))).toEqual({
      status: 200,
      body: { kind: 'key' },
    });
    expect(await call('GET /v1/events', person())).toEqual({ status: 200, body: { kind: 'person' } });
  });

  it('refuses a key without the scope exactly as before (403 naming the scope)', async () => {
    const result = await call('GET /v1/events', keyContext('events:write'));
    expect(result.status).toBe(403);
    expect(result.body.detail).toContain('`events:read`');
  });

  it('refuses a person whose role may not (403 role-not-permitted, naming the role), and the operator', async () => {
    const viewerOnly = await call('POST /v1/exports', person({ permissions: 'view' }));
    expect(viewerOnly.status).toBe(403);
    expect(viewerOnly.body.detail).toBe('Your role (`team_admin`) may not export this audit log.');
    const nothing = await call('GET /v1/events', person({ role: 'guest', teams: '', permissions: '' }));
    expect(nothing.status).toBe(403);
    expect(nothing.body.detail).toContain('may not view');
    // Its own type: a page tells "your access was withdrawn" from any other refusal.
    expect([viewerOnly.body.type, nothing.body.type]).toEqual([
      '/problems/role-not-permitted',
      '/problems/role-not-permitted',
    ]);
    const operator = await call('GET /v1/events', { kind: 'operator' });
    expect([operator.status, operator.body.type]).toEqual([403, '/problems/forbidden']);
    expect((await call('GET /v1/events', { kind: 'anonymous' })).status).toBe(401);
  });

  it('keeps whole-workspace routes from a team admin, not from an auditor', async () => {
    expect((await call('GET /v1/integrity/digests', person())).status).toBe(403);
    expect((await call('GET /v1/integrity/digests', person({ role: 'auditor', teams: '' }))).status).toBe(
      200,
    );
    expect((await call('GET /v1/integrity/digests', keyContext('events:read'))).status).toBe(200);
  });
});
