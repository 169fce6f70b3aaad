/**
 * The local HTTP gateway: route matching, payload 2.0 event building, and the request pipeline
 * (authorizer, handler, errors, limits) driven over HTTP with fake handler modules.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  buildAuthorizerEvent,
  buildHttpApiEvent,
  type Gateway,
  type IncomingRequest,
  matchRoute,
  parseQueryString,
  type RequestMeta,
  replyFromResult,
  startGateway,
} from '#infra/local/gateway.ts';
import { createLambdaContext } from '#infra/local/lambda.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { ROUTES, type RouteDefinition, type RouteKey } from '#shared/config/routes.ts';

/** A route outside the manifest, for the matcher alone. */
const route = (method: RouteDefinition['method'], path: string): RouteDefinition => ({
  key: `${method} ${path}` as RouteKey,
  method,
  path,
  fn: 'admin',
  authorized: true,
});

describe('route matcher', () => {
  it('matches a literal route of the route table', () => {
    const result = matchRoute('GET', '/health');
    expect(result).toEqual({ kind: 'match', route: ROUTES[0], pathParameters: {} });
  });

  it('extracts path parameters, percent-decoded', () => {
    const result = matchRoute('DELETE', '/v1/tenants/tnt%201/keys/key%2Fx');
    expect(result.kind).toBe('match');
    if (result.kind !== 'match') return;
    expect(result.route.path).toBe('/v1/tenants/{tenant_id}/keys/{key_id}');
    expect(result.pathParameters).toEqual({ tenant_id: 'tnt 1', key_id: 'key/x' });
  });

  it('answers method-not-allowed with the methods the path has', () => {
    expect(matchRoute('DELETE', '/v1/events')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['POST', 'GET'],
    });
  });

  it('does not match unknown paths, trailing slashes, empty or malformed parameters', () => {
    expect(matchRoute('GET', '/v2/events').kind).toBe('not-found');
    expect(matchRoute('GET', '/v1/events/').kind).toBe('not-found');
    expect(matchRoute('GET', '/v1/tenants//keys').kind).toBe('not-found');
    expect(matchRoute('GET', '/v1/events/%E0%A4%A').kind).toBe('not-found');
  });

  it('prefers a literal segment over a parameter, whatever the declaration order', () => {
    const routes = [route('GET', '/v1/things/{id}'), route('GET', '/v1/things/latest')];
    const result = matchRoute('GET', '/v1/things/latest', routes);
    expect(result.kind === 'match' && result.route.path).toBe('/v1/things/latest');
  });

  it('matches a greedy parameter across segments', () => {
    const result = matchRoute('GET', '/files/a/b%20c', [route('GET', '/files/{path+}')]);
    expect(result.kind === 'match' && result.pathParameters).toEqual({ path: 'a/b c' });
  });
});

describe('query string parser', () => {
  it('decodes, joins repeated keys with commas and keeps + as +', () => {
    expect(parseQueryString('action=a.b&action=c.d&from=2026-01-01T00:00:00+00:00&q=x%20y&flag')).toEqual({
      action: 'a.b,c.d',
      from: '2026-01-01T00:00:00+00:00',
      q: 'x y',
      flag: '',
    });
  });

  it('gives undefined for an empty query, as API Gateway omits the field', () => {
    expect(parseQueryString('')).toBeUndefined();
  });
});

const META: RequestMeta = {
  requestId: 'AbCdEfGhIjKlMnO=',
  traceId: 'Root=1-6a1b2c3d-000000000000000000000000',
  now: new Date('2026-11-21T09:05:07.123Z'),
};

const request = (overrides: Partial<IncomingRequest> = {}): IncomingRequest => ({
  method: 'GET',
  target: '/v1/events/evt_1?limit=5&action=a.b&action=c.d',
  rawHeaders: [
    'Host',
    '127.0.0.1:3000',
    'Authorization',
    'Bearer tk_1',
    'X-Multi',
    'one',
    'x-multi',
    'two',
    'Cookie',
    'a=1; b=2',
    'User-Agent',
    'curl/8.5',
  ],
  body: Buffer.alloc(0),
  sourceIp: '127.0.0.1',
  protocol: 'HTTP/1.1',
  ...overrides,
});

describe('HTTP API event builder (payload 2.0)', () => {
  const queryRoute = route('GET', '/v1/events/{id}');

  it('fills the top-level fields like API Gateway', () => {
    const event = buildHttpApiEvent(request(), queryRoute, { id: 'evt_1' }, META);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/events/{id}',
      rawPath: '/v1/events/evt_1',
      rawQueryString: 'limit=5&action=a.b&action=c.d',
      queryStringParameters: { limit: '5', action: 'a.b,c.d' },
      pathParameters: { id: 'evt_1' },
      cookies: ['a=1', 'b=2'],
      isBase64Encoded: false,
    });
    expect(event.body).toBeUndefined();
  });

  it('lower-cases header names, joins repeated ones and moves cookies out of the headers', () => {
    const { headers } = buildHttpApiEvent(request(), queryRoute, { id: 'evt_1' }, META);
    expect(headers).toMatchObject({
      authorization: 'Bearer tk_1',
      'x-multi': 'one,two',
      host: '127.0.0.1:3000',
    });
    expect(headers).not.toHaveProperty('cookie');
    expect(headers).not.toHaveProperty('Authorization');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-port']).toBe('3000');
    expect(headers['x-amzn-trace-id']).toBe(META.traceId);
  });

  it('builds the request context', () => {
    const { requestContext } = buildHttpApiEvent(request(), queryRoute, { id: 'evt_1' }, META);
    expect(requestContext).toEqual({
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: {
        method: 'GET',
        path: '/v1/events/evt_1',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'curl/8.5',
      },
      requestId: META.requestId,
      routeKey: 'GET /v1/events/{id}',
      stage: '$default',
      time: '21/Nov/2026:09:05:07 +0000',
      timeEpoch: META.now.getTime(),
    });
  });

  it('passes a JSON body as text and a binary body as base64', () => {
    const json = buildHttpApiEvent(
      request({
        target: '/x',
        rawHeaders: ['Content-Type', 'application/json'],
        body: Buffer.from('{"a":"é"}'),
      }),
      queryRoute,
      {},
      META,
    );
    expect(json).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });
    const binary = buildHttpApiEvent(
      request({
        target: '/x',
        rawHeaders: ['Content-Type', 'application/octet-stream'],
        body: Buffer.from([0, 255]),
      }),
      queryRoute,
      {},
      META,
    );
    expect(binary).toMatchObject({ body: 'AP8=', isBase64Encoded: true });
  });

  it('omits query, path parameters and cookies when there are none', () => {
    const event = buildHttpApiEvent(
      request({ target: '/health', rawHeaders: [] }),
      route('GET', '/health'),
      {},
      META,
    );
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('cookies');
  });

  it('derives the REQUEST authorizer event, with no identity source and the headers as received', () => {
    const event = buildHttpApiEvent(request(), queryRoute, { id: 'evt_1' }, META);
    const authorizerEvent = buildAuthorizerEvent(event);
    expect(authorizerEvent).toMatchObject({
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:us-east-1:000000000000:local/$default/GET/v1/events/evt_1',
      identitySource: [],
      routeKey: 'GET /v1/events/{id}',
      pathParameters: { id: 'evt_1' },
    });
    expect(authorizerEvent.headers?.authorization).toBe('Bearer tk_1');
  });
});

describe('Lambda context', () => {
  it('names the function and counts down from its timeout', () => {
    const startedAt = Date.now();
    const context = createLambdaContext('query', MANIFEST.query, startedAt);
    expect(context.functionName).toBe('trailkeeper-query');
    expect(context.memoryLimitInMB).toBe(String(MANIFEST.query.memoryMiB));
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    const remaining = context.getRemainingTimeInMillis();
    expect(remaining).toBeLessThanOrEqual(MANIFEST.query.timeoutSeconds * 1000);
    expect(remaining).toBeGreaterThan(MANIFEST.query.timeoutSeconds * 1000 - 1000);
  });
});

describe('handler result to HTTP reply', () => {
  it('decodes a base64 body and turns cookies into set-cookie', () => {
    const reply = replyFromResult({
      statusCode: 202,
      headers: { 'Content-Type': 'application/octet-stream' },
      cookies: ['a=1', 'b=2'],
      body: Buffer.from('bin').toString('base64'),
      isBase64Encoded: true,
    });
    expect(reply.status).toBe(202);
    expect(reply.headers).toEqual({
      'content-type': 'application/octet-stream',
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(reply.body.toString()).toBe('bin');
  });

  it('answers 200 JSON for a result without statusCode, as API Gateway infers', () => {
    const reply = replyFromResult({ ok: true } as never);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.body.toString()).toBe('{"ok":true}');
  });
});

describe('gateway pipeline', () => {
  let gateway: Gateway | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await gateway?.close();
    gateway = undefined;
  });

  type Module = { handler: (event: never, context: never) => Promise<unknown> };
  const start = async (modules: Record<string, Module>, maxBodyBytes?: number) => {
    const loads: string[] = [];
    const errors: unknown[] = [];
    gateway = await startGateway({
      loadModule: async (entry) => {
        loads.push(entry);
        const module = modules[entry];
        if (!module) throw new Error(`no fake for ${entry}`);
        return module;
      },
      onError: (error) => errors.push(error),
      ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    });
    return { url: gateway.url, loads, errors };
  };
  const echo: Module = {
    handler: async (event: { requestContext: unknown; pathParameters?: unknown }) => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestContext: event.requestContext, pathParameters: event.pathParameters }),
    }),
  };
  type Echoed = { requestContext: Record<string, unknown>; pathParameters?: Record<string, string> };
  const allow: Module = {
    handler: async () => ({
      isAuthorized: true,
      context: { kind: 'key', tenantId: 'tnt_1', scopes: 'admin' },
    }),
  };

  it('passes the authorizer context to the route handler as requestContext.authorizer.lambda', async () => {
    const { url } = await start({ [MANIFEST.authorizer.entry]: allow, [MANIFEST.admin.entry]: echo });
    const response = await fetch(`${url}/v1/tenants/tnt_1/keys`, { headers: { authorization: 'Bearer k' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('apigw-requestid')).toBeTruthy();
    const body = (await response.json()) as Echoed;
    expect(body.requestContext.authorizer).toEqual({
      lambda: { kind: 'key', tenantId: 'tnt_1', scopes: 'admin' },
    });
    expect(body.pathParameters).toEqual({ tenant_id: 'tnt_1' });
  });

  it('answers 403 {"message":"Forbidden"} when the authorizer refuses, without calling the route', async () => {
    const deny: Module = { handler: async () => ({ isAuthorized: false, context: { kind: 'anonymous' } }) };
    const { url, loads } = await start({ [MANIFEST.authorizer.entry]: deny, [MANIFEST.admin.entry]: echo });
    const response = await fetch(`${url}/v1/tenants/tnt_1`, { headers: { authorization: 'Bearer nope' } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
    expect(loads).toEqual([MANIFEST.authorizer.entry]);
  });

  it('calls the authorizer for a request without Authorization and passes its answer on', async () => {
    const seen: { headers: Record<string, string>; identitySource: string[] }[] = [];
    const anonymous: Module = {
      handler: async (event: { headers: Record<string, string>; identitySource: string[] }) => {
        seen.push(event);
        return { isAuthorized: true, context: { kind: 'anonymous' } };
      },
    };
    const { url, loads } = await start({
      [MANIFEST.authorizer.entry]: anonymous,
      [MANIFEST.admin.entry]: echo,
    });
    const response = await fetch(`${url}/v1/tenants/tnt_1`);
    expect(response.status).toBe(200);
    expect(loads).toEqual([MANIFEST.authorizer.entry, MANIFEST.admin.entry]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers).not.toHaveProperty('authorization');
    expect(seen[0]?.identitySource).toEqual([]);
    const body = (await response.json()) as Echoed;
    expect(body.requestContext.authorizer).toEqual({ lambda: { kind: 'anonymous' } });
  });

  it('gives unauthorized routes no authorizer and loads each module once', async () => {
    const { url, loads } = await start({ [MANIFEST.health.entry]: echo });
    for (let i = 0; i < 3; i++) {
      const body = (await (await fetch(`${url}/health`)).json()) as Echoed;
      expect(body.requestContext).not.toHaveProperty('authorizer');
    }
    expect(loads).toEqual([MANIFEST.health.entry]);
  });

  it('answers a bare 500 problem+json when a handler throws, leaking nothing', async () => {
    const boom: Module = {
      handler: async () => {
        throw new Error('secret internals at /srv/db');
      },
    };
    const { url, errors } = await start({ [MANIFEST.health.entry]: boom });
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect(text).not.toContain('secret internals');
    expect(JSON.parse(text)).toMatchObject({ status: 500, title: 'Internal server error' });
    expect(errors).toHaveLength(1);
  });

  it('answers 503 problem+json with Retry-After when the authorizer times out', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hanging: Module = { handler: () => new Promise(() => {}) };
    const { url, loads, errors } = await start({
      [MANIFEST.authorizer.entry]: hanging,
      [MANIFEST.admin.entry]: echo,
    });
    const pending = fetch(`${url}/v1/tenants/tnt_1`, { headers: { authorization: 'Bearer k' } });
    await vi.waitFor(() => expect(loads).toEqual([MANIFEST.authorizer.entry]));
    await vi.advanceTimersByTimeAsync(MANIFEST.authorizer.timeoutSeconds * 1000);
    const response = await pending;
    vi.useRealTimers();
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ type: '/problems/service-unavailable', status: 503 });
    expect(loads).toEqual([MANIFEST.authorizer.entry]);
    expect(String(errors[0])).toContain('function authorizer timed out after 5000 ms');
  });

  it('answers 503 problem+json with Retry-After when a handler times out', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hanging: Module = { handler: () => new Promise(() => {}) };
    const { url, loads } = await start({ [MANIFEST.health.entry]: hanging });
    const pending = fetch(`${url}/health`);
    await vi.waitFor(() => expect(loads).toEqual([MANIFEST.health.entry]));
    await vi.advanceTimersByTimeAsync(MANIFEST.health.timeoutSeconds * 1000);
    const response = await pending;
    vi.useRealTimers();
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
  });

  it('answers 413 problem+json for a body over the gateway limit', async () => {
    const { url } = await start({ [MANIFEST.authorizer.entry]: allow, [MANIFEST.ingest.entry]: echo }, 1024);
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: 'x'.repeat(1025),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ type: '/problems/payload-too-large', status: 413 });
  });

  it('answers 405 problem+json with an Allow header for a known path with another method', async () => {
    const { url } = await start({});
    const response = await fetch(`${url}/health`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});
