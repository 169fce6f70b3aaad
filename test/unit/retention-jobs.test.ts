/**
 * Retention backfill jobs (shared/usecases/retention-jobs.ts) against the in-memory control store
 * and events table: a retention change re-times every event on every shard, page by page; a run
 * short of time hands the job back and the next one resumes where it stopped, counting nothing
 * twice; a newer change supersedes a running job; a leased job is left to its holder. The
 * worker's DynamoDB commands are asserted in test/handlers/retention-worker.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { eventItemKey } from '#shared/domain/keys.ts';
import { expiresAtEpochSeconds } from '#shared/domain/retention.ts';
import { claimJob } from '#shared/domain/retention-job.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { createTenant, updateTenant } from '#shared/usecases/admin.ts';
import type { RetentionStore } from '#shared/usecases/ports/retention.ts';
import { type RetentionJobDeps, runRetentionJob, runRetentionJobs } from '#shared/usecases/retention-jobs.ts';
import { MemoryControlStore } from './fakes/control.ts';
import { MemoryEventStore } from './fakes/events.ts';
import { MemoryRetentionStore } from './fakes/retention.ts';

const DAY_MS = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const LEASE_MS = 15 * 60_000;
const operator = { kind: 'operator' as const };
const plenty = () => Number.POSITIVE_INFINITY;

/** A tenant on the pro plan (90 days) with `count` events, one a day back from T0, over `shards` shards. */
const setup = async (count: number, shards = 3) => {
  const control = new MemoryControlStore();
  const events = new MemoryRetentionStore();
  let now = T0;
  const deps: RetentionJobDeps = { control, events, now: () => now, leaseMs: LEASE_MS, pageSize: 4 };
  const admin = { control, store: new MemoryEventStore(), redact: createRedactor(), now: () => now };
  const tenant = await createTenant(admin, operator, { name: 'Acme', plan: 'pro', shards });
  const occurred: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const id = `e${String(i).padStart(3, '0')}`;
    occurred[id] = T0 - (i + 1) * DAY_MS;
    const expires = expiresAtEpochSeconds(occurred[id], 90) as number;
    events.add(
      {
        tenant_id: tenant.id,
        id,
        occurred_at: new Date(occurred[id]).toISOString(),
        expires_at: new Date(expires * 1000).toISOString(),
      },
      shards,
    );
  }
  const expiryOf = (id: string) => events.expiryOf(eventItemKey(tenant.id, id).pk);
  const setRetention = (retention_days: number | 'unlimited' | null) =>
    updateTenant(admin, operator, tenant.id, { retention_days });
  const job = async () => (await control.getTenant(tenant.id))?.retention_job;
  const at = (ms: number) => {
    now = ms;
  };
  return { control, events, deps, tenantId: tenant.id, occurred, expiryOf, setRetention, job, at };
};

describe('retention jobs', () => {
  it('re-time every event of every shard, page by page, and leave the active jobs', async () => {
    const w = await setup(25);
    await w.setRetention(7);
    expect(await w.control.listActiveRetentionJobs()).toEqual([w.tenantId]);

    expect(await runRetentionJob(w.deps, w.tenantId, plenty, 0)).toBe('completed');

    for (const [id, occurredMs] of Object.entries(w.occurred)) {
      expect(w.expiryOf(id)).toBe(expiresAtEpochSeconds(occurredMs, 7));
    }
    expect(await w.job()).toMatchObject({
      status: 'completed',
      events_done: 25,
      events_retimed: 25,
      cursor: null,
      finished_at: new Date(T0).toISOString(),
    });
    expect(await w.control.listActiveRetentionJobs()).toEqual([]);
  });

  it('remove the expiry for unlimited retention, and leave events that had expired already', async () => {
    const w = await setup(120, 1);
    // e099 (100 days old) expired at 90 days, before the change was requested.
    const expiredBefore = w.expiryOf('e099');
    await w.setRetention('unlimited');
    expect(await runRetentionJob(w.deps, w.tenantId, plenty, 0)).toBe('completed');
    expect(w.expiryOf('e000')).toBeUndefined();
    expect(w.expiryOf('e088')).toBeUndefined();
    expect(w.expiryOf('e099')).toBe(expiredBefore);
    expect(await w.job()).toMatchObject({ events_done: 120, events_retimed: 89 });
  });

  it('hand the job back when time runs low, and resume from the checkpoint without counting twice', async () => {
    const w = await setup(30);
    await w.setRetention(30);
    let budget = 3; // pages this run may read before it is short of time
    const remaining = () => (budget-- > 0 ? 60_000 : 1_000);

    expect(await runRetentionJob(w.deps, w.tenantId, remaining, 5_000)).toBe('paused');
    const paused = await w.job();
    expect(paused).toMatchObject({ status: 'running', lease_until: 0 });
    // Three pages of at most four events read, the rest left for the next run.
    expect(paused?.events_done).toBeGreaterThan(0);
    expect(paused?.events_done).toBeLessThanOrEqual(12);
    expect(paused?.cursor).not.toBeNull();

    w.at(T0 + 60_000);
    expect(await runRetentionJob(w.deps, w.tenantId, plenty, 5_000)).toBe('completed');
    expect(await w.job()).toMatchObject({ status: 'completed', events_done: 30 });
    for (const [id, occurredMs] of Object.entries(w.occurred)) {
      expect(w.expiryOf(id)).toBe(expiresAtEpochSeconds(occurredMs, 30));
    }
  });

  it('stop a running job that a newer retention change replaced, and run the newer one', async () => {
    const w = await setup(12, 1);
    await w.setRetention(30);
    let pages = 0;
    // While the first run works (before its second page), the operator changes the retention again.
    const events: RetentionStore = {
      page: async (...args) => {
        if (++pages === 2) await w.setRetention(7);
        return w.events.page(...args);
      },
      retime: (...args) => w.events.retime(...args),
    };
    expect(await runRetentionJob({ ...w.deps, events }, w.tenantId, plenty, 0)).toBe('superseded');
    expect(await w.job()).toMatchObject({ status: 'pending', retention_days: 7 });

    expect(await runRetentionJobs(w.deps, plenty, 0)).toEqual({ [w.tenantId]: 'completed' });
    for (const [id, occurredMs] of Object.entries(w.occurred)) {
      expect(w.expiryOf(id)).toBe(expiresAtEpochSeconds(occurredMs, 7));
    }
  });

  it('leave a leased job to the run holding it until the lease runs out', async () => {
    const w = await setup(5);
    await w.setRetention(7);
    const job = await w.job();
    if (job === undefined) throw new Error('no job');
    // Another run claimed it (and, say, crashed).
    await w.control.saveRetentionJob(w.tenantId, claimJob(job, T0, T0 + LEASE_MS) ?? job, job.version);

    expect(await runRetentionJob(w.deps, w.tenantId, plenty, 0)).toBe('busy');
    expect(w.events.retimed).toBe(0);

    w.at(T0 + LEASE_MS + 1);
    expect(await runRetentionJob(w.deps, w.tenantId, plenty, 0)).toBe('completed');
    expect(await w.job()).toMatchObject({ attempts: 0, events_retimed: 5 });
  });

  it('answer none for a tenant without a job, and run nothing once time is short', async () => {
    const w = await setup(3);
    expect(await runRetentionJob(w.deps, w.tenantId, plenty, 0)).toBe('none');
    await w.setRetention(7);
    expect(await runRetentionJobs(w.deps, () => 0, 1_000)).toEqual({});
    expect(w.events.retimed).toBe(0);
  });
});
