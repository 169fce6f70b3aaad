import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiHandler } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { apiEvent, keyContext } from './api-event.ts';

const context = {} as never;
const handler = createApiHandler({
  'GET /v1/echo': async (request) => json(200, { baseUrl: request.baseUrl }),
});

beforeAll(() => vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT'));
afterEach(() => vi.unstubAllEnvs());

describe('links', () => {
  it('come from the configured public URL, never from Host or X-Forwarded-Host', async () => {
    vi.stubEnv('TRAILKEEPER_PUBLIC_URL', 'https://audit.example.com/');
    const result = await handler(
      apiEvent('GET /v1/echo', {
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
      apiEvent('GET /v1/echo', {
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
      apiEvent('GET /v1/echo', { auth: { kind: 'throttled', tenantId: 'tnt_x', retryAfter: 2 } }),
      context,
    );
    expect(result.statusCode).toBe(429);
    expect(result.headers).toMatchObject({ 'content-type': 'application/problem+json', 'retry-after': '2' });
    expect(JSON.parse(result.body ?? '')).toMatchObject({ type: '/problems/too-many-requests', status: 429 });
  });
});
