/**
 * The one definition of Trailkeeper's S3 buckets and queues, read by the CDK stack and by the
 * local runtime (s3rver buckets, the in-process queue endpoint).
 */

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
  envVar: 'EXPORTS_BUCKET',
  localName: 'trailkeeper-exports',
  expireAfterDays: 7,
} as const satisfies BucketDefinition;

export const BUCKETS = [EXPORTS_BUCKET] as const satisfies readonly BucketDefinition[];

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
  envVar: 'EXPORT_QUEUE_URL',
  localName: 'trailkeeper-export-jobs',
  visibilityTimeoutSeconds: 960,
  maxReceiveCount: 5,
} as const satisfies QueueDefinition;

/** Presigned download URLs live this long; the stable link is the API's /download endpoint. */
export const DOWNLOAD_URL_TTL_SECONDS = 900;
