/**
 * HTTP API Lambda authorizer (simple responses). It always allows the request through with
 * the resolved principal — or `anonymous` — in its context, so the handlers answer 401/403/429
 * as problem+json (API Gateway's own deny would be a bare 403, and its identity-source check a
 * bare 401: the authorizer therefore has no identity source and API Gateway caches nothing).
 *
 * Instead, this instance keeps resolved credentials in memory for a few seconds
 * (`TRAILKEEPER_AUTH_CACHE_SECONDS`, keyed by the token's SHA-256, never the token), and enforces
 * each tenant's request rate (shared/usecases/rate-limit.ts) on every request, cached or not, for
 * keys and people alike. A viewer-session JWT is verified with the session key's public half only
 * (its revocations and the tenant's access policy are re-read at most every cache period, and a
 * cached session never outlives its token). Where the operator configures an identity provider
 * (ENV.oidcIssuer …), a JWT of that issuer is verified against the provider's keys instead and
 * then follows the same rules; keys the provider cannot serve make the request `unavailable` (503).
 */
import { createHash } from 'node:crypto';
import { dynamoDocumentClient, requiredEnv } from '#shared/adapters/clients.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { oidcVerifierFromEnv } from '#shared/adapters/oidc.ts';
import { DynamoRateCounterStore } from '#shared/adapters/rate-counter-store.ts';
import { operatorKey } from '#shared/adapters/secret-wiring.ts';
import { sessionVerifierFromEnv } from '#shared/adapters/session-keys.ts';
import { DynamoSessionStore } from '#shared/adapters/session-store.ts';
import { ENV } from '#shared/config/env.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { type AuthorizerContext, toAuthorizerContext } from '#shared/domain/principal.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { type Authenticated, authenticate, bearerToken } from '#shared/usecases/authenticate.ts';
import { RateLimiter } from '#shared/usecases/rate-limit.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;
const deps = {
  control: controlStore(),
  operatorKey,
  sessions: {
    verifier: sessionVerifierFromEnv(),
    store: new DynamoSessionStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable)),
    identityProvider: oidcVerifierFromEnv(),
  },
};
const limiter = new RateLimiter(
  new DynamoRateCounterStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable)),
  {
    onSyncError: (error) =>
      logger.warn('rate counter unavailable; admitting', {
        error: error instanceof Error ? error.name : 'Error',
      }),
  },
);

const MAX_CACHED = 5000;
const cache = new Map<string, { principal: Authenticated | null; until: number }>();

const cacheSeconds = (): number => Math.max(0, Number(process.env[ENV.authCacheSeconds] ?? 0) || 0);
const rateLimitsOn = (): boolean => process.env[ENV.rateLimits] !== 'off';

/** The principal for `token`, from this instance's cache while fresh, else from the store. */
const resolve = async (token: string | null, nowMs: number): Promise<Authenticated | null> => {
  const ttlMs = cacheSeconds() * 1000;
  if (token === null || ttlMs === 0) return authenticate(deps, token);
  const key = createHash('sha256').update(token).digest('base64url');
  const hit = cache.get(key);
  if (hit !== undefined && hit.until > nowMs) return hit.principal;
  const principal = await authenticate(deps, token);
  if (cache.size >= MAX_CACHED) cache.clear();
  // A person (session or identity provider) is cached no longer than their token lives.
  const until = Math.min(
    nowMs + ttlMs,
    principal?.kind === 'person' && 'expiresAtMs' in principal ? principal.expiresAtMs : Infinity,
  );
  cache.set(key, { principal, until });
  return principal;
};

/** The tenant's request rate for a key or a person; undefined for the operator and the anonymous. */
const rateOf = (principal: Authenticated | null): number | undefined =>
  principal !== null &&
  (principal.kind === 'key' || principal.kind === 'person') &&
  'rateLimitRps' in principal
    ? principal.rateLimitRps
    : undefined;

type Decision = { isAuthorized: boolean; context: AuthorizerContext };

/**
 * How long resolving a credential may take: a second short of the function's timeout. A store or
 * key service that hangs (no SDK call has a socket timeout of its own) would otherwise run the
 * authorizer out of time, and API Gateway answers a timed-out authorizer with a bare 500; past
 * this deadline the caller gets `unavailable` (503, retry) instead.
 */
export const RESOLVE_DEADLINE_MS = MANIFEST.authorizer.timeoutSeconds * 1_000 - 1_000;

const withinDeadline = <T>(work: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
};

export const handler = lambdaHandler('authorizer', telemetry, async (event): Promise<Decision> => {
  const token = bearerToken(event.headers?.[MANIFEST.authorizer.identityHeader] ?? event.identitySource?.[0]);
  const nowMs = Date.now();
  let principal: Authenticated | null;
  try {
    principal = await withinDeadline(resolve(token, nowMs), RESOLVE_DEADLINE_MS);
  } catch (error) {
    // The store or the secret could not be read: the caller should retry (503), not be told
    // its key is bad (401). Nothing is cached.
    logger.warn('authorizer dependency unavailable', {
      error: error instanceof Error ? error.name : 'Error',
    });
    return { isAuthorized: true, context: { kind: 'unavailable' } };
  }
  const rate = rateOf(principal);
  if (principal !== null && principal.kind !== 'operator' && rate !== undefined && rateLimitsOn()) {
    const decision = await limiter.check(principal.tenantId, rate, nowMs);
    if (!decision.allowed) {
      logger.info('throttled', {
        tenant_id: principal.tenantId,
        ...(principal.kind === 'key' ? { key_id: principal.keyId } : { session_id: principal.sessionId }),
      });
      return {
        isAuthorized: true,
        context: { kind: 'throttled', tenantId: principal.tenantId, retryAfter: decision.retryAfterSeconds },
      };
    }
  }
  const context = toAuthorizerContext(
    principal,
    token === null ? 'missing or malformed authorization header' : 'unknown or revoked credentials',
  );
  logger.info('authorized', {
    kind: context.kind,
    tenant_id: context.tenantId,
    key_id: context.keyId,
    session_id: context.sessionId,
  });
  return { isAuthorized: true, context };
});

/** Test hook: forget cached credentials. */
export const clearAuthorizerCache = (): void => cache.clear();
