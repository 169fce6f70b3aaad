/**
 * Tenants and API keys: the records kept in the control table and the token format (the admin
 * API's input schemas live in tenant-input.ts, so the authorizer's bundle carries no zod). A key is shown once as `tk.<tenant id>.<key id>.<secret>` and stored only
 * as the SHA-256 of the whole token (the secret has 256 bits of entropy, so a fast hash is
 * enough; there is nothing to brute-force).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
// Type only: the authorizer bundles this module, and event.ts brings zod.
import type { EventInput } from './event.ts';
import { type AccessPolicy, policyOf } from './people.ts';
import type { Scope } from './principal.ts';
import { effectiveRateLimitRps } from './rate-limit.ts';
import { type CustomRetention, effectiveRetentionDays, type Plan, presentRetention } from './retention.ts';
import { presentRetentionJob, type RetentionJob } from './retention-job.ts';

export interface TenantRecord {
  id: string;
  name: string;
  plan: Plan;
  /** Custom retention (days or 'unlimited'); null = the plan's. */
  custom_retention_days: CustomRetention | null;
  /** Write shards per index partition; may grow, never shrink. */
  shards: number;
  created_at: string;
  updated_at: string;
  /** Operator override of the plan's request rate limit (requests per second); absent/null = the plan's. */
  rate_limit_rps?: number | null;
  /** Domains export notification emails may go to (lower case); absent or empty = any domain. */
  email_domains?: string[];
  /** Which roles may view and export (absent = DEFAULT_ACCESS_POLICY of people.ts). */
  access?: AccessPolicy;
  /** Exact https origins that may frame the console (normalised); absent or empty = none. */
  embed_origins?: string[];
  /** The tenant's application URL, where the console sends people to open the audit log; absent/null = none. */
  app_url?: string | null;
  /**
   * The latest change of the tenant's settings, written in the same update as the change itself
   * (an outbox of one): its `trailkeeper.tenant.updated` event is written after the update, and
   * written again, idempotently, by the next update of the tenant (a retry included) in case that
   * write failed. Absent until the first change.
   */
  last_act?: TenantAct;
  /** The latest retention backfill (absent until the retention first changes). */
  retention_job?: RetentionJob;
  /** Where the tenant's digest chain stands (absent until its first digest). */
  seal?: SealState;
  /** The interval end and sequence of the last digest the integrity scan has verified. */
  scanned_through?: string;
  scanned_sequence?: number;
}

/** A change of a tenant's settings, as its trail event will tell it. */
export interface TenantAct {
  /** Derives the event's id (the same act always gives the same event id). */
  event_key: string;
  /** When the change was made (the event's `occurred_at`). */
  at: string;
  /** Who made it: the event's actor (the operator, a key or a person). */
  actor: EventInput['actor'];
  request_id?: string;
  /** The settings that changed, as GET /v1/tenants/{id} shows them, before and after. */
  from: Record<string, unknown>;
  to: Record<string, unknown>;
}

export interface SealState {
  /** Sequence number of the last digest (the first is 1). */
  sequence: number;
  /** End of the last sealed interval (received_at, inclusive). */
  end: string;
  /** SHA-256 (hex) of the last digest, the next one's `previous_digest_hash`. */
  digest_hash: string;
}

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  name: string;
  scopes: Scope[];
  secret_hash: string;
  created_at: string;
  revoked_at: string | null;
}

/** The access policy as shown: `view` then `export` (a stored map keeps no key order). */
const presentPolicy = ({ view, export: exportRoles }: AccessPolicy): AccessPolicy => ({
  view,
  export: exportRoles,
});

export const presentTenant = (t: TenantRecord) => ({
  id: t.id,
  name: t.name,
  plan: t.plan,
  retention_days: presentRetention(effectiveRetentionDays(t.plan, t.custom_retention_days)),
  shards: t.shards,
  rate_limit_rps: effectiveRateLimitRps(t.plan, t.rate_limit_rps ?? null),
  email_domains: t.email_domains ?? [],
  access: presentPolicy(policyOf(t.access)),
  embed_origins: t.embed_origins ?? [],
  app_url: t.app_url ?? null,
  created_at: t.created_at,
  updated_at: t.updated_at,
  ...(t.retention_job === undefined ? {} : { retention_job: presentRetentionJob(t.retention_job) }),
});

export const presentKey = (k: ApiKeyRecord) => ({
  id: k.id,
  tenant_id: k.tenant_id,
  name: k.name,
  scopes: k.scopes,
  created_at: k.created_at,
  revoked_at: k.revoked_at,
});

export const formatToken = (tenantId: string, keyId: string, secret: string): string =>
  `tk.${tenantId}.${keyId}.${secret}`;

export const isTenantId = (id: string): boolean => /^tnt_[0-9a-z]{26}$/.test(id);
export const isKeyId = (id: string): boolean => /^key_[0-9a-z]{26}$/.test(id);

export const parseToken = (token: string): { tenantId: string; keyId: string } | null => {
  const match = /^tk\.(tnt_[0-9a-z]{26})\.(key_[0-9a-z]{26})\.[A-Za-z0-9_-]{43}$/.exec(token);
  return match ? { tenantId: match[1] as string, keyId: match[2] as string } : null;
};

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Constant-time comparison of two secrets of any length (both are hashed first). */
export const secretsEqual = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
