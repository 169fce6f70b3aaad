/**
 * A local stand-in for the API Gateway HTTP API: routes requests with the one route table
 * (shared/config/routes.ts, from the manifest), runs the manifest's authorizer in front of
 * `authorized` routes, and
 * invokes the same handler modules Lambda runs with payload format 2.0 events and a Lambda
 * context. Route matching and event building are pure functions, exported for tests.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyResultV2,
  APIGatewayRequestAuthorizerEventV2,
} from 'aws-lambda';
import {
  type FunctionDefinition,
  type HttpMethod,
  localName,
  MANIFEST,
  theFunctionOfKind,
} from '#shared/config/manifest.ts';
import { ROUTES, type RouteDefinition } from '#shared/config/routes.ts';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import {
  HttpError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
} from '#shared/errors.ts';
import {
  CONSOLE_ASSET_PREFIX,
  CONSOLE_PAGE_PREFIX,
  EDGE_HEADERS,
  loadConsoleRequestFunction,
  readConsoleAsset,
} from './edge.ts';
import { listen } from './http-util.ts';
import { ACCOUNT_ID, type Invoker, importFromRepo, lambdaInvoker, REGION, TimeoutError } from './lambda.ts';

/** API Gateway's own request payload limit; the handlers enforce the (smaller) API limit. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const API_ID = 'local';
/** Seconds a client is told to wait after a function timed out (the handlers' own 503s say 1). */
export const TIMEOUT_RETRY_AFTER_SECONDS = 1;

// ---------------------------------------------------------------------------------------------
// Route matching

export type RouteResolution =
  | { kind: 'match'; route: RouteDefinition; pathParameters: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'not-found' };

/** Path parameters when `template` matches `rawPath`, else undefined. `{name+}` is greedy. */
const matchTemplate = (template: string, rawPath: string): Record<string, string> | undefined => {
  const wanted = template.split('/');
  const actual = rawPath.split('/');
  const params: Record<string, string> = {};
  for (const [i, segment] of wanted.entries()) {
    const param = /^\{([^}+]+)(\+?)\}$/.exec(segment);
    const value = actual[i];
    if (param === null) {
      if (segment !== value) return undefined;
      continue;
    }
    const [, name = '', greedy] = param;
    const raw = greedy ? actual.slice(i).join('/') : value;
    if (raw === undefined || raw === '') return undefined;
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      return undefined; // malformed percent-encoding cannot match anything
    }
    if (greedy) return params;
  }
  return wanted.length === actual.length ? params : undefined;
};

/** Literal segments beat `{param}`, which beats `{greedy+}`, left to right (API Gateway's rule). */
const specificity = (template: string): number[] =>
  template.split('/').map((segment) => (segment.endsWith('+}') ? 0 : segment.startsWith('{') ? 1 : 2));

const compareSpecificity = (a: number[], b: number[]): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (b[i] ?? -1) - (a[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
};

type Candidate = { route: RouteDefinition; pathParameters: Record<string, string> };

export const matchRoute = (
  method: string,
  rawPath: string,
  routes: readonly RouteDefinition[] = ROUTES,
): RouteResolution => {
  const candidates = routes
    .map((route) => ({ route, pathParameters: matchTemplate(route.path, rawPath) }))
    .filter((c): c is Candidate => c.pathParameters !== undefined);
  if (candidates.length === 0) return { kind: 'not-found' };
  const forMethod = candidates
    .filter((c) => c.route.method === method)
    .sort((a, b) => compareSpecificity(specificity(a.route.path), specificity(b.route.path)));
  const best = forMethod[0];
  if (best === undefined) {
    return { kind: 'method-not-allowed', allowed: [...new Set(candidates.map((c) => c.route.method))] };
  }
  return { kind: 'match', ...best };
};

// ---------------------------------------------------------------------------------------------
// Event building (payload format 2.0)

export interface IncomingRequest {
  readonly method: string;
  /** The request target as received: path and optional query string, not decoded. */
  readonly target: string;
  /** Alternating names and values, as Node's `IncomingMessage.rawHeaders`. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  /** e.g. `HTTP/1.1`. */
  readonly protocol: string;
}

/** Per-request values that are random or time-dependent, so the builders stay pure. */
export interface RequestMeta {
  readonly requestId: string;
  readonly traceId: string;
  readonly now: Date;
}

export const newRequestMeta = (now = new Date()): RequestMeta => ({
  // API Gateway's request ids look like `JKJaXmPLvHcESHA=`.
  requestId: randomBytes(11).toString('base64'),
  traceId: `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
  now,
});

const TEXT_TYPES =
  /^(text\/|application\/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|javascript|x-www-form-urlencoded|graphql)\b)/i;

/** Bodies of these media types arrive as UTF-8 text; anything else (or no type) as base64. */
export const isTextContentType = (contentType: string | undefined): boolean =>
  contentType !== undefined && TEXT_TYPES.test(contentType.trim());

const decodeComponent = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/**
 * API Gateway's `queryStringParameters`: decoded, repeated keys joined with a comma. A `+` stays
 * a `+` (it is not form encoding), which keeps `2024-01-01T00:00:00+00:00` intact.
 */
export const parseQueryString = (raw: string): Record<string, string> | undefined => {
  if (raw === '') return undefined;
  // No prototype: `__proto__` or `constructor` are parameters like any other.
  const params: Record<string, string> = Object.create(null);
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1));
    params[key] = Object.hasOwn(params, key) ? `${params[key]},${value}` : value;
  }
  return params;
};

const pad = (n: number): string => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `21/Nov/2026:21:18:03 +0000`, the format of `requestContext.time`. */
export const formatRequestTime = (date: Date): string =>
  `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
  `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;

export const buildHttpApiEvent = (
  request: IncomingRequest,
  route: RouteDefinition,
  pathParameters: Record<string, string>,
  meta: RequestMeta,
): APIGatewayProxyEventV2 => {
  const queryAt = request.target.indexOf('?');
  const rawPath = queryAt === -1 ? request.target : request.target.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.target.slice(queryAt + 1);

  // Lower-cased names, repeated headers joined with commas; cookies travel in `cookies` instead.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      );
    } else {
      headers[name] = name in headers ? `${headers[name]},${value}` : value;
    }
  }
  const host = headers.host ?? '127.0.0.1';
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = /:(\d+)$/.exec(host)?.[1] ?? '80';
  headers['x-amzn-trace-id'] = meta.traceId;

  const routeKey = route.key;
  const domainName = host.replace(/:\d+$/, '');
  const requestContext: APIGatewayEventRequestContextV2 = {
    accountId: ACCOUNT_ID,
    apiId: API_ID,
    domainName,
    domainPrefix: domainName.split('.')[0] ?? domainName,
    http: {
      method: request.method,
      path: rawPath,
      protocol: request.protocol,
      sourceIp: request.sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: meta.requestId,
    routeKey,
    stage: '$default',
    time: formatRequestTime(meta.now),
    timeEpoch: meta.now.getTime(),
  };

  const queryStringParameters = parseQueryString(rawQueryString);
  const hasBody = request.body.length > 0;
  // Text that is not valid UTF-8 is passed on as bytes, so the handler can refuse it rather
  // than see it silently repaired.
  const isBase64Encoded = hasBody && (!isTextContentType(headers['content-type']) || !isUtf8(request.body));
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext,
    ...(hasBody ? { body: request.body.toString(isBase64Encoded ? 'base64' : 'utf8') } : {}),
    isBase64Encoded,
  };
};

/**
 * The REQUEST authorizer event (payload 2.0) for a route event. The authorizer has no identity
 * source (infra/constructs/api.ts), so `identitySource` is empty and the authorizer reads the
 * Authorization header itself; API Gateway invokes it for every request, with or without one.
 */
export const buildAuthorizerEvent = (event: APIGatewayProxyEventV2): APIGatewayRequestAuthorizerEventV2 => {
  const { http } = event.requestContext;
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:${API_ID}/$default/${http.method}${http.path}`,
    identitySource: [],
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    cookies: event.cookies ?? [],
    headers: event.headers,
    ...(event.queryStringParameters ? { queryStringParameters: event.queryStringParameters } : {}),
    ...(event.pathParameters ? { pathParameters: event.pathParameters } : {}),
    requestContext: event.requestContext,
  };
};

// ---------------------------------------------------------------------------------------------
// The server

type RouteEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;
/** The HTTP API "simple response" of the authorizer. */
type AuthorizerDecision = { isAuthorized: boolean; context?: AuthorizerContext };

export interface AccessLogEntry {
  requestId: string;
  method: string;
  /** `GET /v1/events/{id}`, or `-` when no route matched. */
  routeKey: string;
  status: number;
  durationMs: number;
  /** How long the authorizer took, for authorized routes. */
  authorizerMs?: number;
}

export interface GatewayOptions {
  /** 0 or undefined = a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly routes?: readonly RouteDefinition[];
  /** Loads a handler module by its repo-relative entry. Default: dynamic import, cached. */
  readonly loadModule?: (entry: string) => Promise<unknown>;
  readonly maxBodyBytes?: number;
  /** Called once per request with ids and timings (never payloads). */
  readonly onRequest?: (entry: AccessLogEntry) => void;
  /**
   * Called when a handler throws, times out or returns garbage. The client gets a bare 500, or a
   * 503 with Retry-After when the function timed out.
   */
  readonly onError?: (error: unknown, context: { requestId: string; fn: string }) => void;
  /**
   * CloudFront's part in front of the API (edge.ts): the console's page paths go through its
   * CloudFront Function, and its assets are served from this built directory (console/build.ts).
   * Absent: no console assets (the page shell route still answers).
   */
  readonly consoleAssetsDir?: string;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface GatewayReply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const problemReply = (error: HttpError, extraHeaders: Record<string, string> = {}): GatewayReply => ({
  status: error.status,
  headers: { 'content-type': 'application/problem+json', ...extraHeaders },
  body: Buffer.from(
    JSON.stringify({
      type: `/problems/${error.slug}`,
      title: error.title,
      status: error.status,
      detail: error.message,
    }),
  ),
});

const internalError = (): GatewayReply =>
  problemReply(
    new HttpError(500, 'internal-error', 'Internal server error', 'The request could not be completed.'),
  );

/** Turns a handler result into a response the way API Gateway does (incl. the "no statusCode" shorthand). */
export const replyFromResult = (result: APIGatewayProxyResultV2): GatewayReply => {
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    // Not a structured result: API Gateway answers 200 with the value as a JSON body.
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const structured = result as Exclude<APIGatewayProxyResultV2, string>;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (structured.cookies && structured.cookies.length > 0) headers['set-cookie'] = structured.cookies;
  const raw = structured.body ?? '';
  return {
    status: structured.statusCode ?? 200,
    headers,
    body: Buffer.from(raw, structured.isBase64Encoded ? 'base64' : 'utf8'),
  };
};

/** Reads the body up to `limit` bytes; a longer body is drained (so the client sees our answer) and flagged. */
const readBody = (req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > limit }));
    req.on('error', reject);
  });

/**
 * A function that did not answer within its timeout. API Gateway would answer 500 (a function
 * error) or 503 (the integration's own 30 s limit); the service's contract is that a dependency
 * that does not answer in time is a 503 the client may retry, so the local gateway answers that.
 */
const timedOut = (): GatewayReply =>
  problemReply(new ServiceUnavailableError('The service did not answer in time; retry with backoff.'), {
    'retry-after': String(TIMEOUT_RETRY_AFTER_SECONDS),
  });

export const startGateway = async (options: GatewayOptions = {}): Promise<Gateway> => {
  const routes = options.routes ?? ROUTES;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const loadModule = options.loadModule ?? importFromRepo;
  const invokers = new Map<string, Invoker<unknown>>();
  const [authorizerName, authorizer] = theFunctionOfKind('authorizer');
  const consoleRequest = loadConsoleRequestFunction();

  /** Invokes a function like Lambda would (lambda.ts): its module loaded once, fresh context, bounded by its timeout. */
  const invoke = (name: string, fn: FunctionDefinition, event: unknown): Promise<unknown> => {
    let invoker = invokers.get(name);
    if (invoker === undefined) {
      invoker = lambdaInvoker<unknown>(name, fn, loadModule);
      invokers.set(name, invoker);
    }
    return invoker(event);
  };

  const dispatch = async (
    req: IncomingMessage,
    meta: RequestMeta,
    timings: { authorizerMs?: number },
  ): Promise<{ reply: GatewayReply; routeKey: string }> => {
    const { body, tooLarge } = await readBody(req, maxBodyBytes);
    if (tooLarge) return { reply: problemReply(new PayloadTooLargeError(maxBodyBytes)), routeKey: '-' };

    const method = req.method ?? 'GET';
    let target = req.url ?? '/';
    let rawPath = target.split('?')[0] ?? '/';
    // CloudFront's behaviours (edge.ts): the console's assets come from the bucket, its page
    // paths pass through the viewer-request function before they reach the API.
    if (rawPath.startsWith(CONSOLE_ASSET_PREFIX)) {
      const asset =
        options.consoleAssetsDir === undefined || (method !== 'GET' && method !== 'HEAD')
          ? undefined
          : await readConsoleAsset(options.consoleAssetsDir, rawPath);
      return {
        reply: asset ?? problemReply(new NotFoundError(`No asset ${rawPath}.`), EDGE_HEADERS),
        routeKey: '-',
      };
    }
    if (rawPath.startsWith(CONSOLE_PAGE_PREFIX)) {
      const query = target.slice(rawPath.length);
      rawPath = consoleRequest(method, rawPath);
      target = `${rawPath}${query}`;
    }
    const resolution = matchRoute(method, rawPath, routes);
    if (resolution.kind === 'not-found') {
      return { reply: problemReply(new NotFoundError(`No route for ${rawPath}.`)), routeKey: '-' };
    }
    if (resolution.kind === 'method-not-allowed') {
      const allow = resolution.allowed.join(', ');
      const error = new MethodNotAllowedError(`${method} is not allowed on ${rawPath}; use ${allow}.`);
      return { reply: problemReply(error, { allow }), routeKey: '-' };
    }

    const { route, pathParameters } = resolution;
    const { key: routeKey } = route;
    const request: IncomingRequest = {
      method,
      target,
      rawHeaders: req.rawHeaders,
      body,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      protocol: `HTTP/${req.httpVersion}`,
    };
    const event = buildHttpApiEvent(request, route, pathParameters, meta);
    const fail = (error: unknown, fn: string) => {
      options.onError?.(error, { requestId: meta.requestId, fn });
      return { reply: error instanceof TimeoutError ? timedOut() : internalError(), routeKey };
    };

    let routeEvent = event as RouteEvent; // unauthorized routes carry no `authorizer`, as in AWS
    if (route.authorized) {
      // No identity source: the authorizer runs for every request, with or without credentials,
      // and a request without them reaches the handler as anonymous (its problem+json 401).
      let decision: AuthorizerDecision | undefined;
      const authorizerStartedAt = performance.now();
      try {
        decision = (await invoke(
          localName(authorizerName),
          authorizer,
          buildAuthorizerEvent(event),
        )) as AuthorizerDecision;
      } catch (error) {
        return fail(error, localName(authorizerName));
      } finally {
        timings.authorizerMs = Math.round(performance.now() - authorizerStartedAt);
      }
      if (decision?.isAuthorized !== true) {
        const forbidden = { status: 403, headers: { 'content-type': 'application/json' } };
        return { reply: { ...forbidden, body: Buffer.from('{"message":"Forbidden"}') }, routeKey };
      }
      routeEvent = {
        ...event,
        requestContext: {
          ...event.requestContext,
          authorizer: { lambda: decision.context ?? { kind: 'anonymous' } },
        },
      };
    }

    const fn = localName(route.fn);
    try {
      const result = (await invoke(fn, MANIFEST[route.fn], routeEvent)) as APIGatewayProxyResultV2;
      return { reply: replyFromResult(result), routeKey };
    } catch (error) {
      return fail(error, fn);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const startedAt = performance.now();
    const meta = newRequestMeta();
    const timings: { authorizerMs?: number } = {};
    let outcome: { reply: GatewayReply; routeKey: string };
    try {
      outcome = await dispatch(req, meta, timings);
    } catch (error) {
      options.onError?.(error, { requestId: meta.requestId, fn: 'gateway' });
      outcome = { reply: internalError(), routeKey: '-' };
    }
    const { reply, routeKey } = outcome;
    res.writeHead(reply.status, {
      ...reply.headers,
      'apigw-requestid': meta.requestId,
      'content-length': String(reply.body.length),
    });
    res.end(reply.body);
    options.onRequest?.({
      requestId: meta.requestId,
      method: req.method ?? '-',
      routeKey,
      status: reply.status,
      durationMs: Math.round(performance.now() - startedAt),
      ...timings,
    });
  };

  const { server, port } = await listen(handle, options.port, options.host);
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
};
