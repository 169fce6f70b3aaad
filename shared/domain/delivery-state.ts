/**
 * A stream's delivery health after each attempt (SPEC, "Streams and alerts"): delivered, retried
 * with capped exponential backoff and jitter (Retry-After honoured), or disabled — at once on a
 * 410, or after failing for three days. Also the lag a stream reports. Pure: the clock and the
 * random source are passed in; `paused` is the API's to set and clear, never this module's.
 */
import type { StreamStatus } from './stream-input.ts';

/** First retry waits up to this long; each further failure doubles it… */
export const BACKOFF_BASE_MS = 1_000;
/** …up to one minute (SPEC). */
export const BACKOFF_CAP_MS = 60_000;
/**
 * Retry-After is obeyed when it asks for longer than the backoff, but never beyond an hour: a
 * receiver asking for a day (or a bogus far-future date) would otherwise stall the stream past
 * what its operator can see, and the three-day give-up still applies meanwhile.
 */
export const RETRY_AFTER_MAX_MS = 3_600_000;
/** Failing continuously for longer than this disables the stream (SPEC: "up to three days"). */
export const GIVE_UP_AFTER_MS = 3 * 24 * 3_600_000;
/** `last_error` is kept to this many UTF-8 bytes. */
export const MAX_ERROR_BYTES = 1_024;

export interface DeliveryState {
  status: StreamStatus;
  /** Failed attempts in a row; 0 after a delivery. */
  attempts: number;
  /** RFC 3339 times, null when never. */
  last_delivered_at: string | null;
  /** The latest failure, kept after recovery as history (with `last_error_at` to date it). */
  last_error: string | null;
  last_error_at: string | null;
  /** Start of the current run of failures; null when the latest attempt succeeded. */
  failing_since: string | null;
  /** When the next attempt is due; null when nothing waits. */
  next_attempt_at: string | null;
  disabled_at: string | null;
  disabled_reason: string | null;
}

export const initialDeliveryState = (): DeliveryState => ({
  status: 'active',
  attempts: 0,
  last_delivered_at: null,
  last_error: null,
  last_error_at: null,
  failing_since: null,
  next_attempt_at: null,
  disabled_at: null,
  disabled_reason: null,
});

export const NETWORK_ERRORS = ['timeout', 'connect', 'dns', 'tls', 'refused-address', 'protocol'] as const;
export type NetworkError = (typeof NETWORK_ERRORS)[number];

export type AttemptOutcome =
  | {
      status: number;
      /** The Retry-After header as received: delta seconds or an HTTP-date. */
      retryAfter?: string;
      /** The receiver's answer, as much as was read; trimmed and cut before it is kept. */
      body?: string;
    }
  | {
      /**
       * No HTTP answer. `refused-address` (the SSRF guard refused what the name resolved to)
       * counts as a failure like the others, retried and subject to the give-up: the operator may
       * have changed DNS by mistake or mid-migration, and a failing stream shows why in
       * `last_error`, while refusing never sends a byte to the private address.
       */
      error: NetworkError;
      detail?: string;
    };

export interface TransitionContext {
  /** Epoch ms. */
  now: number;
  /** Uniform in [0, 1), e.g. Math.random; seeded in tests. */
  random: () => number;
  /**
   * Values never to keep in `last_error` (the stream's token, its secrets): a receiver may echo
   * them back in an error body.
   */
  secrets?: readonly string[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Equal jitter: half of the capped exponential step is certain, the other half random. Unlike full
 * jitter it never retries a failing receiver almost at once, and it still spreads retries apart.
 * `attempt` counts from 1 (the first retry after one failure).
 */
export const backoffMs = (attempt: number, random: () => number): number => {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (step / 2) * random());
};

/**
 * The delay a Retry-After asks for, in ms from `now`: delta-seconds, or an HTTP-date (RFC 9110's
 * IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must still read). At least 0
 * (a past date means now) and at most RETRY_AFTER_MAX_MS; undefined when absent or unreadable,
 * and then ignored.
 */
export const retryAfterMs = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const delay = /^\d+$/.test(trimmed)
    ? Number(trimmed) * 1_000
    : /[A-Za-z]{3}/.test(trimmed)
      ? // asctime carries no zone and HTTP-dates are GMT: never read one in the host's zone.
        Date.parse(/\bGMT$/.test(trimmed) ? trimmed : `${trimmed} GMT`) - now
      : Number.NaN;
  if (!Number.isFinite(delay)) return undefined;
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(0, delay));
};

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character. */
const cutToBytes = (text: string, max: number): string => {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (used + size > max - 3) break;
    out += char;
    used += size;
  }
  return `${out}...`;
};

/**
 * What `last_error` says: `HTTP <status>: <body>` or `<error>: <detail>`, with known secrets
 * replaced, control characters and runs of white space made single spaces, and cut to 1 KiB.
 */
export const describeFailure = (outcome: AttemptOutcome, secrets: readonly string[] = []): string => {
  const [head, detail] =
    'status' in outcome ? [`HTTP ${outcome.status}`, outcome.body] : [outcome.error, outcome.detail];
  let text = detail ?? '';
  for (const secret of secrets) if (secret.length > 0) text = text.split(secret).join('[redacted]');
  text = text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return cutToBytes(text === '' ? head : `${head}: ${text}`, MAX_ERROR_BYTES);
};

const isSuccess = (outcome: AttemptOutcome): boolean =>
  'status' in outcome && outcome.status >= 200 && outcome.status < 300;

/**
 * The state after one attempt. 2xx: delivered. 410: disabled at once. Anything else (other 4xx,
 * 3xx — redirects are never followed —, 5xx, network errors, a refused address): a failure, retried
 * after the larger of the backoff and Retry-After, or disabled once failing for more than three
 * days. A disabled stream stays as it is (re-enabling is the API's). A paused stream keeps its
 * status (an attempt may have been in flight when it was paused) but records the outcome; only a
 * 410, the receiver saying it is gone for good, disables it — time paused is not time failing.
 */
export const nextState = (
  state: DeliveryState,
  outcome: AttemptOutcome,
  { now, random, secrets = [] }: TransitionContext,
): DeliveryState => {
  if (state.status === 'disabled') return state;
  const keepPaused = (status: StreamStatus): StreamStatus => (state.status === 'paused' ? 'paused' : status);

  if (isSuccess(outcome)) {
    return {
      ...state,
      status: keepPaused('active'),
      attempts: 0,
      last_delivered_at: iso(now),
      failing_since: null,
      next_attempt_at: null,
    };
  }

  const error = describeFailure(outcome, secrets);
  const failed = { ...state, last_error: error, last_error_at: iso(now), attempts: state.attempts + 1 };
  const disable = (reason: string): DeliveryState => ({
    ...failed,
    status: 'disabled',
    next_attempt_at: null,
    disabled_at: iso(now),
    disabled_reason: reason,
  });

  if ('status' in outcome && outcome.status === 410) return disable('the receiver answered 410 Gone');

  const failingSince = state.failing_since ?? iso(now);
  if (state.status !== 'paused' && now - Date.parse(failingSince) > GIVE_UP_AFTER_MS)
    return disable(`failing since ${failingSince}, more than 3 days: ${error}`);

  const backoff = backoffMs(failed.attempts, random);
  const asked = 'status' in outcome ? retryAfterMs(outcome.retryAfter, now) : undefined;
  return {
    ...failed,
    status: keepPaused('failing'),
    failing_since: failingSince,
    next_attempt_at: iso(now + Math.max(backoff, asked ?? 0)),
  };
};

/**
 * A paused stream resumed by the API: active again, due now, and its failure run restarted, so
 * days spent paused do not count towards the three-day give-up. Any other status is returned as is.
 */
export const resumedState = (state: DeliveryState, now: number): DeliveryState =>
  state.status !== 'paused'
    ? state
    : { ...state, status: 'active', attempts: 0, failing_since: null, next_attempt_at: iso(now) };

/**
 * How far behind a stream is: seconds since the oldest event still waiting for it was received;
 * 0 when nothing waits (or the clock is behind the event).
 */
export const lagSeconds = (oldestPendingReceivedAt: string | null | undefined, now: number): number => {
  if (oldestPendingReceivedAt === null || oldestPendingReceivedAt === undefined) return 0;
  const received = Date.parse(oldestPendingReceivedAt);
  if (Number.isNaN(received)) return 0;
  return Math.max(0, Math.floor((now - received) / 1_000));
};
