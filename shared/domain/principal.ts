/**
 * Who is calling. The Lambda authorizer resolves the bearer token into an AuthorizerContext
 * (flat primitives, as API Gateway requires); handlers turn it back into a Principal and decide
 * 401/403 themselves so every refusal is problem+json.
 */

import { isRole, PERMISSIONS, type Permission, type PersonIdentity, type Role } from './people.ts';

export const SCOPES = ['events:write', 'events:read', 'exports:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * A person reading the log: through a viewer session (`session`, Trailkeeper's own JWT) or a
 * token of the operator's identity provider (`oidc`). What they may do comes from their role and
 * the tenant's access policy, resolved by the authorizer on every request.
 */
export interface PersonPrincipal {
  kind: 'person';
  tenantId: string;
  person: PersonIdentity;
  role: Role;
  /** The team admin's teams (empty for every other role). */
  teamIds: readonly string[];
  /** The session id (`jti`); for OIDC, the token's `jti` or a hash of it. */
  sessionId: string;
  /** Under the tenant's current access policy. */
  permissions: readonly Permission[];
  via: 'session' | 'oidc';
  retentionDays: number | null;
  shards: number;
}

export type Principal =
  | { kind: 'operator' }
  | {
      kind: 'key';
      tenantId: string;
      keyId: string;
      keyName: string;
      scopes: readonly Scope[];
      /** Tenant settings the data path needs, resolved with the key (cached with it). */
      retentionDays: number | null;
      shards: number;
      /** Requests per second the tenant may make (plan or operator override); enforced by the authorizer. */
      rateLimitRps?: number;
    }
  | PersonPrincipal;

/** What the authorizer returns as `context` (and the local gateway passes as `authorizer.lambda`). */
export interface AuthorizerContext {
  /**
   * `unavailable`: the credentials could not be checked (a dependency failed); answered 503.
   * `throttled`: the tenant is over its request rate; answered 429 with `retryAfter` seconds.
   */
  kind: 'operator' | 'key' | 'person' | 'anonymous' | 'unavailable' | 'throttled';
  retryAfter?: number;
  tenantId?: string;
  keyId?: string;
  keyName?: string;
  /** Space-separated scopes. */
  scopes?: string;
  /** -1 = unlimited retention. */
  retentionDays?: number;
  shards?: number;
  /** A person: their id, email and name, role, comma-separated teams, space-separated permissions, session id and door. */
  userId?: string;
  userEmail?: string;
  userName?: string;
  role?: string;
  teams?: string;
  permissions?: string;
  sessionId?: string;
  via?: string;
  /** Why the caller is anonymous (for logs; never echoed to the client beyond a generic 401). */
  reason?: string;
  [key: string]: string | number | boolean | undefined;
}

export const toAuthorizerContext = (
  principal: Principal | null,
  reason = 'unknown credentials',
): AuthorizerContext => {
  if (principal === null) return { kind: 'anonymous', reason };
  if (principal.kind === 'operator') return { kind: 'operator' };
  if (principal.kind === 'person') {
    return {
      kind: 'person',
      tenantId: principal.tenantId,
      userId: principal.person.id,
      ...(principal.person.email === undefined ? {} : { userEmail: principal.person.email }),
      ...(principal.person.name === undefined ? {} : { userName: principal.person.name }),
      role: principal.role,
      teams: principal.teamIds.join(','),
      permissions: principal.permissions.join(' '),
      sessionId: principal.sessionId,
      via: principal.via,
      retentionDays: principal.retentionDays ?? -1,
      shards: principal.shards,
    };
  }
  return {
    kind: 'key',
    tenantId: principal.tenantId,
    keyId: principal.keyId,
    keyName: principal.keyName,
    scopes: principal.scopes.join(' '),
    retentionDays: principal.retentionDays ?? -1,
    shards: principal.shards,
  };
};

const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

const isPermission = (value: string): value is Permission =>
  (PERMISSIONS as readonly string[]).includes(value);

const personFromContext = (context: Partial<AuthorizerContext>): PersonPrincipal | null => {
  if (!context.tenantId || !context.userId || !context.sessionId || !isRole(context.role)) return null;
  const retention = Number(context.retentionDays ?? -1);
  const email = context.userEmail === undefined ? undefined : String(context.userEmail);
  const name = context.userName === undefined ? undefined : String(context.userName);
  return {
    kind: 'person',
    tenantId: String(context.tenantId),
    person: {
      id: String(context.userId),
      ...(email === undefined ? {} : { email }),
      ...(name === undefined ? {} : { name }),
    },
    role: context.role,
    teamIds: String(context.teams ?? '')
      .split(',')
      .filter((team) => team !== ''),
    sessionId: String(context.sessionId),
    permissions: String(context.permissions ?? '')
      .split(' ')
      .filter(isPermission),
    via: context.via === 'oidc' ? 'oidc' : 'session',
    retentionDays: retention < 0 ? null : retention,
    shards: Math.max(1, Number(context.shards ?? 1)),
  };
};

export const fromAuthorizerContext = (context: Partial<AuthorizerContext> | undefined): Principal | null => {
  if (!context) return null;
  if (context.kind === 'operator') return { kind: 'operator' };
  if (context.kind === 'person') return personFromContext(context);
  if (context.kind !== 'key' || !context.tenantId || !context.keyId) return null;
  const retention = Number(context.retentionDays ?? -1);
  return {
    kind: 'key',
    tenantId: String(context.tenantId),
    keyId: String(context.keyId),
    keyName: String(context.keyName ?? ''),
    scopes: String(context.scopes ?? '')
      .split(' ')
      .filter(isScope),
    retentionDays: retention < 0 ? null : retention,
    shards: Math.max(1, Number(context.shards ?? 1)),
  };
};
