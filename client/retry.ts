/**
 * When and how long the client waits before trying a request again. Pure: the clock and the
 * randomness come in. `429` is retried for every request (the service refused it before doing
 * anything, and says when to come back in `Retry-After`). `503`, `502`/`504` and requests that got
 * no answer only when repeating them is harmless (idempotent): a 503 may come from a function that
 * timed out after its write landed, and creating a tenant, key or export twice is not harmless.
 * No other status is retried: a 4xx will not change by asking again.
 */

export interface RetryOptions {
  /** Attempts in all, the first included; 1 never retries. Default 8. */
  maxAttempts?: number;
  /** The first backoff wait without `Retry-After`, doubled at each attempt. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff wait (a longer `Retry-After` is still honoured, within maxElapsedMs). Default 20 s. */
  maxDelayMs?: number;
  /** No retry starts once this much time would have passed since the first attempt. Default 60 s. */
  maxElapsedMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const RETRY_DEFAULTS: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  maxElapsedMs: 60_000,
};

/** A `Retry-After` is waited out, plus up to this share of it, so throttled clients do not return in step. */
export const RETRY_AFTER_SPREAD = 0.2;

export const retryPolicy = (options: RetryOptions = {}): RetryPolicy => {
  const policy = { ...RETRY_DEFAULTS, ...options };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    throw new RangeError('retry.maxAttempts must be an integer of at least 1');
  for (const name of ['baseDelayMs', 'maxDelayMs', 'maxElapsedMs'] as const) {
    if (!(policy[name] >= 0)) throw new RangeError(`retry.${name} must not be negative`);
  }
  return policy;
};

export const isRetryableStatus = (status: number, idempotent: boolean): boolean =>
  status === 429 || (idempotent && (status === 503 || status === 502 || status === 504));

/**
 * `Retry-After` in milliseconds: delay-seconds (RFC 9110; decimals accepted) or an HTTP date.
 * Undefined when absent or unreadable.
 */
export const parseRetryAfter = (header: string | null, nowMs: number): number | undefined => {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};

/** Exponential backoff with "equal jitter": half the capped delay, plus a random share of the other half. */
export const backoffMs = (attempt: number, policy: RetryPolicy, random: () => number): number => {
  const capped = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return capped / 2 + (random() * capped) / 2;
};

/** The wait before the attempt after `attempt`: the service's Retry-After when it gave one, else backoff. */
export const retryDelayMs = (
  attempt: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy,
  random: () => number,
): number =>
  retryAfterMs === undefined
    ? backoffMs(attempt, policy, random)
    : retryAfterMs * (1 + RETRY_AFTER_SPREAD * random());

/** Whether another attempt may start: attempts left, and its wait ends within the time budget. */
export const mayRetry = (attempt: number, elapsedMs: number, delayMs: number, policy: RetryPolicy): boolean =>
  attempt < policy.maxAttempts && elapsedMs + delayMs <= policy.maxElapsedMs;
