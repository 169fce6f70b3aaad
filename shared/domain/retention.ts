/**
 * Retention tiers and the maths that turns them into DynamoDB TTL values. Pure functions.
 */

export const PLANS = {
  free: 30,
  pro: 90,
  business: 365,
  enterprise: 730,
  compliance: 2557,
} as const satisfies Record<string, number>;

export type Plan = keyof typeof PLANS;
export const PLAN_NAMES = Object.keys(PLANS) as Plan[];

/** Longest custom retention accepted (10 years). Longer records live in the archive. */
export const MAX_RETENTION_DAYS = 3653;

const DAY_MS = 86_400_000;

/** Custom retention of a tenant: a number of days, or `'unlimited'` (events never expire from hot storage). */
export type CustomRetention = number | 'unlimited';

/** A tenant's effective retention in days: the custom value when set, else the plan's. `null` = unlimited. */
export const effectiveRetentionDays = (
  plan: Plan,
  custom: CustomRetention | null | undefined,
): number | null => {
  if (custom === 'unlimited') return null;
  return custom ?? PLANS[plan];
};

/** How the API shows a retention: days, or `"unlimited"`. */
export const presentRetention = (days: number | null): number | 'unlimited' => days ?? 'unlimited';

/** TTL attribute value (epoch seconds) for an event, or undefined when retention is unlimited. */
export const expiresAtEpochSeconds = (
  occurredAtMs: number,
  retentionDays: number | null,
): number | undefined => {
  if (retentionDays === null) return undefined;
  return Math.floor((occurredAtMs + retentionDays * DAY_MS) / 1000);
};

/** Oldest occurred_at (ms) still inside the retention window at `nowMs`. */
export const retentionWindowStartMs = (nowMs: number, retentionDays: number | null): number =>
  retentionDays === null ? Number.NEGATIVE_INFINITY : nowMs - retentionDays * DAY_MS;

export const isExpired = (expiresAtSeconds: number | undefined, nowMs: number): boolean =>
  expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= nowMs;

/** What re-timing does to one stored event: set a new TTL value, remove it (unlimited), or leave it. */
export type Retiming = { action: 'set'; expiresAt: number } | { action: 'remove' } | { action: 'skip' };

/**
 * The re-timing of one stored event when its tenant's retention changes to `retentionDays`
 * (`null` = unlimited), decided at `requestedAtMs` (when the change was made). Both directions
 * re-time: the hot store always holds exactly the tenant's current retention. An event already
 * past its expiry when the change was requested stays expired: TTL may have deleted it already,
 * so reviving only the ones it has not reached yet would be arbitrary.
 */
export const retimeEvent = (
  occurredAtMs: number,
  currentExpiresAt: number | undefined,
  retentionDays: number | null,
  requestedAtMs: number,
): Retiming => {
  if (currentExpiresAt !== undefined && currentExpiresAt * 1000 <= requestedAtMs) return { action: 'skip' };
  const next = expiresAtEpochSeconds(occurredAtMs, retentionDays);
  if (next === currentExpiresAt) return { action: 'skip' };
  return next === undefined ? { action: 'remove' } : { action: 'set', expiresAt: next };
};
