/**
 * Runs retention backfill jobs (see shared/domain/retention-job.ts): every pending or running
 * job is claimed with a lease, advanced page by page over each write shard of the tenant-time
 * index, checkpointed on the tenant after every page, and left for the next run when time runs
 * low. A retried or concurrent run cannot double-apply anything: re-timing is idempotent and
 * every checkpoint is conditioned on the job's version.
 */
import { occurredAtOfSortKey } from '../domain/keys.ts';
import { retimeEvent } from '../domain/retention.ts';
import { claimJob, type RetentionJob } from '../domain/retention-job.ts';
import type { ControlStore } from './ports/control.ts';
import type { RetentionStore } from './ports/retention.ts';

export interface RetentionJobDeps {
  control: ControlStore;
  events: RetentionStore;
  now: () => number;
  /** Events per page (one checkpoint each). */
  pageSize?: number;
  /** How long a claim holds a job: past the function's timeout, so a crashed run's job is picked up again. */
  leaseMs: number;
}

export type JobOutcome = 'completed' | 'paused' | 'superseded' | 'busy' | 'failed' | 'none';

const UPDATE_CONCURRENCY = 25;

const occurredAtMs = (sk: string): number => Date.parse(occurredAtOfSortKey(sk));

/** Advances one tenant's job until it completes or `remainingMs()` drops below `reserveMs`. */
export const runRetentionJob = async (
  deps: RetentionJobDeps,
  tenantId: string,
  remainingMs: () => number,
  reserveMs: number,
): Promise<JobOutcome> => {
  const tenant = await deps.control.getTenant(tenantId, true);
  const current = tenant?.retention_job;
  if (tenant === null || current === undefined) return 'none';
  const claim = claimJob(current, deps.now(), deps.now() + deps.leaseMs);
  if (claim === null) return current.status === 'completed' ? 'completed' : 'busy';
  let job = await deps.control.saveRetentionJob(tenantId, claim, current.version);
  if (job === null) return 'superseded';
  if (job.status === 'failed') return 'failed';

  const requestedAtMs = Date.parse(job.requested_at);
  const notExpiredAt = Math.floor(requestedAtMs / 1000);
  const target = job.retention_days;
  const pageSize = deps.pageSize ?? 200;
  while (job.cursor !== null && job.cursor.shard < tenant.shards) {
    if (remainingMs() < reserveMs) {
      // Hand the job back at once: the next run resumes from the checkpoint.
      const saved = await deps.control.saveRetentionJob(tenantId, { ...job, lease_until: 0 }, job.version);
      return saved === null ? 'superseded' : 'paused';
    }
    const { shard, after } = job.cursor;
    const page = await deps.events.page(tenantId, shard, after, pageSize);
    let retimed = 0;
    for (let i = 0; i < page.items.length; i += UPDATE_CONCURRENCY) {
      const results = await Promise.all(
        page.items.slice(i, i + UPDATE_CONCURRENCY).map(async (item) => {
          const change = retimeEvent(occurredAtMs(item.sk), item.expiresAt, target, requestedAtMs);
          if (change.action === 'skip') return false;
          return deps.events.retime(item.pk, change.action === 'set' ? change.expiresAt : null, notExpiredAt);
        }),
      );
      retimed += results.filter(Boolean).length;
    }
    const next: RetentionJob = {
      ...job,
      events_done: job.events_done + page.items.length,
      events_retimed: job.events_retimed + retimed,
      cursor: page.next === undefined ? { shard: shard + 1 } : { shard, after: page.next },
      lease_until: deps.now() + deps.leaseMs,
      attempts: 0,
    };
    const saved = await deps.control.saveRetentionJob(tenantId, next, job.version);
    if (saved === null) return 'superseded';
    job = saved;
  }
  const done: RetentionJob = {
    ...job,
    status: 'completed',
    finished_at: new Date(deps.now()).toISOString(),
    cursor: null,
    lease_until: 0,
  };
  return (await deps.control.saveRetentionJob(tenantId, done, job.version)) === null
    ? 'superseded'
    : 'completed';
};

/** One scheduled run: every tenant with an active job, one after the other, while time lasts. */
export const runRetentionJobs = async (
  deps: RetentionJobDeps,
  remainingMs: () => number,
  reserveMs: number,
): Promise<Record<string, JobOutcome>> => {
  const outcomes: Record<string, JobOutcome> = {};
  for (const tenantId of await deps.control.listActiveRetentionJobs()) {
    if (remainingMs() < reserveMs) break;
    outcomes[tenantId] = await runRetentionJob(deps, tenantId, remainingMs, reserveMs);
  }
  return outcomes;
};
