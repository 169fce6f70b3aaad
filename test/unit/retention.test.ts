import { describe, expect, it } from 'vitest';
import {
  effectiveRetentionDays,
  expiresAtEpochSeconds,
  isExpired,
  PLANS,
  presentRetention,
  retentionWindowStartMs,
  retimeEvent,
} from '#shared/domain/retention.ts';
import {
  claimJob,
  MAX_ATTEMPTS,
  newRetentionJob,
  presentRetentionJob,
} from '#shared/domain/retention-job.ts';
import { presentTenant, type TenantRecord } from '#shared/domain/tenant.ts';
import { updateTenantSchema } from '#shared/domain/tenant-input.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

describe('retention tiers', () => {
  it('maps every plan to its SPEC retention', () => {
    expect(PLANS).toEqual({ free: 30, pro: 90, business: 365, enterprise: 730, compliance: 2557 });
  });

  it('prefers the custom retention, and knows unlimited', () => {
    expect(effectiveRetentionDays('pro', null)).toBe(90);
    expect(effectiveRetentionDays('pro', 12)).toBe(12);
    expect(effectiveRetentionDays('free', 'unlimited')).toBeNull();
    expect(presentRetention(null)).toBe('unlimited');
    expect(presentRetention(30)).toBe(30);
  });

  it('computes the TTL as occurred_at + retention, none when unlimited', () => {
    expect(expiresAtEpochSeconds(T0, 30)).toBe((T0 + 30 * DAY) / 1000);
    expect(expiresAtEpochSeconds(T0 + 999, 1)).toBe(Math.floor((T0 + 999 + DAY) / 1000));
    expect(expiresAtEpochSeconds(T0, null)).toBeUndefined();
    expect(retentionWindowStartMs(T0, 30)).toBe(T0 - 30 * DAY);
    expect(retentionWindowStartMs(T0, null)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('treats an event as expired from its expiry second on', () => {
    expect(isExpired(T0 / 1000, T0)).toBe(true);
    expect(isExpired(T0 / 1000, T0 - 1)).toBe(false);
    expect(isExpired(undefined, T0 + 100 * DAY)).toBe(false);
  });

  it('accepts days or "unlimited" as a custom retention, and null to go back to the plan', () => {
    expect(updateTenantSchema.safeParse({ retention_days: 'unlimited' }).success).toBe(true);
    expect(updateTenantSchema.safeParse({ retention_days: null }).success).toBe(true);
    expect(updateTenantSchema.safeParse({ retention_days: 400 }).success).toBe(true);
    for (const bad of [0, -1, 1.5, 'forever', '30', 100_000]) {
      expect(updateTenantSchema.safeParse({ retention_days: bad }).success, String(bad)).toBe(false);
    }
  });
});

describe('re-timing a stored event', () => {
  const occurred = T0;
  const requested = T0 + 10 * DAY;
  const expiry = (days: number) => (occurred + days * DAY) / 1000;

  it('extends an event when the retention grows', () => {
    expect(retimeEvent(occurred, expiry(30), 90, requested)).toEqual({
      action: 'set',
      expiresAt: expiry(90),
    });
  });

  it('shortens an event too, even into the past (TTL then removes it)', () => {
    expect(retimeEvent(occurred, expiry(90), 5, requested)).toEqual({ action: 'set', expiresAt: expiry(5) });
  });

  it('removes the expiry for unlimited retention, and sets one when leaving unlimited', () => {
    expect(retimeEvent(occurred, expiry(30), null, requested)).toEqual({ action: 'remove' });
    expect(retimeEvent(occurred, undefined, 30, requested)).toEqual({ action: 'set', expiresAt: expiry(30) });
    expect(retimeEvent(occurred, undefined, null, requested)).toEqual({ action: 'skip' });
  });

  it('leaves an event alone when nothing changes or when it had expired before the change', () => {
    expect(retimeEvent(occurred, expiry(30), 30, requested)).toEqual({ action: 'skip' });
    expect(retimeEvent(occurred, expiry(5), 90, requested)).toEqual({ action: 'skip' });
  });
});

describe('retention jobs', () => {
  const job = newRetentionJob('rtj_1', 90, '2026-01-01T00:00:00.000Z');

  it('starts pending at the first shard', () => {
    expect(job).toMatchObject({ status: 'pending', cursor: { shard: 0 }, events_done: 0, version: 0 });
  });

  it('is claimed with a lease, and not while another run holds it', () => {
    const claimed = claimJob(job, T0, T0 + 1000);
    expect(claimed).toMatchObject({ status: 'running', lease_until: T0 + 1000, attempts: 1 });
    expect(claimed?.started_at).toBe(new Date(T0).toISOString());
    expect(claimJob(claimed as typeof job, T0 + 999, T0 + 2000)).toBeNull();
    expect(claimJob(claimed as typeof job, T0 + 1000, T0 + 2000)).toMatchObject({ attempts: 2 });
    expect(claimJob({ ...job, status: 'completed' }, T0, T0 + 1)).toBeNull();
  });

  it('fails after too many runs without progress', () => {
    expect(claimJob({ ...job, attempts: MAX_ATTEMPTS }, T0, T0 + 1)).toMatchObject({
      status: 'failed',
      error: `no progress in ${MAX_ATTEMPTS} runs`,
    });
  });

  it('shows progress but never its cursor or lease', () => {
    const shown = presentRetentionJob({
      ...job,
      retention_days: null,
      cursor: { shard: 2, after: { pk: 'x' } },
    });
    expect(shown).toEqual({
      id: 'rtj_1',
      status: 'pending',
      retention_days: 'unlimited',
      requested_at: '2026-01-01T00:00:00.000Z',
      started_at: null,
      finished_at: null,
      events_done: 0,
      events_retimed: 0,
    });
    const tenant: TenantRecord = {
      id: 'tnt_1',
      name: 'A',
      plan: 'pro',
      custom_retention_days: 'unlimited',
      shards: 1,
      created_at: 'c',
      updated_at: 'u',
      retention_job: job,
    };
    expect(presentTenant(tenant)).toMatchObject({
      retention_days: 'unlimited',
      retention_job: { id: 'rtj_1' },
    });
  });
});
