/**
 * Resolves a bearer token to a principal: the operator key, an unrevoked API key whose hash
 * matches, or a person's JWT — a viewer session (ES256 by a known key, issuer, audience, time) or,
 * where the operator configures one, a token of its identity provider (routed by its unverified
 * `iss`, then verified by that provider alone). Both doors then follow the same rules: the tenant
 * must exist, the person's sessions must not have been revoked since the token was issued, and
 * the permissions are those of the tenant's CURRENT access policy. Each principal comes with its
 * tenant's settings. Returns null for anything else (the caller answers 401).
 */
import { decodeJwt } from 'jose';
import { type PersonIdentity, permissionsOf, policyOf, type Role } from '../domain/people.ts';
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
  /**
   * People: the session-token verifier (null: none configured, no session is accepted), the
   * operator's identity provider (absent or null: none, its tokens are refused like any unknown
   * JWT) and the revocations both doors obey.
   */
  sessions?: {
    verifier: SessionVerifier | null;
    store: Pick<SessionStore, 'revocations'>;
    identityProvider?: IdentityProvider | null;
  };
}

/** Who the operator's identity provider says the person of one of its tokens is. */
export interface IdpPerson {
  tenantId: string;
  person: PersonIdentity;
  role: Role;
  /** The team admin's teams (empty for every other role). */
  teamIds: string[];
  /** The token's `jti`, else a stable hash of the token: the session id in the person's audit events. */
  sessionId: string;
  /** Epoch seconds: `iat` (revocations compare it) and `exp`. */
  issuedAt: number;
  expiresAt: number;
}

/** The operator's identity provider (shared/adapters/oidc.ts). */
export interface IdentityProvider {
  /** Its issuer: a JWT whose `iss` is this goes to `verify`; any other JWT is a viewer session or nothing. */
  readonly issuer: string;
  /** The token's person, or null when refused; throws when the provider's keys cannot be fetched (503, not 401). */
  verify(token: string): Promise<IdpPerson | null>;
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

/**
 * The rules every person's token obeys, whichever door it came through: the tenant exists, the
 * person's sessions (tenant-wide or their own) were not revoked at or after the token's `iat`,
 * and the role gets what the tenant's current access policy gives it.
 */
const personOf = async (
  deps: AuthDeps,
  revocationStore: Pick<SessionStore, 'revocations'>,
  verified: IdpPerson,
  via: AuthenticatedPerson['via'],
): Promise<AuthenticatedPerson | null> => {
  const [tenant, revocations] = await Promise.all([
    deps.control.getTenant(verified.tenantId),
    revocationStore.revocations(verified.tenantId, verified.person.id),
  ]);
  if (tenant === null || isRevoked(verified.issuedAt, revocations)) return null;
  return {
    kind: 'person',
    tenantId: tenant.id,
    person: verified.person,
    role: verified.role,
    teamIds: verified.role === 'team_admin' ? verified.teamIds : [],
    sessionId: verified.sessionId,
    permissions: permissionsOf(verified.role, policyOf(tenant.access)),
    via,
    retentionDays: effectiveRetentionDays(tenant.plan, tenant.custom_retention_days),
    shards: tenant.shards,
    rateLimitRps: effectiveRateLimitRps(tenant.plan, tenant.rate_limit_rps),
    expiresAtMs: verified.expiresAt * 1000,
  };
};

const authenticateSession = async (deps: AuthDeps, token: string): Promise<AuthenticatedPerson | null> => {
  if (deps.sessions === undefined || deps.sessions.verifier === null) return null;
  const claims = await deps.sessions.verifier.verify(token);
  if (claims === null) return null;
  const verified: IdpPerson = {
    tenantId: claims.tid,
    person: {
      id: claims.sub,
      ...(claims.email === undefined ? {} : { email: claims.email }),
      ...(claims.name === undefined ? {} : { name: claims.name }),
    },
    role: claims.role,
    teamIds: claims.teams ?? [],
    sessionId: claims.jti,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
  };
  return personOf(deps, deps.sessions.store, verified, 'session');
};

/** A JWT's `iss`, unverified: only to choose which verifier sees the token. */
const unverifiedIssuer = (token: string): string | undefined => {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
};

const authenticatePerson = async (deps: AuthDeps, token: string): Promise<AuthenticatedPerson | null> => {
  const provider = deps.sessions?.identityProvider;
  if (deps.sessions === undefined || !provider || unverifiedIssuer(token) !== provider.issuer) {
    return authenticateSession(deps, token);
  }
  const verified = await provider.verify(token);
  return verified === null ? null : personOf(deps, deps.sessions.store, verified, 'oidc');
};

export const authenticate = async (deps: AuthDeps, token: string | null): Promise<Authenticated | null> => {
  if (token === null) return null;
  if (looksLikeJwt(token)) return authenticatePerson(deps, token);
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
