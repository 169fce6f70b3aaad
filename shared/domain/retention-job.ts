/**
 * The retention backfill job: after a tenant's retention changes, every event it already has is
 * re-timed (see retimeEvent in retention.ts). The job lives on the tenant record, so the API shows
 * its progress with the tenant and a newer change simply replaces it (the older run notices on
 * its next checkpoint and stops). Pure: records, transitions and presentation.
 */
/** Where a paged read of the store continues: its continuation key, string attributes only (opaque here). */
export type IndexKey = Record<string, string>;

export type RetentionJobStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface RetentionJob {
  id: string;
  status: RetentionJobStatus;
  /** Target retention in days; null = unlimited. */
  retention_days: number | null;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Events examined so far, and how many of them needed a new expiry. */
  events_done: number;
  events_retimed: number;
  /** Where the next run continues: a write shard of the tenant-time index and the key after which to read. */
  cursor: { shard: number; after?: IndexKey } | null;
  /** Optimistic concurrency: every save is conditioned on the version it read. */
  version: number;
  /** Epoch ms until which a worker holds the job (a crashed run's lease simply runs out). */
  lease_until: number;
  /** Runs started since the last progress; the job fails after MAX_ATTEMPTS without progress. */
  attempts: number;
  error: string | null;
}

export const MAX_ATTEMPTS = 10;

export const newRetentionJob = (id: string, retentionDays: number | null, nowIso: string): RetentionJob => ({
  id,
  status: 'pending',
  retention_days: retentionDays,
  requested_at: nowIso,
  started_at: null,
  finished_at: null,
  events_done: 0,
  events_retimed: 0,
  cursor: { shard: 0 },
  version: 0,
  lease_until: 0,
  attempts: 0,
  error: null,
});

/** What GET /v1/tenants/{id} shows of the job (never the cursor or lease). */
export const presentRetentionJob = (job: RetentionJob) => ({
  id: job.id,
  status: job.status,
  retention_days: job.retention_days ?? 'unlimited',
  requested_at: job.requested_at,
  started_at: job.started_at,
  finished_at: job.finished_at,
  events_done: job.events_done,
  events_retimed: job.events_retimed,
  ...(job.error === null ? {} : { error: job.error }),
});

/** The claim of a run: running, leased until `leaseUntil`, one more attempt. Null when another run holds it. */
export const claimJob = (job: RetentionJob, nowMs: number, leaseUntil: number): RetentionJob | null => {
  if (job.status === 'completed' || job.status === 'failed') return null;
  if (job.lease_until > nowMs) return null;
  if (job.attempts >= MAX_ATTEMPTS) {
    return {
      ...job,
      status: 'failed',
      finished_at: new Date(nowMs).toISOString(),
      error: `no progress in ${MAX_ATTEMPTS} runs`,
      lease_until: 0,
    };
  }
  return {
    ...job,
    status: 'running',
    started_at: job.started_at ?? new Date(nowMs).toISOString(),
    lease_until: leaseUntil,
    attempts: job.attempts + 1,
  };
};
