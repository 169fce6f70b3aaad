/**
 * People: the workspace roles a SaaS application hands Trailkeeper when one of its users opens
 * the audit log, the tenant's access policy (which roles may view and export), and what a
 * person's viewer session carries. Pure, and free of zod (the authorizer bundles it; the input
 * schemas are in people-input.ts).
 *
 * The default policy follows the audit logs our users know: owners, admins and auditors see the
 * whole workspace; a team admin sees only events of their own teams (events without a `team_id`
 * are organization-level and hidden from them); members and guests see nothing.
 */

export const ROLES = ['owner', 'admin', 'auditor', 'team_admin', 'member', 'guest'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['view', 'export'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Which roles may view (list, filter, read, verify) and which may export. */
export interface AccessPolicy {
  view: Role[];
  export: Role[];
}

export const DEFAULT_ACCESS_POLICY: Readonly<AccessPolicy> = {
  view: ['owner', 'admin', 'auditor', 'team_admin'],
  export: ['owner', 'admin', 'auditor', 'team_admin'],
};

/** Roles that see the whole workspace (every event, digests, exports made by keys). */
export const WHOLE_WORKSPACE_ROLES: readonly Role[] = ['owner', 'admin', 'auditor'];

/** Teams a team admin may hold in one session. */
export const MAX_SESSION_TEAMS = 50;

export const SESSION_TTL_SECONDS = { min: 60, max: 43_200, default: 3_600 } as const;

/** A viewer-session code works once, within this many seconds. */
export const SESSION_CODE_TTL_SECONDS = 300;

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

export const policyOf = (stored: AccessPolicy | undefined | null): AccessPolicy =>
  stored ?? { view: [...DEFAULT_ACCESS_POLICY.view], export: [...DEFAULT_ACCESS_POLICY.export] };

/**
 * What a role may do under a policy. Export implies view: a role the policy lets export but not
 * view gets nothing (an export is a read).
 */
export const permissionsOf = (role: Role, policy: AccessPolicy): Permission[] => {
  if (!policy.view.includes(role)) return [];
  return policy.export.includes(role) ? ['view', 'export'] : ['view'];
};

/**
 * The part of a tenant's trail a person may see: `null` = the whole workspace; otherwise only
 * events whose `team_id` is one of these (never an event without a `team_id`).
 */
export type TeamScope = readonly string[] | null;

export const teamScopeOf = (role: Role, teamIds: readonly string[]): TeamScope =>
  role === 'team_admin' ? teamIds : null;

/** The person behind a viewer session (or an OIDC token), as an event's actor and in the token. */
export interface PersonIdentity {
  id: string;
  email?: string;
  name?: string;
}

/** Audience and issuer of Trailkeeper's own session tokens (an OIDC door uses its IdP's). */
export const SESSION_TOKEN = {
  issuer: 'trailkeeper',
  audience: 'trailkeeper:viewer',
  algorithm: 'ES256',
} as const;

/**
 * The claims of a viewer-session JWT (besides iss, aud, iat, exp): `sub` the person's id in the
 * SaaS application, `jti` the session id, `tid` the tenant, `role`, `teams` (team admins only),
 * and the person's email and name for the trail.
 */
export interface SessionClaims {
  sub: string;
  jti: string;
  tid: string;
  role: Role;
  teams?: string[];
  email?: string;
  name?: string;
}
