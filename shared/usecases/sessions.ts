/**
 * Viewer sessions: a SaaS backend mints a one-time code for one of its signed-in users (operator
 * or the tenant's `admin` key), the user's browser exchanges it for a session token (no
 * credentials: the code is the credential, once, within SESSION_CODE_TTL_SECONDS), and the tenant
 * can revoke everyone's sessions or one person's. Who may see what is the tenant's access policy's
 * business, checked at the mint and again by the authorizer on every request.
 */

import { consolePath } from '../domain/console-shell.ts';
import {
  type Permission,
  type PersonIdentity,
  permissionsOf,
  policyOf,
  type Role,
  SESSION_CODE_TTL_SECONDS,
} from '../domain/people.ts';
import { exchangeCodeSchema, mintSessionSchema, revokeSessionsQuerySchema } from '../domain/people-input.ts';
import type { Principal } from '../domain/principal.ts';
import {
  compactJws,
  hashSessionCode,
  isRevoked,
  newSessionCode,
  newSessionId,
  revocationSecond,
  type SessionGrant,
  sessionClaimsOf,
  signingInputOf,
} from '../domain/session-token.ts';
import { isTenantId, type TenantRecord } from '../domain/tenant.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.ts';
import { type OwnTrailDeps, recordAdminAct } from './own-trail.ts';
import { parseInput } from './parse-input.ts';
import type { ControlStore } from './ports/control.ts';
import type { SessionSigner, SessionStore } from './ports/sessions.ts';

export interface MintDeps extends OwnTrailDeps {
  control: ControlStore;
  sessions: SessionStore;
}

export interface ExchangeDeps {
  control: ControlStore;
  sessions: SessionStore;
  signer: () => Promise<SessionSigner>;
  now: () => number;
}

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/** The operator, or an `admin` key of this very tenant; another tenant's key learns nothing (404). */
const requireTenantAdmin = (principal: Principal | null, tenantId: string): void => {
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind === 'operator') return;
  if (principal.tenantId !== tenantId) throw new NotFoundError('No tenant with this id.');
  if (principal.kind === 'person')
    throw new ForbiddenError(
      'Viewer sessions are minted by the application backend with an `admin` API key.',
    );
  if (!principal.scopes.includes('admin')) throw new ForbiddenError('This API key lacks the `admin` scope.');
};

const loadTenant = async (control: ControlStore, tenantId: string): Promise<TenantRecord> => {
  const tenant = isTenantId(tenantId) ? await control.getTenant(tenantId) : null;
  if (tenant === null) throw new NotFoundError('No tenant with this id.');
  return tenant;
};

export interface MintedSession {
  code: string;
  url: string;
  code_expires_at: string;
  expires_at: string;
}

/**
 * `POST /v1/tenants/{tenant_id}/viewer-sessions`: a one-time code for `user` in `role`, stored only
 * as its SHA-256, and the console link that carries it. Refused (403, nothing minted) when the
 * tenant's access policy does not let the role view.
 */
export const mintSession = async (
  deps: MintDeps,
  principal: Principal | null,
  tenantId: string,
  body: unknown,
  baseUrl: string,
  requestId: string,
): Promise<MintedSession> => {
  requireTenantAdmin(principal, tenantId);
  const input = parseInput(mintSessionSchema, body);
  const tenant = await loadTenant(deps.control, tenantId);
  if (permissionsOf(input.role, policyOf(tenant.access)).length === 0) {
    throw new ForbiddenError(
      `The tenant's access policy does not let the ${input.role} role view the audit log; no session was minted.`,
    );
  }
  const nowMs = deps.now();
  const nowSeconds = Math.floor(nowMs / 1000);
  const code = newSessionCode();
  const grant: SessionGrant = {
    tenant_id: tenant.id,
    user: input.user,
    role: input.role,
    team_ids: input.team_ids ?? [],
    expires_at: nowSeconds + input.ttl_seconds,
    minted_at_ms: nowMs,
    code_expires_at: nowSeconds + SESSION_CODE_TTL_SECONDS,
  };
  await deps.sessions.saveCode(hashSessionCode(code), grant);
  await recordAdminAct(
    deps,
    tenant,
    principal as Principal,
    {
      action: 'trailkeeper.viewer_session.created',
      target: { type: 'user', id: input.user.id },
      metadata: {
        user_id: input.user.id,
        role: input.role,
        ...(grant.team_ids.length > 0 ? { team_ids: grant.team_ids } : {}),
        expires_at: iso(grant.expires_at),
      },
    },
    requestId,
  );
  return {
    code,
    // The code rides in the fragment, which browsers never send to a server.
    url: `${baseUrl}${consolePath(tenant.id)}#code=${code}`,
    code_expires_at: iso(grant.code_expires_at),
    expires_at: iso(grant.expires_at),
  };
};

export interface ExchangedSession {
  token: string;
  expires_at: string;
  user: PersonIdentity;
  role: Role;
  team_ids: string[];
  permissions: Permission[];
}

const invalidCode = () => new UnauthorizedError('The code is unknown, already used or expired.');

/**
 * `POST /v1/sessions`: takes the code (once: a conditional delete) and signs the session token.
 * A used, expired or unknown code, or one minted before its sessions were revoked, is a 401.
 */
export const exchangeCode = async (deps: ExchangeDeps, body: unknown): Promise<ExchangedSession> => {
  const { code } = parseInput(exchangeCodeSchema, body);
  const nowMs = deps.now();
  const grant = await deps.sessions.consumeCode(hashSessionCode(code), Math.floor(nowMs / 1000));
  if (grant === null) throw invalidCode();
  const [tenant, revocations] = await Promise.all([
    deps.control.getTenant(grant.tenant_id),
    deps.sessions.revocations(grant.tenant_id, grant.user.id),
  ]);
  if (tenant === null || isRevoked(revocationSecond(grant.minted_at_ms), revocations)) throw invalidCode();
  const signer = await deps.signer();
  const claims = sessionClaimsOf(grant, newSessionId(), nowMs);
  const signingInput = signingInputOf(await signer.keyId(), claims);
  const token = compactJws(signingInput, await signer.sign(signingInput));
  return {
    token,
    expires_at: iso(claims.exp),
    user: grant.user,
    role: grant.role,
    team_ids: grant.team_ids,
    permissions: permissionsOf(grant.role, policyOf(tenant.access)),
  };
};

/**
 * `DELETE /v1/tenants/{tenant_id}/viewer-sessions[?user_id=]`: every session of the tenant (or of
 * one person) issued until now stops working, and so do codes minted until now.
 */
export const revokeSessions = async (
  deps: MintDeps,
  principal: Principal | null,
  tenantId: string,
  query: Record<string, string>,
  requestId: string,
): Promise<void> => {
  requireTenantAdmin(principal, tenantId);
  const { user_id: userId } = parseInput(revokeSessionsQuerySchema, query);
  const tenant = await loadTenant(deps.control, tenantId);
  await deps.sessions.revoke(tenant.id, userId ?? null, revocationSecond(deps.now()));
  await recordAdminAct(
    deps,
    tenant,
    principal as Principal,
    {
      action: 'trailkeeper.viewer_sessions.revoked',
      ...(userId === undefined ? {} : { target: { type: 'user', id: userId } }),
      metadata: { user_id: userId ?? 'all' },
    },
    requestId,
  );
};
