/**
 * The one route table: which HTTP routes exist, which Lambda (route group) serves each, and
 * what each Lambda may touch. The CDK stack builds functions, routes and IAM grants from it;
 * the local gateway dispatches requests with it.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export type FunctionName = 'health' | 'ingest' | 'query' | 'admin' | 'exports' | 'integrity';

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{name}` for a path parameter. */
  readonly path: string;
  readonly fn: FunctionName;
  /** Whether the Lambda authorizer runs in front of the route. */
  readonly authorized: boolean;
}

/**
 * `retime` = query the tenant-time index and UpdateItem restricted (IAM `dynamodb:Attributes`)
 * to the TTL attribute: the retention backfill's grant, the only update any role holds on events.
 */
export type EventsAccess = 'none' | 'append' | 'read' | 'read-append' | 'retime';
export type ControlAccess = 'none' | 'read' | 'read-write';
export type SecretName = 'operatorKey' | 'cursorKey';
/**
 * Archive: `stage` = put objects into the staging bucket (the stream archiver); `compact` = read
 * and delete staged objects, read and put finalized ones (the compactor); `digests` = put and read
 * signed digests under `digests/` of the archive bucket (the sealer); `digests-read` = read them
 * (the integrity API's proofs, the integrity scan).
 */
export type ArchiveAccess = 'stage' | 'compact' | 'digests' | 'digests-read';
/** The digest signing key: `sign` (KMS Sign and GetPublicKey) or `public-key` (GetPublicKey only). */
export type SigningAccess = 'sign' | 'public-key';
/** Exports bucket: `write` = put objects and run multipart uploads; `read` = presign downloads (GetObject). */
export type BucketAccess = 'read' | 'write' | 'read-write';

export interface FunctionDefinition {
  /** Source file of the handler, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  /** Events table: `append` = conditional PutItem + GetItem only. Never update or delete. */
  readonly events: EventsAccess;
  readonly control: ControlAccess;
  readonly secrets: readonly SecretName[];
  /** Exports bucket (absent = none). */
  readonly exportsBucket?: BucketAccess;
  /** Export job queue: `send` enqueues jobs; `consume` is the worker's event source (and re-enqueues continuations). */
  readonly exportQueue?: 'send' | 'consume';
  /** Sends email through SES. */
  readonly sendsEmail?: boolean;
  /** Extra Node.js flags for this function (appended to NODE_OPTIONS). */
  readonly nodeFlags?: readonly string[];
  /** Archive buckets (absent = none). */
  readonly archive?: ArchiveAccess;
  /** The digest signing key (absent = none). */
  readonly signing?: SigningAccess;
  /**
   * Invoked on a fixed rate (EventBridge schedule in AWS, a timer locally); `contextKey` names
   * the CDK context value that overrides the rate at deploy time.
   */
  readonly schedule?: { readonly rateMinutes: number; readonly contextKey?: string };
}

export const FUNCTIONS: Readonly<Record<FunctionName, FunctionDefinition>> = {
  health: {
    entry: 'functions/health.ts',
    memoryMiB: 256,
    timeoutSeconds: 5,
    events: 'none',
    control: 'none',
    secrets: [],
  },
  ingest: {
    entry: 'functions/ingest.ts',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    events: 'append',
    control: 'none',
    secrets: [],
  },
  query: {
    entry: 'functions/query.ts',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    events: 'read-append',
    control: 'none',
    secrets: ['cursorKey'],
  },
  exports: {
    entry: 'functions/exports.ts',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    events: 'read-append',
    control: 'read-write',
    secrets: [],
    exportsBucket: 'read-write',
    exportQueue: 'send',
    // A synchronous export with notify_email mails the link at once.
    sendsEmail: true,
  },
  integrity: {
    entry: 'functions/integrity.ts',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    // Proofs: the event, its digest (control table) and the digest's sealed leaves (archive).
    events: 'read',
    control: 'read',
    secrets: [],
    signing: 'public-key',
    archive: 'digests-read',
  },
  admin: {
    entry: 'functions/admin.ts',
    memoryMiB: 512,
    timeoutSeconds: 10,
    events: 'none',
    control: 'read-write',
    secrets: [],
  },
};

/** The Lambda authorizer in front of every `authorized` route. */
export const AUTHORIZER = {
  entry: 'functions/authorizer.ts',
  memoryMiB: 512,
  timeoutSeconds: 5,
  events: 'none',
  control: 'read',
  secrets: ['operatorKey'],
  /** The header the authorizer reads the bearer token from. */
  identityHeader: 'authorization',
  /**
   * API Gateway's result cache (seconds): 0, and no identity source, so API Gateway invokes the
   * authorizer for every request, with or without the header, and never answers 401 itself (a
   * missing header reaches the handlers, which answer problem+json).
   */
  cacheTtlSeconds: 0,
  /** The authorizer's own in-memory result cache (seconds): a revoked key is refused after at most this long. */
  inMemoryCacheSeconds: 10,
} as const satisfies FunctionDefinition & {
  identityHeader: string;
  cacheTtlSeconds: number;
  inMemoryCacheSeconds: number;
};

/**
 * Asynchronous export worker: consumes the export queue, streams events to a multipart upload,
 * checkpoints before its time runs out and re-enqueues itself, emails the link when done.
 */
export const EXPORT_WORKER = {
  entry: 'functions/export-worker.ts',
  memoryMiB: 512,
  timeoutSeconds: 900,
  events: 'read-append',
  control: 'read-write',
  secrets: [],
  exportsBucket: 'read-write',
  exportQueue: 'consume',
  sendsEmail: true,
  // Keep the heap close to what the job holds (one 8 MiB part and one page): V8 otherwise lets
  // garbage pile up to its limit before collecting. Measured by `npm run bench` (export part).
  nodeFlags: ['--max-semi-space-size=4', '--max-old-space-size=256'],
} as const satisfies FunctionDefinition;

/**
 * The events table's stream consumer: stages every new event for the archive, counts TTL
 * expiries and retention re-timings, and flags any other modification or removal as tampering.
 * `stream` is its event source mapping (AWS) and the local poller's behaviour.
 */
export const ARCHIVER = {
  entry: 'functions/archiver.ts',
  memoryMiB: 1024,
  timeoutSeconds: 300,
  events: 'none',
  control: 'none',
  secrets: [],
  archive: 'stage',
  /** Metric names (EMF, namespace Trailkeeper): the handler emits them, CDK alarms on two of them. */
  metrics: {
    inserted: 'EventsInserted',
    archived: 'EventsArchived',
    expired: 'EventsExpired',
    retimed: 'EventsRetimed',
    /** A MODIFY other than a re-timing, or a REMOVE other than a TTL expiry. Alarmed. */
    tampering: 'EventTampering',
    /** Records that could not be read as events, written to the archive's quarantine/ prefix. Alarmed. */
    quarantined: 'ArchiveQuarantined',
  },
  stream: {
    batchSize: 1000,
    maxBatchingWindowSeconds: 30,
    /** The archiver never fails on a record's content (it quarantines it), only on S3: retry while the stream keeps the record. */
    retryAttempts: 10_000,
    maxRecordAgeSeconds: 86_400,
    bisectBatchOnError: true,
    parallelizationFactor: 1,
  },
} as const satisfies FunctionDefinition & {
  metrics: Record<string, string>;
  stream: {
    batchSize: number;
    maxBatchingWindowSeconds: number;
    retryAttempts: number;
    maxRecordAgeSeconds: number;
    bisectBatchOnError: boolean;
    parallelizationFactor: number;
  };
};

/**
 * Compacts a closed day's staged archive batches into one object per tenant and day in the
 * Object Lock bucket (deduplicated by event id), then deletes the staged batches.
 */
export const ARCHIVE_COMPACTOR = {
  entry: 'functions/archive-compactor.ts',
  memoryMiB: 2048,
  timeoutSeconds: 900,
  events: 'none',
  control: 'none',
  secrets: [],
  archive: 'compact',
  schedule: { rateMinutes: 60 },
} as const satisfies FunctionDefinition;

/**
 * Seals each tenant's newly received events into a signed, chained digest (RFC 6962 Merkle root)
 * every few minutes, once no write can still land in the interval (see shared/config/integrity.ts).
 */
export const SEALER = {
  entry: 'functions/sealer.ts',
  memoryMiB: 1024,
  timeoutSeconds: 300,
  events: 'read',
  control: 'read-write',
  secrets: [],
  archive: 'digests',
  signing: 'sign',
  schedule: { rateMinutes: 5, contextKey: 'sealEveryMinutes' },
} as const satisfies FunctionDefinition;

/**
 * Re-verifies sealed intervals against the hot store: recomputes each stored event's hash from
 * its document and the interval's Merkle root from the seal index, checks the digest's signature
 * and chain link; any mismatch raises the IntegrityMismatch metric (alarmed).
 */
export const INTEGRITY_SCAN = {
  entry: 'functions/integrity-scan.ts',
  memoryMiB: 1024,
  timeoutSeconds: 600,
  events: 'read',
  control: 'read-write',
  secrets: [],
  signing: 'public-key',
  archive: 'digests-read',
  schedule: { rateMinutes: 15 },
  metrics: { mismatch: 'IntegrityMismatch', verified: 'EventsVerified', missing: 'SealedEventsMissing' },
} as const satisfies FunctionDefinition & { metrics: Record<string, string> };

/**
 * Re-times a tenant's stored events after its retention changed (PATCH /v1/tenants/{id}):
 * picks up pending jobs every minute, checkpoints on the tenant after every page, and resumes
 * where the previous run stopped.
 */
export const RETENTION_WORKER = {
  entry: 'functions/retention-worker.ts',
  memoryMiB: 512,
  timeoutSeconds: 300,
  events: 'retime',
  control: 'read-write',
  secrets: [],
  schedule: { rateMinutes: 1 },
} as const satisfies FunctionDefinition;

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/health', fn: 'health', authorized: false },
  { method: 'POST', path: '/v1/events', fn: 'ingest', authorized: true },
  { method: 'GET', path: '/v1/events', fn: 'query', authorized: true },
  { method: 'GET', path: '/v1/events/{id}', fn: 'query', authorized: true },
  { method: 'GET', path: '/v1/events/{id}/proof', fn: 'integrity', authorized: true },
  { method: 'GET', path: '/v1/integrity/digests', fn: 'integrity', authorized: true },
  // Public by nature: anyone must be able to check a signature without our word for the key.
  { method: 'GET', path: '/v1/integrity/public-key', fn: 'integrity', authorized: false },
  { method: 'POST', path: '/v1/tenants', fn: 'admin', authorized: true },
  { method: 'GET', path: '/v1/tenants/{tenant_id}', fn: 'admin', authorized: true },
  { method: 'PATCH', path: '/v1/tenants/{tenant_id}', fn: 'admin', authorized: true },
  { method: 'POST', path: '/v1/tenants/{tenant_id}/keys', fn: 'admin', authorized: true },
  { method: 'GET', path: '/v1/tenants/{tenant_id}/keys', fn: 'admin', authorized: true },
  { method: 'DELETE', path: '/v1/tenants/{tenant_id}/keys/{key_id}', fn: 'admin', authorized: true },
  { method: 'POST', path: '/v1/exports', fn: 'exports', authorized: true },
  { method: 'GET', path: '/v1/exports/{id}', fn: 'exports', authorized: true },
  { method: 'GET', path: '/v1/exports/{id}/download', fn: 'exports', authorized: true },
];

/** Environment variables through which handlers find their resources (set by CDK and by the local runtime). */
export const ENV = {
  eventsTable: 'EVENTS_TABLE',
  controlTable: 'CONTROL_TABLE',
  /** ARN of the Secrets Manager secret holding the operator key (AWS); absent locally. */
  operatorKeySecretArn: 'OPERATOR_KEY_SECRET_ARN',
  /** Locally: the operator key itself. */
  operatorKey: 'TRAILKEEPER_OPERATOR_KEY',
  cursorKeySecretArn: 'CURSOR_KEY_SECRET_ARN',
  /** Locally: the cursor key itself (base64, 32 bytes). */
  cursorKey: 'TRAILKEEPER_CURSOR_KEY',
  /** Comma-separated extra key names to redact, on top of the defaults. */
  redactKeys: 'TRAILKEEPER_REDACT_KEYS',
  /** Name of the exports bucket. */
  exportsBucket: 'EXPORTS_BUCKET',
  /** URL of the export job queue (SQS). */
  exportQueueUrl: 'EXPORT_QUEUE_URL',
  /** Sender address of notification emails (an SES-verified identity). */
  emailFrom: 'TRAILKEEPER_EMAIL_FROM',
  /** Name of the Object Lock archive bucket (finalized, compacted objects). */
  archiveBucket: 'ARCHIVE_BUCKET',
  /** Name of the archive staging bucket (the archiver's per-batch objects, awaiting compaction). */
  archiveStagingBucket: 'ARCHIVE_STAGING_BUCKET',
  /** Hours after the end of a UTC day before the compactor treats the day as closed (tests: -24 closes today). */
  archiveCloseAfterHours: 'TRAILKEEPER_ARCHIVE_CLOSE_AFTER_HOURS',
  /** The digest signing key in AWS: a KMS key id or ARN (ECC_NIST_P256, SIGN_VERIFY). */
  signingKeyId: 'TRAILKEEPER_SIGNING_KEY_ID',
  /** Locally: a PKCS#8 PEM file holding a P-256 private key (created under .data/ on first start). */
  signingKeyFile: 'TRAILKEEPER_SIGNING_KEY_FILE',
  /** Local runtime and tests only: the sealer's watermark lag in ms (AWS: INTEGRITY's, from the timeouts). */
  sealWatermarkLagMs: 'TRAILKEEPER_SEAL_WATERMARK_LAG_MS',
  /** Milliseconds the export worker keeps in reserve before it checkpoints (tests force tiny budgets). */
  exportTimeReserveMs: 'TRAILKEEPER_EXPORT_TIME_RESERVE_MS',
  /**
   * The deployment's public base URL (`https://audit.example.com`): every link the service hands
   * out is built from it, never from request headers. Unset: links are paths.
   */
  publicUrl: 'TRAILKEEPER_PUBLIC_URL',
  /**
   * Seconds the authorizer keeps a resolved credential in memory (AWS: API Gateway no longer
   * caches, see AUTHORIZER). Unset or 0: no cache, a revoked key is refused at once (local).
   */
  authCacheSeconds: 'TRAILKEEPER_AUTH_CACHE_SECONDS',
  /** `off` disables the per-tenant request rate limits (the bench's raw-throughput runs). */
  rateLimits: 'TRAILKEEPER_RATE_LIMITS',
} as const;
