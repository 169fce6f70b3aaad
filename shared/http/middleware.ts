/**
 * The HTTP adapter every HTTP function is built from: the observability wrapper of every handler
 * (shared/observability/handler.ts) around a middy chain that parses and bounds the JSON body,
 * dispatches on the API Gateway route key to the function's route handlers (one per route the
 * manifest gives it: the map is typed by its route keys, and each handler's path parameters by its
 * route), maps typed errors to problem+json in one place, and logs one line per request (ids,
 * route, the status the client received, counts — never payloads).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import { ENV } from '../config/env.ts';
import type { HttpFunctionName } from '../config/manifest.ts';
import { type PathParams, pathParamNames, type RouteKeyOf } from '../config/routes.ts';
import { type Permission, WHOLE_WORKSPACE_ROLES } from '../domain/people.ts';
import { fromAuthorizerContext, type Principal, type Scope } from '../domain/principal.ts';
import {
  BadRequestError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  PayloadTooLargeError,
  RoleNotPermittedError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors.ts';
import {
  createTelemetry,
  type KindContract,
  type ObservedHandler,
  observe,
  type Telemetry,
} from '../observability/handler.ts';
import type { Reader } from '../usecases/events.ts';
import { classifyContentType, inexactNumberPaths } from './json-body.ts';
import { type HttpResult, problem } from './responses.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

export type ApiEvent = KindContract['http']['event'];

/** One request as a route handler sees it; `K` is its route key. */
export interface ApiRequest<K extends string = string> {
  routeKey: K;
  principal: Principal | null;
  body: unknown;
  query: Record<string, string>;
  /** The route's path parameters, each present and non-empty (the route would not have matched otherwise). */
  params: PathParams<K>;
  /**
   * Base of every link the service hands out: the deployment's configured public URL (never a
   * request header such as Host or X-Forwarded-Host), or '' (links are paths) when none is set.
   */
  baseUrl: string;
  requestId: string;
  /** The request's `Accept` header, when it sent one (e.g. the console asks for JSON rather than a redirect). */
  accept?: string;
  /** Adds fields to this request's access log line (counts and ids only). */
  annotate(fields: Record<string, string | number | boolean>): void;
}

export type RouteHandler<K extends string = string> = (request: ApiRequest<K>) => Promise<HttpResult>;

/** Exactly one handler per route key of `K`. */
export type RouteHandlers<K extends string> = { readonly [P in K]: RouteHandler<P> };

const THROTTLE_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TransactionConflictException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  // The SDK's requestTimeout or an aborted socket.
  'AbortError',
]);

/** Network failures on the way to a dependency (DNS, routing, a dropped connection). */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Dependency failures a client should retry (throttling, outages, timeouts). */
const isRetryableDependencyError = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  const { $metadata, $retryable, code } = error as {
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    code?: string;
  };
  const status = $metadata?.httpStatusCode ?? 0;
  return (
    THROTTLE_ERRORS.has(error.name) ||
    status >= 500 ||
    status === 429 ||
    $retryable !== undefined ||
    (code !== undefined && NETWORK_ERRORS.has(code))
  );
};

/** The configured public URL without a trailing slash; '' when none is configured. */
export const publicBaseUrl = (): string => (process.env[ENV.publicUrl] ?? '').trim().replace(/\/+$/, '');

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Deeper than anything the API accepts; bounds every walk over a body. */
const MAX_BODY_DEPTH = 64;

/**
 * Checks a parsed body without recursion: nesting depth bounded, and every string and key
 * well-formed Unicode (a lone surrogate cannot be canonicalised, hashed or stored faithfully).
 */
const checkParsedBody = (value: unknown): void => {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current === 'string') {
      if (!current.isWellFormed())
        throw new BadRequestError('The request body holds a malformed Unicode string.', 'malformed-json');
    } else if (current !== null && typeof current === 'object') {
      if (depth >= MAX_BODY_DEPTH)
        throw new BadRequestError(`The request body nests deeper than ${MAX_BODY_DEPTH} levels.`);
      for (const [key, child] of Object.entries(current)) {
        if (!key.isWellFormed())
          throw new BadRequestError('The request body holds a malformed Unicode key.', 'malformed-json');
        stack.push([child, depth + 1]);
      }
    }
  }
};

/** A field's batch index when its path is inside the `{"events": [...]}` envelope. */
const batchIndexOf = (path: string): number | undefined => {
  const match = /^events\[(\d+)\]/.exec(path);
  return match === null ? undefined : Number(match[1]);
};

/**
 * The body as JSON: bounded in size, sent as `application/json` (415 otherwise), valid UTF-8
 * JSON, and holding only numbers a double keeps exactly (400 naming each other one).
 */
const decodeBody = (event: ApiEvent): unknown => {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  const mediaType = classifyContentType(event.headers?.['content-type']);
  if (mediaType === 'several') throw new BadRequestError('The request carries more than one Content-Type.');
  if (mediaType !== 'json') throw new UnsupportedMediaTypeError();
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(raw);
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequestError('The request body is not valid JSON (UTF-8).', 'malformed-json');
  }
  checkParsedBody(parsed);
  const inexact = inexactNumberPaths(text);
  if (inexact.length > 0) {
    throw new ValidationError(
      inexact.map((field) => {
        const index = batchIndexOf(field);
        return {
          field,
          message:
            'is a number JSON cannot carry exactly (an integer beyond ±9007199254740991, or more digits or range than a 64-bit float holds); send it as a string',
          ...(index === undefined ? {} : { index }),
        };
      }),
    );
  }
  return parsed;
};

/** The HTTP error an error answers as: typed errors keep their status, dependency failures are 503, the rest a bare 500. */
const asHttpError = (error: unknown): HttpError => {
  if (error instanceof HttpError) return error;
  if (isRetryableDependencyError(error)) return new ServiceUnavailableError();
  return new HttpError(500, 'internal-error', 'Internal error', 'Something went wrong on our side.');
};

/** Maps any error to a problem+json response (see asHttpError); logs what was not a typed error. */
const problemErrors = (logger: Logger): MiddlewareObj<ApiEvent, HttpResult> => ({
  onError: async (request) => {
    const error = request.error;
    const mapped = asHttpError(error);
    // Error names and messages of dependencies only; never a request body.
    if (mapped.status === 503 && !(error instanceof HttpError)) {
      logger.warn('dependency unavailable', { error: error?.name, reason: error?.message });
    } else if (mapped.status === 500) {
      logger.error('unhandled error', { error: error?.name, reason: error?.message, stack: error?.stack });
    }
    const response = problem(mapped, request.event.requestContext?.requestId);
    if (mapped.status === 503 || mapped.status === 429) {
      const seconds =
        mapped instanceof TooManyRequestsError ? Math.max(1, Math.ceil(mapped.retryAfterSeconds)) : 1;
      response.headers = { ...response.headers, 'retry-after': String(seconds) };
    }
    request.response = response;
  },
});

/** The values of `routeKey`'s path parameters; a missing or empty one means no route matched (404). */
const pathParams = (routeKey: string, event: ApiEvent): Record<string, string> => {
  const params: Record<string, string> = {};
  for (const name of pathParamNames(routeKey)) {
    const value = event.pathParameters?.[name];
    if (value === undefined || value === '') throw new NotFoundError('No such route.');
    params[name] = value;
  }
  return params;
};

/**
 * The handler of HTTP function `name`: `routes` holds one route handler per route the manifest
 * gives the function, no more, no fewer (anything else does not compile).
 */
export const createApiHandler = <N extends HttpFunctionName>(
  _name: N,
  routes: RouteHandlers<RouteKeyOf<N>>,
  telemetry: Telemetry = createTelemetry(),
): ObservedHandler<ApiEvent, HttpResult> => apiHandler(routes, telemetry);

/** The HTTP adapter around any route map (createApiHandler types it by the manifest; the middleware's own tests use it). */
export const apiHandler = <K extends string>(
  routes: RouteHandlers<K>,
  telemetry: Telemetry = createTelemetry(),
): ObservedHandler<ApiEvent, HttpResult> => {
  const { logger } = telemetry;
  const dispatch = async (event: ApiEvent): Promise<HttpResult> => {
    const started = Date.now();
    const routeKey = event.routeKey as K;
    const route: RouteHandler<K> | undefined = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
    const fields: Record<string, string | number | boolean> = { route: event.routeKey };
    try {
      if (route === undefined) throw new NotFoundError('No such route.');
      const verdict = event.requestContext.authorizer?.lambda;
      if (verdict?.kind === 'unavailable') throw new ServiceUnavailableError();
      if (verdict?.kind === 'throttled') {
        if (verdict.tenantId !== undefined) fields.tenant_id = String(verdict.tenantId);
        throw new TooManyRequestsError(Number(verdict.retryAfter ?? 1));
      }
      const principal = fromAuthorizerContext(event.requestContext.authorizer?.lambda);
      // Behind the authorizer, refuse unknown credentials before looking at the body.
      if (principal === null && event.requestContext.authorizer !== undefined) throw new UnauthorizedError();
      if (principal?.kind === 'key')
        Object.assign(fields, { tenant_id: principal.tenantId, key_id: principal.keyId });
      if (principal?.kind === 'person')
        Object.assign(fields, {
          tenant_id: principal.tenantId,
          user_id: principal.person.id,
          session_id: principal.sessionId,
          role: principal.role,
        });
      const result = await route({
        routeKey,
        principal,
        body: decodeBody(event),
        query: Object.fromEntries(
          Object.entries(event.queryStringParameters ?? {}).filter(
            (e): e is [string, string] => e[1] !== undefined,
          ),
        ),
        params: pathParams(routeKey, event) as PathParams<K>,
        baseUrl: publicBaseUrl(),
        requestId: event.requestContext.requestId,
        ...(event.headers?.accept === undefined ? {} : { accept: event.headers.accept }),
        annotate: (more) => Object.assign(fields, more),
      });
      fields.status = result.statusCode;
      return result;
    } catch (error) {
      // The status problemErrors answers with: what the client receives.
      fields.status = asHttpError(error).status;
      throw error;
    } finally {
      logger.info('request', { ...fields, ms: Date.now() - started });
    }
  };
  return observe(telemetry, dispatch, problemErrors(logger));
};

/** The calling tenant key, holding one of `scopes`; 401 for no or bad credentials, 403 without the scope. */
export const requireKey = (
  request: ApiRequest,
  ...scopes: [Scope, ...Scope[]]
): Extract<Principal, { kind: 'key' }> => {
  const principal = request.principal;
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind === 'person')
    throw new ForbiddenError('This endpoint needs a tenant API key; a viewer session cannot use it.');
  if (principal.kind !== 'key')
    throw new ForbiddenError('This endpoint needs a tenant API key, not the operator key.');
  if (!scopes.some((scope) => principal.scopes.includes(scope))) {
    throw new ForbiddenError(`This API key lacks the ${scopes.map((s) => `\`${s}\``).join(' or ')} scope.`);
  }
  return principal;
};

/** The operator; 401 for no or bad credentials, 403 for a tenant key. */
export const requireOperator = (request: ApiRequest): void => {
  if (request.principal === null) throw new UnauthorizedError();
  if (request.principal.kind !== 'operator') throw new ForbiddenError('Only the operator may do this.');
};

/** What a read route admits: keys holding one of `scopes`, people whose role has `permission`. */
export interface ReaderRequirement {
  scopes: readonly [Scope, ...Scope[]];
  permission: Permission;
  /** Only roles that see the whole workspace (digests reveal counts across every team). */
  wholeWorkspace?: boolean;
}

const PERMISSION_VERBS: Record<Permission, string> = { view: 'view', export: 'export' };

/**
 * The reader of a read route: a tenant key with one of the scopes (exactly as requireKey), or a
 * person whose role the tenant's access policy lets do `permission`. 401 without credentials; 403
 * for the operator, a key without the scope, or a person whose role may not (the route is not
 * theirs: unlike a resource they may not see, its existence is no secret).
 */
export const requireReader = (request: ApiRequest, need: ReaderRequirement): Reader => {
  const principal = request.principal;
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind === 'operator')
    throw new ForbiddenError(
      'This endpoint needs a tenant API key or a viewer session, not the operator key.',
    );
  if (principal.kind === 'key') return requireKey(request, ...need.scopes);
  if (!principal.permissions.includes(need.permission))
    throw new RoleNotPermittedError(
      `Your role (\`${principal.role}\`) may not ${PERMISSION_VERBS[need.permission]} this audit log.`,
    );
  if (need.wholeWorkspace && !WHOLE_WORKSPACE_ROLES.includes(principal.role))
    throw new ForbiddenError(
      `Your role (\`${principal.role}\`) sees only part of this audit log; this is for roles that see the whole workspace.`,
    );
  return principal;
};
