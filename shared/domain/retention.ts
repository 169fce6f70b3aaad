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

/** A tenant's effective retention in days: the custom value when set, else the plan's. `null` = unlimited. */
export const effectiveRetentionDays = (plan: Plan, customDays: number | null | undefined): number => {
  return customDays ?? PLANS[plan];
};

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
