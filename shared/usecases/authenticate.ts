/**
 * Resolves a bearer token to a principal: the operator key, an unrevoked API key whose hash
 * matches, or a viewer-session JWT that verifies (ES256 by a known key, issuer, audience, time),
 * is not revoked and names an existing tenant — each with its tenant's settings, a person with
 * the permissions of the tenant's CURRENT access policy. Returns null for anything else (the
 * caller answers 401).
 */
import { permissionsOf, policyOf } from '../domain/people.ts';
import type { PersonPrincipal, Principal } from '../domain/principal.ts';
import { effectiveRateLimitRps } from '../domain/rate-limit.ts';
import { effectiveRetentionDays } from '../domain/retention.ts';
import { isRevoked, looksLikeJwt } from '../domain/session-token.ts';
import { hashToken, parseToken, secretsEqual } from '../domain/tenant.ts';
import type { ControlStore } from './ports/control.ts';
import type { SessionStore, SessionVerifier } from './ports/sessions.ts';

/** The operator key during a rotation: the current value and, for a grace period, the one it replaced. */
export interface OperatorKeys {
  readonly current: string;
  readonly previous: string | null;
}

export interface AuthDeps {
  control: ControlStore;
  /** The operator key: one value, or its current and previous values (shared/adapters/secrets.ts). */
  operatorKey: () => Promise<string | OperatorKeys>;
  /** Viewer sessions: the token verifier (null: none configured, no session is accepted) and the revocations. */
  sessions?: { verifier: SessionVerifier | null; store: Pick<SessionStore, 'revocations'> };
}

/** A person, with what the authorizer needs besides the principal: the tenant's rate and the token's end. */
export type AuthenticatedPerson = PersonPrincipal & { rateLimitRps: number; expiresAtMs: number };

export type Authenticated = Principal | AuthenticatedPerson;

/**
 * Whether `token` is an accepted operator key. It is compared with every accepted value, so the
 * time taken does not tell which one matched.
 */
const isOperatorKey = (token: string, keys: string | OperatorKeys): boolean => {
  const accepted = typeof keys === 'string' ? [keys] : [keys.current, keys.previous ?? ''];
  return accepted.map((key) => key !== '' && secretsEqual(token, key)).includes(true);
};

export const bearerToken = (header: string | undefined): string | null => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? (match[1] as string) : null;
};

const authenticateSession = async (deps: AuthDeps, token: string): Promise<AuthenticatedPerson | null> => {
  if (deps.sessions === undefined || deps.sessions.verifier === null) return null;
  const claims = await deps.sessions.verifier.verify(token);
  if (claims === null) return null;
  const [tenant, revocations] = await Promise.all([
    deps.control.getTenant(claims.tid),
    deps.sessions.store.revocations(claims.tid, claims.sub),
  ]);
  if (tenant === null || isRevoked(claims.iat, revocations)) return null;
  return {
    kind: 'person',
    tenantId: tenant.id,
    person: {
      id: claims.sub,
      ...(claims.email === undefined ? {} : { email: claims.email }),
      ...(claims.name === undefined ? {} : { name: claims.name }),
    },
    role: claims.role,
    teamIds: claims.role === 'team_admin' ? (claims.teams ?? []) : [],
    sessionId: claims.jti,
    permissions: permissionsOf(claims.role, policyOf(tenant.access)),
    via: 'session',
    retentionDays: effectiveRetentionDays(tenant.plan, tenant.custom_retention_days),
    shards: tenant.shards,
    rateLimitRps: effectiveRateLimitRps(tenant.plan, tenant.rate_limit_rps),
    expiresAtMs: claims.exp * 1000,
  };
};

export const authenticate = async (deps: AuthDeps, token: string | null): Promise<Authenticated | null> => {
  if (token === null) return null;
  if (looksLikeJwt(token)) return authenticateSession(deps, token);
  const parsed = parseToken(token);
  if (parsed === null) return isOperatorKey(token, await deps.operatorKey()) ? { kind: 'operator' } : null;
  const [key, tenant] = await Promise.all([
    deps.control.getKey(parsed.tenantId, parsed.keyId),
    deps.control.getTenant(parsed.tenantId),
  ]);
  if (key === null || tenant === null || key.revoked_at !== null) return null;
  if (!secretsEqual(hashToken(token), key.secret_hash)) return null;
  return {
    kind: 'key',
    tenantId: tenant.id,
    keyId: key.id,
    keyName: key.name,
    scopes: key.scopes,
    retentionDays: effectiveRetentionDays(tenant.plan, tenant.custom_retention_days),
    shards: tenant.shards,
    rateLimitRps: effectiveRateLimitRps(tenant.plan, tenant.rate_limit_rps),
  };
};
