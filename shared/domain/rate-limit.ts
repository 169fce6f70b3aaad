/**
 * Per-tenant request rate limits: the plan defaults, the operator's override, and the pure
 * decision of an approximate, shared fixed-window limiter. Each authorizer instance counts its
 * own requests per tenant and per one-second window, and now and then adds its unsynced count
 * to a shared counter (one write per instance, tenant and sync interval — never one per request),
 * learning the other instances' total in the same call. A request is admitted while the shared
 * total last seen plus the local unsynced count stays under the limit.
 */
import type { Plan } from './retention.ts';

/**
 * Requests per second by plan. A request carries up to 100 events, so 100 req/s is a sustained
 * 10,000 events/s; every paying plan gets at least that, free tenants a quarter of it.
 */
export const PLAN_RATE_LIMITS_RPS = {
  free: 25,
  pro: 100,
  business: 200,
  enterprise: 400,
  compliance: 400,
} as const satisfies Record<Plan, number>;

/** Highest override the operator may set (API Gateway's default stage limit is 10,000 req/s per account). */
export const MAX_RATE_LIMIT_RPS = 10_000;

export const effectiveRateLimitRps = (plan: Plan, override: number | null | undefined): number =>
  override ?? PLAN_RATE_LIMITS_RPS[plan];

/** The counting window. */
export const RATE_WINDOW_MS = 1000;

export const windowOf = (nowMs: number): number => Math.floor(nowMs / RATE_WINDOW_MS);

export interface WindowCount {
  /** Window number (epoch ms / RATE_WINDOW_MS). */
  window: number;
  /** Every instance's count for the window as last read from the shared counter (incl. ours, synced). */
  shared: number;
  /** Ours, not yet added to the shared counter. */
  unsynced: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Admits the request when the window's known total is below the limit; counts it when admitted. */
export const admit = (count: WindowCount, limitRps: number, nowMs: number): RateDecision => {
  const limit = Math.max(1, Math.round((limitRps * RATE_WINDOW_MS) / 1000));
  if (count.shared + count.unsynced >= limit) {
    const windowEndsMs = (count.window + 1) * RATE_WINDOW_MS;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((windowEndsMs - nowMs) / 1000)) };
  }
  count.unsynced += 1;
  return { allowed: true };
};
