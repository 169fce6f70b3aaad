/**
 * The one definition of Trailkeeper's S3 buckets and queues, read by the CDK stack and by the
 * local runtime (s3rver buckets, the in-process queue endpoint).
 */
import { ENV } from './env.ts';
import type { QueueName } from './manifest.ts';

export interface BucketDefinition {
  /** CDK construct id. */
  readonly id: string;
  /** Environment variable through which handlers learn the bucket name. */
  readonly envVar: string;
  /** Bucket name used by the local runtime. */
  readonly localName: string;
  /** Objects are deleted this many days after creation (absent = kept). */
  readonly expireAfterDays?: number;
}

export const EXPORTS_BUCKET = {
  id: 'Exports',
  envVar: ENV.exportsBucket,
  localName: 'trailkeeper-exports',
  expireAfterDays: 7,
} as const satisfies BucketDefinition;

/**
 * The archive: one gzip NDJSON object per tenant, UTC day of receipt and compaction run, at
 * `tenant=<id>/date=YYYY-MM-DD/events-<hash>.ndjson.gz`; records the archiver could not read at
 * `quarantine/date=YYYY-MM-DD/…`. Object Lock, versioning and SSE-KMS in AWS (see ARCHIVE).
 */
export const ARCHIVE_BUCKET = {
  id: 'Archive',
  envVar: ENV.archiveBucket,
  localName: 'trailkeeper-archive',
} as const satisfies BucketDefinition;

/**
 * The archiver's per-batch objects (`tenant=<id>/date=YYYY-MM-DD/<first sequence>-<hash>.ndjson.gz`),
 * compacted into ARCHIVE_BUCKET once their day is closed. Not locked: the compactor deletes them;
 * whatever is left is expired after `expireAfterDays` (long after any compaction).
 */
export const ARCHIVE_STAGING_BUCKET = {
  id: 'ArchiveStaging',
  envVar: ENV.archiveStagingBucket,
  localName: 'trailkeeper-archive-staging',
  expireAfterDays: 30,
} as const satisfies BucketDefinition;

export const BUCKETS = [
  EXPORTS_BUCKET,
  ARCHIVE_BUCKET,
  ARCHIVE_STAGING_BUCKET,
] as const satisfies readonly BucketDefinition[];

/** Prefix of every event object in the archive bucket (the lifecycle rules filter on it). */
export const ARCHIVE_EVENTS_PREFIX = 'tenant=';
export const ARCHIVE_QUARANTINE_PREFIX = 'quarantine/';

/**
 * Deployment defaults of the archive (CDK context overrides each: `archiveRetentionDays`,
 * `archiveLockMode`, `archiveGlacierAfterDays`, `archiveDeepArchiveAfterDays`).
 */
export const ARCHIVE = {
  /** Object Lock retention of every archived object: 7 years, at least the longest plan. */
  retentionDays: 2557,
  /** COMPLIANCE: nobody, not even the root user, can delete or shorten it. GOVERNANCE: a privileged role can. */
  lockMode: 'COMPLIANCE' as 'COMPLIANCE' | 'GOVERNANCE',
  /** Lifecycle: to Glacier Flexible Retrieval after this many days, then to Deep Archive. */
  glacierAfterDays: 90,
  deepArchiveAfterDays: 365,
  /** Objects below this size stay in S3 Standard (cold storage's per-object overhead outweighs the saving). */
  minTransitionBytes: 128 * 1024,
  /**
   * A UTC day is compacted this many hours after it ended: the stream keeps records 24 h and
   * the archiver retries them until then, so nothing of the day can still be on its way.
   */
  closeAfterHours: 25,
} as const;

export interface QueueDefinition {
  readonly id: string;
  readonly envVar: string;
  /** Queue name used by the local runtime. */
  readonly localName: string;
  /** Seconds a received message stays invisible: at least the consumer's timeout. */
  readonly visibilityTimeoutSeconds: number;
  /** Deliveries before a message goes to the dead-letter queue. */
  readonly maxReceiveCount: number;
}

export const EXPORT_QUEUE = {
  id: 'ExportJobs',
  envVar: ENV.exportQueueUrl,
  localName: 'trailkeeper-export-jobs',
  visibilityTimeoutSeconds: 960,
  maxReceiveCount: 5,
} as const satisfies QueueDefinition;

/**
 * Stream deliveries (shared/usecases/deliveries.ts): `wake` and `replay` messages for the stream
 * deliverer. A failed delivery is retried by a new message sent with DelaySeconds (≤ 900), never
 * by the consumer waiting; the redrive to the DLQ catches only messages the deliverer failed on
 * outright (a store error five times in a row), which the sweeper makes good anyway.
 */
export const DELIVERY_QUEUE = {
  id: 'Deliveries',
  envVar: ENV.deliveryQueueUrl,
  localName: 'trailkeeper-deliveries',
  // Six times the deliverer's timeout, as AWS advises for an event source mapping.
  visibilityTimeoutSeconds: 360,
  maxReceiveCount: 5,
} as const satisfies QueueDefinition;

/** The queues by the name a `queue` function's manifest entry gives (QueueFunctionSpec.queue.name). */
export const QUEUES = {
  exports: EXPORT_QUEUE,
  deliveries: DELIVERY_QUEUE,
} as const satisfies Record<QueueName, QueueDefinition>;

/** SQS's longest DelaySeconds. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/** Presigned download URLs live this long; the stable link is the API's /download endpoint. */
export const DOWNLOAD_URL_TTL_SECONDS = 900;
