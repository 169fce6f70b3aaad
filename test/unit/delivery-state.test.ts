import { afterEach, describe, expect, it } from 'vitest';
import {
  type AttemptOutcome,
  BACKOFF_CAP_MS,
  backoffMs,
  type DeliveryState,
  describeFailure,
  GIVE_UP_AFTER_MS,
  initialDeliveryState,
  lagSeconds,
  MAX_ERROR_BYTES,
  NETWORK_ERRORS,
  nextState,
  RETRY_AFTER_MAX_MS,
  resumedState,
  retryAfterMs,
} from '#shared/domain/delivery-state.ts';

// Monday 2026-12-07 10:00:00 UTC.
const NOW = Date.parse('2026-12-07T10:00:00.000Z');
const SECOND = 1_000;
const DAY = 24 * 3_600_000;

/** mulberry32: a small seeded generator, so jitter is random yet replayable. */
const seeded = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

const at = (now: number, random: () => number = seeded(1)) => ({ now, random });
const iso = (ms: number) => new Date(ms).toISOString();
const failing = (overrides: Partial<DeliveryState> = {}): DeliveryState => ({
  ...initialDeliveryState(),
  status: 'failing',
  attempts: 3,
  last_error: 'HTTP 500',
  last_error_at: iso(NOW - 10 * SECOND),
  failing_since: iso(NOW - 60 * SECOND),
  next_attempt_at: iso(NOW),
  ...overrides,
});
const delayOf = (state: DeliveryState, now = NOW) => Date.parse(state.next_attempt_at ?? 'missing') - now;

describe('constants', () => {
  it('are the SPEC figures', () => {
    expect(BACKOFF_CAP_MS).toBe(60_000);
    expect(GIVE_UP_AFTER_MS).toBe(259_200_000);
    expect(MAX_ERROR_BYTES).toBe(1024);
    expect(RETRY_AFTER_MAX_MS).toBe(3_600_000);
  });
});

describe('a delivered attempt', () => {
  it.each([200, 202, 204, 299])(
    'on %i makes the stream active, resets attempts and stamps the delivery',
    (status) => {
      const next = nextState(failing(), { status }, at(NOW));

      expect(next).toEqual({
        ...failing(),
        status: 'active',
        attempts: 0,
        last_delivered_at: iso(NOW),
        failing_since: null,
        next_attempt_at: null,
      });
    },
  );

  it('keeps the last error as history, dated', () => {
    const next = nextState(failing(), { status: 200 }, at(NOW));

    expect(next.last_error).toBe('HTTP 500');
    expect(next.last_error_at).toBe(iso(NOW - 10 * SECOND));
  });
});

describe('a 410 Gone', () => {
  it('disables the stream at once, saying when and why', () => {
    const next = nextState(
      initialDeliveryState(),
      { status: 410, body: 'endpoint removed', retryAfter: '5' },
      at(NOW),
    );

    expect(next).toEqual({
      ...initialDeliveryState(),
      status: 'disabled',
      attempts: 1,
      last_error: 'HTTP 410: endpoint removed',
      last_error_at: iso(NOW),
      disabled_at: iso(NOW),
      disabled_reason: 'the receiver answered 410 Gone',
      next_attempt_at: null,
    });
  });

  it('disables a paused stream too', () => {
    const next = nextState({ ...initialDeliveryState(), status: 'paused' }, { status: 410 }, at(NOW));

    expect(next.status).toBe('disabled');
  });
});

describe('a failed attempt', () => {
  const outcomes: AttemptOutcome[] = [
    { status: 301 },
    { status: 400 },
    { status: 401 },
    { status: 403 },
    { status: 404 },
    { status: 413 },
    { status: 429 },
    { status: 500 },
    { status: 503 },
    ...NETWORK_ERRORS.map((error) => ({ error })),
  ];

  it.each(outcomes)('%o makes an active stream failing and schedules a retry', (outcome) => {
    const next = nextState(
      initialDeliveryState(),
      outcome,
      at(NOW, () => 0.5),
    );

    expect(next.status).toBe('failing');
    expect(next.attempts).toBe(1);
    expect(next.failing_since).toBe(iso(NOW));
    expect(next.last_error_at).toBe(iso(NOW));
    expect(next.last_error).toBe('status' in outcome ? `HTTP ${outcome.status}` : outcome.error);
    expect(delayOf(next)).toBe(750);
    expect(next.disabled_at).toBeNull();
  });

  it('counts a refused address (SSRF guard) as a failure, keeping the detail', () => {
    const next = nextState(
      failing(),
      { error: 'refused-address', detail: 'siem.example.com resolved to 10.0.0.7' },
      at(NOW),
    );

    expect(next.status).toBe('failing');
    expect(next.attempts).toBe(4);
    expect(next.failing_since).toBe(failing().failing_since);
    expect(next.last_error).toBe('refused-address: siem.example.com resolved to 10.0.0.7');
  });

  it('backs off exponentially with equal jitter, capped at one minute (seeded)', () => {
    const random = seeded(14);
    let state = initialDeliveryState();
    const delays: number[] = [];

    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const now = NOW + attempt * 120 * SECOND;
      state = nextState(state, { status: 503 }, { now, random });
      delays.push(delayOf(state, now));
    }

    const steps = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60].map((s) => s * SECOND);
    delays.forEach((delay, index) => {
      const step = steps[index] as number;
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    });
    expect(state.attempts).toBe(12);
    expect(Math.max(...delays)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
    // Jittered: the capped retries do not all land on the same instant.
    expect(new Set(delays.slice(6)).size).toBeGreaterThan(1);
  });

  it('reaches both ends of the jitter range', () => {
    expect([1, 2, 3, 7, 8, 40].map((n) => backoffMs(n, () => 0))).toEqual([
      500, 1000, 2000, 30_000, 30_000, 30_000,
    ]);
    expect([1, 2, 3, 7, 8, 40].map((n) => backoffMs(n, () => 1))).toEqual([
      1000, 2000, 4000, 60_000, 60_000, 60_000,
    ]);
  });
});

describe('Retry-After', () => {
  afterEach(() => {
    delete process.env.TZ;
  });

  it('in seconds is obeyed when longer than the backoff', () => {
    const next = nextState(initialDeliveryState(), { status: 429, retryAfter: '120' }, at(NOW));

    expect(delayOf(next)).toBe(120 * SECOND);
  });

  it('shorter than the backoff leaves the backoff', () => {
    const next = nextState(
      failing({ attempts: 9 }),
      { status: 503, retryAfter: '1' },
      at(NOW, () => 0),
    );

    expect(delayOf(next)).toBe(30 * SECOND);
  });

  it('as an HTTP-date is obeyed', () => {
    const next = nextState(
      initialDeliveryState(),
      { status: 503, retryAfter: 'Mon, 07 Dec 2026 10:05:00 GMT' },
      at(NOW),
    );

    expect(delayOf(next)).toBe(5 * 60 * SECOND);
  });

  it('reads the obsolete date forms, asctime as GMT whatever the host zone', () => {
    process.env.TZ = 'Asia/Tokyo';

    expect(retryAfterMs('Monday, 07-Dec-26 10:05:00 GMT', NOW)).toBe(300 * SECOND);
    expect(retryAfterMs('Mon Dec  7 10:05:00 2026', NOW)).toBe(300 * SECOND);
  });

  it('is capped at one hour', () => {
    expect(retryAfterMs('86400', NOW)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).toBe(RETRY_AFTER_MAX_MS);
    const next = nextState(initialDeliveryState(), { status: 503, retryAfter: '86400' }, at(NOW));
    expect(delayOf(next)).toBe(RETRY_AFTER_MAX_MS);
  });

  it.each([
    ['a past date', 'Sun, 06 Dec 2026 10:00:00 GMT', 0],
    ['zero', '0', 0],
    ['padded', ' 30 ', 30 * SECOND],
    ['garbage', 'soon', undefined],
    ['a negative number', '-5', undefined],
    ['a fraction', '1.5', undefined],
    ['absent', undefined, undefined],
  ])('%s reads as %s', (_case, value, expected) => {
    expect(retryAfterMs(value, NOW)).toBe(expected);
  });

  it('that is unreadable falls back to the backoff', () => {
    const next = nextState(
      initialDeliveryState(),
      { status: 503, retryAfter: 'soon' },
      at(NOW, () => 1),
    );

    expect(delayOf(next)).toBe(1 * SECOND);
  });
});

describe('the three-day give-up', () => {
  const since = NOW - GIVE_UP_AFTER_MS;

  it('keeps retrying at exactly three days of failure', () => {
    const next = nextState(failing({ failing_since: iso(since) }), { status: 500 }, at(NOW));

    expect(next.status).toBe('failing');
    expect(next.failing_since).toBe(iso(since));
  });

  it('disables the stream once failing for more than three days', () => {
    const next = nextState(failing({ failing_since: iso(since) }), { error: 'timeout' }, at(NOW + 1));

    expect(next).toMatchObject({
      status: 'disabled',
      disabled_at: iso(NOW + 1),
      disabled_reason: `failing since ${iso(since)}, more than 3 days: timeout`,
      next_attempt_at: null,
      last_error: 'timeout',
    });
  });

  it('counts from the first failure of a run, across many retries (injected clock)', () => {
    const random = seeded(3);
    let state = nextState(initialDeliveryState(), { status: 502 }, { now: NOW, random });
    let now = NOW;
    while (state.status === 'failing') {
      now += 30 * 60_000;
      state = nextState(state, { status: 502 }, { now, random });
    }

    expect(state.status).toBe('disabled');
    expect(now - NOW).toBeGreaterThan(3 * DAY);
    expect(now - NOW).toBeLessThanOrEqual(3 * DAY + 30 * 60_000);
    expect(state.disabled_reason).toMatch(`failing since ${iso(NOW)}`);
  });

  it('restarts after a delivery', () => {
    const recovered = nextState(failing({ failing_since: iso(since) }), { status: 200 }, at(NOW));
    const next = nextState(recovered, { status: 500 }, at(NOW + 1));

    expect(next.status).toBe('failing');
    expect(next.failing_since).toBe(iso(NOW + 1));
  });
});

describe('last_error', () => {
  it('keeps the status and the trimmed receiver body, on one line', () => {
    expect(
      describeFailure({ status: 502, body: '  <html>\n\t<h1>Bad\r\ngateway</h1>\u0000 </html>\n' }),
    ).toBe('HTTP 502: <html> <h1>Bad gateway</h1> </html>');
  });

  it('is at most 1 KiB of UTF-8, not cutting a character', () => {
    const next = nextState(initialDeliveryState(), { status: 500, body: '€'.repeat(5_000) }, at(NOW));
    const kept = next.last_error ?? '';

    expect(Buffer.byteLength(kept, 'utf8')).toBeLessThanOrEqual(MAX_ERROR_BYTES);
    expect(Buffer.byteLength(kept, 'utf8')).toBeGreaterThan(MAX_ERROR_BYTES - 4);
    expect(kept).toMatch(/^HTTP 500: €+\.\.\.$/);
  });

  it('never keeps the stream secrets a receiver echoes back', () => {
    const next = nextState(
      initialDeliveryState(),
      { status: 403, body: 'invalid token abc-123-secret for Splunk abc-123-secret' },
      { ...at(NOW), secrets: ['abc-123-secret', ''] },
    );

    expect(next.last_error).toBe('HTTP 403: invalid token [redacted] for Splunk [redacted]');
  });
});

describe('statuses this module does not own', () => {
  it('leaves a disabled stream as it is', () => {
    const disabled: DeliveryState = {
      ...failing(),
      status: 'disabled',
      disabled_at: iso(NOW - DAY),
      disabled_reason: 'the receiver answered 410 Gone',
    };

    expect(nextState(disabled, { status: 200 }, at(NOW))).toBe(disabled);
    expect(nextState(disabled, { status: 500 }, at(NOW))).toBe(disabled);
  });

  it('keeps a paused stream paused while recording the outcome of an attempt in flight', () => {
    const paused = failing({ status: 'paused', failing_since: iso(NOW - 10 * DAY) });

    const afterFailure = nextState(paused, { status: 500 }, at(NOW));
    const afterSuccess = nextState(paused, { status: 200 }, at(NOW));

    expect(afterFailure).toMatchObject({ status: 'paused', attempts: 4, last_error_at: iso(NOW) });
    expect(afterSuccess).toMatchObject({ status: 'paused', attempts: 0, last_delivered_at: iso(NOW) });
  });

  it('on resume, does not count the days paused towards the give-up', () => {
    const paused = failing({ status: 'paused', failing_since: iso(NOW - 10 * DAY) });

    const resumed = resumedState(paused, NOW);
    const next = nextState(resumed, { status: 500 }, at(NOW + SECOND));

    expect(resumed).toMatchObject({
      status: 'active',
      attempts: 0,
      failing_since: null,
      next_attempt_at: iso(NOW),
    });
    expect(next).toMatchObject({ status: 'failing', failing_since: iso(NOW + SECOND) });
    expect(resumedState(failing(), NOW)).toEqual(failing());
  });
});

describe('lag', () => {
  it('is the whole seconds since the oldest pending event was received', () => {
    expect(lagSeconds(iso(NOW - 90_900), NOW)).toBe(90);
  });

  it('is 0 when nothing waits, or the event is from the future, or the time unreadable', () => {
    expect(lagSeconds(null, NOW)).toBe(0);
    expect(lagSeconds(undefined, NOW)).toBe(0);
    expect(lagSeconds(iso(NOW + 5_000), NOW)).toBe(0);
    expect(lagSeconds('not a time', NOW)).toBe(0);
  });
});
