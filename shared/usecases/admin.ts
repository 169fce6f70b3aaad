/**
 * Tenant and API key use cases, with their access rules: tenants are the operator's; keys of a
 * tenant may be managed by the operator or by a key of that tenant holding `admin`. Another
 * tenant's ids answer 404, never 403.
 */
import { toFieldErrors } from '../domain/event.ts';
import { newKeyId, newRetentionJobId, newSecret, newTenantId } from '../domain/ids.ts';
import type { Principal } from '../domain/principal.ts';
import { effectiveRetentionDays } from '../domain/retention.ts';
import { newRetentionJob } from '../domain/retention-job.ts';
import type { Redactor } from '../domain/sanitize.ts';
import {
  type ApiKeyRecord,
  formatToken,
  hashToken,
  isKeyId,
  isTenantId,
  presentKey,
  presentTenant,
  type TenantRecord,
} from '../domain/tenant.ts';
import {
  createKeySchema,
  createTenantSchema,
  TENANT_SELF_SERVICE_FIELDS,
  updateTenantSchema,
} from '../domain/tenant-input.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../errors.ts';
import { ConcurrentUpdateError, type ControlStore } from './ports/control.ts';
import type { EventStore } from './ports/events.ts';

export interface AdminDeps {
  control: ControlStore;
  /** The tenant's own trail: every administrative act writes its trailkeeper.* event there. */
  store: EventStore;
  redact: Redactor;
  now: () => number;
}

const parse = <T>(
  schema: {
    safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError };
  },
  body: unknown,
): T => {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new ValidationError(toFieldErrors(result.error));
  return result.data;
};

const iso = (deps: AdminDeps) => new Date(deps.now()).toISOString();

const requireOperator = (principal: Principal | null): void => {
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind !== 'operator') throw new ForbiddenError('Only the operator may manage tenants.');
};

/** Operator, or an `admin` key of this very tenant. A key of another tenant learns nothing: 404. */
const requireTenantAdmin = (principal: Principal | null, tenantId: string): void => {
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind === 'operator') return;
  if (principal.tenantId !== tenantId) throw new NotFoundError('No tenant with this id.');
  if (principal.kind === 'person')
    throw new ForbiddenError('People read the audit log; administering the tenant needs an `admin` API key.');
  if (!principal.scopes.includes('admin')) throw new ForbiddenError('This API key lacks the `admin` scope.');
};

const loadTenant = async (deps: AdminDeps, tenantId: string, consistent = false): Promise<TenantRecord> => {
  const tenant = isTenantId(tenantId) ? await deps.control.getTenant(tenantId, consistent) : null;
  if (tenant === null) throw new NotFoundError('No tenant with this id.');
  return tenant;
};

export const createTenant = async (deps: AdminDeps, principal: Principal | null, body: unknown) => {
  requireOperator(principal);
  const input = parse(createTenantSchema, body);
  const now = iso(deps);
  const tenant: TenantRecord = {
    id: newTenantId(),
    name: input.name,
    plan: input.plan,
    custom_retention_days: input.retention_days ?? null,
    shards: input.shards,
    ...(input.rate_limit_rps == null ? {} : { rate_limit_rps: input.rate_limit_rps }),
    created_at: now,
    updated_at: now,
  };
  await deps.control.createTenant(tenant);
  return presentTenant(tenant);
};

export const getTenant = async (deps: AdminDeps, principal: Principal | null, tenantId: string) => {
  requireTenantAdmin(principal, tenantId);
  return presentTenant(await loadTenant(deps, tenantId));
};

/**
 * Changes name, plan, retention or shards. A change of the effective retention also starts a
 * retention job that re-times the events the tenant already has (the retention worker runs it;
 * progress shows as `retention_job`), replacing any job still running. Events written from now
 * on get the new retention at once.
 */
export const updateTenant = async (
  deps: AdminDeps,
  principal: Principal | null,
  tenantId: string,
  body: unknown,
) => {
  const input = parse(updateTenantSchema, body);
  // A tenant's own admin key may change its self-service settings; everything else is the operator's.
  const selfService = Object.keys(input).every((field) =>
    (TENANT_SELF_SERVICE_FIELDS as readonly string[]).includes(field),
  );
  if (selfService) requireTenantAdmin(principal, tenantId);
  else requireOperator(principal);
  for (let attempt = 1; ; attempt++) {
    const current = await loadTenant(deps, tenantId, true);
    if (input.shards !== undefined && input.shards < current.shards) {
      throw new ValidationError([
        { field: 'shards', message: `may only grow (currently ${current.shards})` },
      ]);
    }
    const now = iso(deps);
    const before = effectiveRetentionDays(current.plan, current.custom_retention_days);
    const after = effectiveRetentionDays(
      input.plan ?? current.plan,
      input.retention_days === undefined ? current.custom_retention_days : input.retention_days,
    );
    try {
      const updated = await deps.control.updateTenant(
        tenantId,
        {
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.plan === undefined ? {} : { plan: input.plan }),
          ...(input.retention_days === undefined ? {} : { custom_retention_days: input.retention_days }),
          ...(input.shards === undefined ? {} : { shards: input.shards }),
          ...(input.rate_limit_rps === undefined ? {} : { rate_limit_rps: input.rate_limit_rps }),
          ...(input.email_domains === undefined ? {} : { email_domains: input.email_domains }),
          ...(before === after ? {} : { retention_job: newRetentionJob(newRetentionJobId(), after, now) }),
          updated_at: now,
        },
        current.updated_at,
      );
      if (updated === null) throw new NotFoundError('No tenant with this id.');
      return presentTenant(updated);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      if (attempt >= 3) throw new ConflictError('The tenant is being changed concurrently; retry.');
    }
  }
};

export const createKey = async (
  deps: AdminDeps,
  principal: Principal | null,
  tenantId: string,
  body: unknown,
) => {
  requireTenantAdmin(principal, tenantId);
  const input = parse(createKeySchema, body);
  await loadTenant(deps, tenantId);
  const id = newKeyId();
  const token = formatToken(tenantId, id, newSecret());
  const record: ApiKeyRecord = {
    id,
    tenant_id: tenantId,
    name: input.name,
    scopes: input.scopes,
    secret_hash: hashToken(token),
    created_at: iso(deps),
    revoked_at: null,
  };
  await deps.control.createKey(record);
  return { ...presentKey(record), key: token };
};

export const listKeys = async (deps: AdminDeps, principal: Principal | null, tenantId: string) => {
  requireTenantAdmin(principal, tenantId);
  await loadTenant(deps, tenantId);
  const keys = await deps.control.listKeys(tenantId);
  return { data: keys.sort((a, b) => a.created_at.localeCompare(b.created_at)).map(presentKey) };
};

export const revokeKey = async (
  deps: AdminDeps,
  principal: Principal | null,
  tenantId: string,
  keyId: string,
) => {
  requireTenantAdmin(principal, tenantId);
  const revoked =
    isTenantId(tenantId) && isKeyId(keyId) && (await deps.control.revokeKey(tenantId, keyId, iso(deps)));
  if (!revoked) throw new NotFoundError('No key with this id.');
};
