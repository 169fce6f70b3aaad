/**
 * Tenant and API key use cases, with their access rules: tenants are the operator's; keys of a
 * tenant may be managed by the operator or by a key of that tenant holding `admin`. Another
 * tenant's ids answer 404, never 403.
 */
import { newEventId, newKeyId, newRetentionJobId, newSecret, newTenantId } from '../domain/ids.ts';
import { type AccessPolicy, policyOf, ROLES } from '../domain/people.ts';
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
  type TenantAct,
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
import { adminActorOf, recordAdminAct } from './own-trail.ts';
import { parseInput } from './parse-input.ts';
import { ConcurrentUpdateError, type ControlStore, type TenantChanges } from './ports/control.ts';
import type { EventStore } from './ports/events.ts';

export interface AdminDeps {
  control: ControlStore;
  /** The tenant's own trail: every administrative act writes its trailkeeper.* event there. */
  store: EventStore;
  redact: Redactor;
  now: () => number;
}

const iso = (deps: AdminDeps) => new Date(deps.now()).toISOString();

function requireOperator(principal: Principal | null): asserts principal is Principal {
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind !== 'operator') throw new ForbiddenError('Only the operator may manage tenants.');
}

/** Operator, or an `admin` key of this very tenant. A key of another tenant learns nothing: 404. */
function requireTenantAdmin(principal: Principal | null, tenantId: string): asserts principal is Principal {
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind === 'operator') return;
  if (principal.tenantId !== tenantId) throw new NotFoundError('No tenant with this id.');
  if (principal.kind === 'person')
    throw new ForbiddenError('People read the audit log; administering the tenant needs an `admin` API key.');
  if (!principal.scopes.includes('admin')) throw new ForbiddenError('This API key lacks the `admin` scope.');
}

const loadTenant = async (deps: AdminDeps, tenantId: string, consistent = false): Promise<TenantRecord> => {
  const tenant = isTenantId(tenantId) ? await deps.control.getTenant(tenantId, consistent) : null;
  if (tenant === null) throw new NotFoundError('No tenant with this id.');
  return tenant;
};

/**
 * Creates a tenant (operator only). It writes no event: a trail begins with its tenant, whose
 * `created_at` already tells when, and the SPEC names no `trailkeeper.tenant.created`.
 */
export const createTenant = async (deps: AdminDeps, principal: Principal | null, body: unknown) => {
  requireOperator(principal);
  const input = parseInput(createTenantSchema, body);
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

/** The settings a PATCH may change, as GET shows them: what a `trailkeeper.tenant.updated` tells. */
const SETTINGS = [
  'name',
  'plan',
  'retention_days',
  'shards',
  'rate_limit_rps',
  'email_domains',
  'access',
  'embed_origins',
  'app_url',
] as const;

/**
 * A comparable form of a setting: lists of domains or roles are sets, and an object's keys come
 * in any order (DynamoDB does not keep a map's), so neither order means anything.
 */
const comparable = (value: unknown): string => {
  if (Array.isArray(value)) return JSON.stringify([...value].sort());
  if (value !== null && typeof value === 'object')
    return JSON.stringify(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, comparable(v)]),
    );
  return JSON.stringify(value);
};

/** The shown settings that differ between two versions of a tenant, before and after; null when none do. */
const settingsChange = (
  before: TenantRecord,
  after: TenantRecord,
): { from: Record<string, unknown>; to: Record<string, unknown> } | null => {
  const was = presentTenant(before);
  const is = presentTenant(after);
  const changed = SETTINGS.filter((field) => comparable(was[field]) !== comparable(is[field]));
  if (changed.length === 0) return null;
  return {
    from: Object.fromEntries(changed.map((field) => [field, was[field]])),
    to: Object.fromEntries(changed.map((field) => [field, is[field]])),
  };
};

/** An access policy with its roles in the order of ROLES, so that equal policies are stored alike. */
const canonicalPolicy = (policy: AccessPolicy): AccessPolicy => ({
  view: ROLES.filter((role) => policy.view.includes(role)),
  export: ROLES.filter((role) => policy.export.includes(role)),
});

/** Writes a tenant's latest change into its trail (again: the event id comes from the act, so once). */
const recordTenantAct = (deps: AdminDeps, tenant: TenantRecord, act: TenantAct): Promise<boolean> =>
  recordAdminAct(
    deps,
    tenant,
    act.actor,
    {
      action: 'trailkeeper.tenant.updated',
      target: { type: 'tenant', id: tenant.id, name: tenant.name },
      metadata: { from: act.from, to: act.to },
      eventKey: act.event_key,
      occurredAt: act.at,
    },
    act.request_id,
  );

/**
 * Changes name, plan, retention, shards, rate limit, email domains, access policy, embedding
 * origins or application URL. A change of
 * the effective retention also starts a retention job that re-times the events the tenant
 * already has (the retention worker runs it; progress shows as `retention_job`), replacing any
 * job still running. Events written from now on get the new retention at once.
 *
 * The change and its record: the update is conditional on the version read (retried on a
 * concurrent change), so its event cannot be written first — an update that then lost the race
 * would leave a record of a change that never happened. Instead the update itself carries the
 * act (`last_act`: actor, from/to, an event key of its own) onto the tenant record, atomically
 * with the change, and the event is written after it with an id derived from that key. When
 * that write fails, the request fails with 503; its retry (or any later update of the tenant)
 * first writes the act kept on the record — the same id, so at most once — and then finds
 * nothing left to change: neither the change nor its event is repeated. A request that changes
 * nothing writes nothing; one that changes only what GET does not show (pinning the retention to
 * the plan's own number of days) is stored without an event.
 */
export const updateTenant = async (
  deps: AdminDeps,
  principal: Principal | null,
  tenantId: string,
  body: unknown,
  requestId?: string,
) => {
  const input = parseInput(updateTenantSchema, body);
  // A tenant's own admin key may change its self-service settings; everything else is the operator's.
  const selfService = Object.keys(input).every((field) =>
    (TENANT_SELF_SERVICE_FIELDS as readonly string[]).includes(field),
  );
  if (selfService) requireTenantAdmin(principal, tenantId);
  else requireOperator(principal);
  const actor = adminActorOf(principal);
  for (let attempt = 1; ; attempt++) {
    const current = await loadTenant(deps, tenantId, true);
    // The previous change's event, in case its request failed before writing it.
    if (current.last_act !== undefined) await recordTenantAct(deps, current, current.last_act);
    if (input.shards !== undefined && input.shards < current.shards) {
      throw new ValidationError([
        { field: 'shards', message: `may only grow (currently ${current.shards})` },
      ]);
    }
    const settings: TenantChanges = {
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.plan === undefined ? {} : { plan: input.plan }),
      ...(input.retention_days === undefined ? {} : { custom_retention_days: input.retention_days }),
      ...(input.shards === undefined ? {} : { shards: input.shards }),
      ...(input.rate_limit_rps === undefined ? {} : { rate_limit_rps: input.rate_limit_rps }),
      ...(input.email_domains === undefined ? {} : { email_domains: input.email_domains }),
      ...(input.access === undefined ? {} : { access: canonicalPolicy(input.access) }),
      ...(input.embed_origins === undefined ? {} : { embed_origins: input.embed_origins }),
      ...(input.app_url === undefined ? {} : { app_url: input.app_url }),
    };
    const unchanged = Object.entries(settings).every(
      ([field, value]) =>
        comparable(value) === comparable(current[field as keyof TenantRecord] ?? defaultOf(field)),
    );
    if (unchanged) return presentTenant(current);
    const now = iso(deps);
    const change = settingsChange(current, { ...current, ...settings });
    const act: TenantAct | undefined =
      change === null
        ? undefined
        : {
            event_key: `tenant-updated-${newEventId(deps.now())}`,
            at: now,
            actor,
            ...(requestId === undefined ? {} : { request_id: requestId }),
            ...change,
          };
    const before = effectiveRetentionDays(current.plan, current.custom_retention_days);
    const after = effectiveRetentionDays(
      input.plan ?? current.plan,
      input.retention_days === undefined ? current.custom_retention_days : input.retention_days,
    );
    let updated: TenantRecord | null;
    try {
      updated = await deps.control.updateTenant(
        tenantId,
        {
          ...settings,
          ...(before === after ? {} : { retention_job: newRetentionJob(newRetentionJobId(), after, now) }),
          ...(act === undefined ? {} : { last_act: act }),
          updated_at: now,
        },
        current.updated_at,
      );
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      if (attempt >= 3) throw new ConflictError('The tenant is being changed concurrently; retry.');
      continue;
    }
    if (updated === null) throw new NotFoundError('No tenant with this id.');
    if (act !== undefined) await recordTenantAct(deps, updated, act);
    return presentTenant(updated);
  }
};

/** What an absent optional setting of a stored tenant means. */
const defaultOf = (field: string): unknown => {
  if (field === 'rate_limit_rps') return null;
  if (field === 'email_domains') return [];
  if (field === 'access') return policyOf(undefined);
  if (field === 'embed_origins') return [];
  if (field === 'app_url') return null;
  return undefined;
};

/**
 * Creates a key of the tenant. Its event is written first, with an id derived from the new key's
 * id, and the key after it: no key can exist without its record. Were the key's write to fail
 * after the event's, the request fails (503) and the trail tells of a key that does not exist,
 * which nobody can use; a retry creates another key (with its own event), since the secret of a
 * key is shown once and a request that failed showed none.
 */
export const createKey = async (
  deps: AdminDeps,
  principal: Principal | null,
  tenantId: string,
  body: unknown,
  requestId?: string,
) => {
  requireTenantAdmin(principal, tenantId);
  const input = parseInput(createKeySchema, body);
  const tenant = await loadTenant(deps, tenantId);
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
  await recordAdminAct(
    deps,
    tenant,
    principal,
    {
      action: 'trailkeeper.api_key.created',
      target: { type: 'api_key', id, name: input.name },
      // The scopes only: never the secret, nor its hash.
      metadata: { scopes: input.scopes },
      eventKey: `key-created-${id}`,
    },
    requestId,
  );
  await deps.control.createKey(record);
  return { ...presentKey(record), key: token };
};

export const listKeys = async (deps: AdminDeps, principal: Principal | null, tenantId: string) => {
  requireTenantAdmin(principal, tenantId);
  await loadTenant(deps, tenantId);
  const keys = await deps.control.listKeys(tenantId);
  return { data: keys.sort((a, b) => a.created_at.localeCompare(b.created_at)).map(presentKey) };
};

/**
 * Revokes a key, then records it. Here the act comes first: a record of a revocation that then
 * failed would tell an auditor a key is dead while it still works. Revoking is idempotent (the
 * first time stands) and the event's id is derived from the key, so a retry after a failed
 * record revokes nothing new and writes the event once; revoking an already revoked key again
 * writes nothing new either.
 */
export const revokeKey = async (
  deps: AdminDeps,
  principal: Principal | null,
  tenantId: string,
  keyId: string,
  requestId?: string,
) => {
  requireTenantAdmin(principal, tenantId);
  const key = isTenantId(tenantId) && isKeyId(keyId) ? await deps.control.getKey(tenantId, keyId) : null;
  if (key === null) throw new NotFoundError('No key with this id.');
  const tenant = await loadTenant(deps, tenantId);
  if (!(await deps.control.revokeKey(tenantId, keyId, iso(deps))))
    throw new NotFoundError('No key with this id.');
  await recordAdminAct(
    deps,
    tenant,
    principal,
    {
      action: 'trailkeeper.api_key.revoked',
      target: { type: 'api_key', id: keyId, name: key.name },
      eventKey: `key-revoked-${keyId}`,
    },
    requestId,
  );
};
