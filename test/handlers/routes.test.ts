import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MANIFEST } from '#shared/config/manifest.ts';
import { pathParamNames, ROUTES, type RouteKey } from '#shared/config/routes.ts';
import { createApiHandler } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { apiEvent, keyContext, lambdaContext } from './api-event.ts';

beforeAll(() => vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT'));
afterEach(() => vi.unstubAllEnvs());

const ok = async () => json(200, {});

describe('an HTTP function’s route handlers', () => {
  it('must name exactly its manifest routes, and read only their path parameters (npm run typecheck)', async () => {
    // Each @ts-expect-error fails the type check if the line below it ever compiles.
    // @ts-expect-error misses `GET /v1/events/{id}`
    const missing = createApiHandler('query', { 'GET /v1/events': ok });
    const misnamed = createApiHandler('query', {
      'GET /v1/events': ok,
      'GET /v1/feed': ok,
      // @ts-expect-error `GET /v1/event/{id}` is no route of `query`
      'GET /v1/event/{id}': ok,
    });
    const wrongParameter = createApiHandler('query', {
      'GET /v1/events': ok,
      'GET /v1/feed': ok,
      // @ts-expect-error `GET /v1/events/{id}` has no `tenant_id`
      'GET /v1/events/{id}': async (request) => json(200, { id: request.params.tenant_id }),
    });

    // What each would do if it shipped: the route it lacks answers 404.
    const get = apiEvent('GET /v1/events/{id}', { auth: keyContext('events:read'), params: { id: 'evt_1' } });
    expect((await missing(get, lambdaContext)).statusCode).toBe(404);
    expect((await misnamed(get, lambdaContext)).statusCode).toBe(404);
    expect(JSON.parse((await wrongParameter(get, lambdaContext)).body ?? '')).toEqual({});
  });

  it('get their path parameters, and never run without one', async () => {
    const seen: string[] = [];
    const handler = createApiHandler('admin', {
      'POST /v1/tenants': ok,
      'GET /v1/tenants/{tenant_id}': ok,
      'PATCH /v1/tenants/{tenant_id}': ok,
      'POST /v1/tenants/{tenant_id}/keys': ok,
      'GET /v1/tenants/{tenant_id}/keys': ok,
      'POST /v1/tenants/{tenant_id}/viewer-sessions': ok,
      'DELETE /v1/tenants/{tenant_id}/viewer-sessions': ok,
      'DELETE /v1/tenants/{tenant_id}/keys/{key_id}': async (request) => {
        seen.push(`${request.params.tenant_id}/${request.params.key_id}`);
        return json(200, {});
      },
    });
    const route = 'DELETE /v1/tenants/{tenant_id}/keys/{key_id}';
    const auth = { kind: 'operator' } as const;

    const full = await handler(
      apiEvent(route, { auth, params: { tenant_id: 't1', key_id: 'k1' } }),
      lambdaContext,
    );
    const partial = await handler(apiEvent(route, { auth, params: { tenant_id: 't1' } }), lambdaContext);

    expect(full.statusCode).toBe(200);
    expect(partial.statusCode).toBe(404);
    expect(seen).toEqual(['t1/k1']);
  });
});

describe('the route table', () => {
  it('holds each route key once, served by the http function whose manifest entry lists it', () => {
    const keys: RouteKey[] = ROUTES.map((route) => route.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const route of ROUTES) {
      const definition = MANIFEST[route.fn];
      expect(definition.kind, route.key).toBe('http');
      expect(definition.routes.map((spec) => spec.route) as string[], route.key).toContain(route.key);
      expect(`${route.method} ${route.path}`).toBe(route.key);
    }
  });

  it('names path parameters as API Gateway does, greedy ones included', () => {
    expect(pathParamNames('DELETE /v1/tenants/{tenant_id}/keys/{key_id}')).toEqual(['tenant_id', 'key_id']);
    expect(pathParamNames('GET /files/{proxy+}')).toEqual(['proxy']);
    expect(pathParamNames('GET /health')).toEqual([]);
  });
});
