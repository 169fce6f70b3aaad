import { describe, expect, it } from 'vitest';
import { admit, effectiveRateLimitRps, PLAN_RATE_LIMITS_RPS, windowOf } from '#shared/domain/rate-limit.ts';
import type { RateCounterStore } from '#shared/usecases/ports/rate-limit.ts';
import { RateLimiter } from '#shared/usecases/rate-limit.ts';
import { MemoryRateCounterStore } from './fakes/rate-limit.ts';

describe('rate limit plans', () => {
  it('lets every paying plan carry 10,000 events/s at 100 events per request', () => {
    for (const plan of ['pro', 'business', 'enterprise', 'compliance'] as const)
      expect(PLAN_RATE_LIMITS_RPS[plan]).toBeGreaterThanOrEqual(100);
  });

  it('prefers the operator override to the plan', () => {
    expect(effectiveRateLimitRps('free', null)).toBe(PLAN_RATE_LIMITS_RPS.free);
    expect(effectiveRateLimitRps('free', 1000)).toBe(1000);
  });
});

describe('admit', () => {
  it('admits below the limit and counts the request as unsynced', () => {
    const count = { window: windowOf(10_000), shared: 3, unsynced: 1 };
    expect(admit(count, 5, 10_000)).toEqual({ allowed: true });
    expect(count.unsynced).toBe(2);
  });

  it('refuses at the limit with the seconds until the window ends, counting nothing', () => {
    const count = { window: windowOf(10_400), shared: 4, unsynced: 1 };
    expect(admit(count, 5, 10_400)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(count.unsynced).toBe(1);
  });
});

describe('RateLimiter', () => {
  it('holds one instance to the limit within a window and starts afresh in the next', async () => {
    const limiter = new RateLimiter(new MemoryRateCounterStore());
    const t0 = 1_000_000;
    let admitted = 0;
    for (let i = 0; i < 50; i++) if ((await limiter.check('tnt_a', 20, t0 + i)).allowed) admitted++;
    expect(admitted).toBe(20);
    expect((await limiter.check('tnt_a', 20, t0 + 1000)).allowed).toBe(true);
  });

  it('keeps tenants apart', async () => {
    const limiter = new RateLimiter(new MemoryRateCounterStore());
    for (let i = 0; i < 30; i++) await limiter.check('tnt_a', 10, 5_000_000 + i);
    expect((await limiter.check('tnt_b', 10, 5_000_040)).allowed).toBe(true);
  });

  it('shares the limit across instances approximately, with far fewer writes than requests', async () => {
    const counters = new MemoryRateCounterStore();
    const instances = [new RateLimiter(counters), new RateLimiter(counters), new RateLimiter(counters)];
    const limit = 100;
    const t0 = 7_000_000;
    let admitted = 0;
    let requests = 0;
    // 3 instances × 1 request per ms for one second: 3,000 requests against a limit of 100.
    for (let ms = 0; ms < 1000; ms++) {
      for (const limiter of instances) {
        requests++;
        if ((await limiter.check('tnt_a', limit, t0 + ms)).allowed) admitted++;
      }
    }
    // Each instance may admit up to a tenth of the limit before it learns the others' counts.
    expect(admitted).toBeGreaterThanOrEqual(limit);
    expect(admitted).toBeLessThanOrEqual(limit + instances.length * (limit / 10));
    expect(counters.writes).toBeLessThan(requests / 50);
  });

  it('fails open when the shared counter cannot be written, and retries at the next sync', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const counters = new MemoryRateCounterStore();
    const store: RateCounterStore = {
      add: async (tenant, window, count) => {
        if (fail) throw new Error('ProvisionedThroughputExceededException');
        return counters.add(tenant, window, count);
      },
    };
    const limiter = new RateLimiter(store, { onSyncError: (e) => errors.push(e) });
    const t0 = 9_000_000;
    for (let i = 0; i < 8; i++) expect((await limiter.check('tnt_a', 100, t0 + i * 300)).allowed).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    fail = false;
    await limiter.check('tnt_a', 100, t0 + 2_700);
    expect(counters.total()).toBeGreaterThan(0);
  });
});
