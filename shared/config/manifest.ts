/**
 * The service manifest: every Lambda function of Trailkeeper, once, with its kind (what invokes
 * it), its size, what it may touch and, for HTTP functions, its routes. The CDK stack builds
 * functions, grants, triggers and alarms from it; the local runtime runs the same functions from
 * it; the test helpers iterate it. Adding a function is one entry here (plus its module,
 * `functions/<kebab-case name>.ts`, exporting `handler`); adding a route is one line.
 *
 * Derived from it elsewhere: the route table and its typed route keys (routes.ts), the sealing
 * watermark (integrity.ts).
 */

export type FunctionKind = 'http' | 'authorizer' | 'queue' | 'stream' | 'schedule';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A route as API Gateway keys it, `METHOD /path`; `{name}` is a path parameter. */
export type RouteKeyPattern = `${HttpMethod} /${string}`;

export interface RouteSpec {
  readonly route: RouteKeyPattern;
  /**
   * Why anyone may call this route without credentials (the cdk-nag acknowledgement). Absent:
   * the Lambda authorizer runs in front of it. Synth refuses a blank reason (infra/constructs/api.ts).
   */
  readonly public?: string;
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
/**
 * The viewer-session token key: `sign` (KMS Sign of a SHA-256 digest, and GetPublicKey: the
 * sessions function alone) or `verify` (GetPublicKey only: the authorizer).
 */
export type SessionKeyAccess = 'sign' | 'verify';
/** Exports bucket: `write` = put objects and run multipart uploads; `read` = presign downloads (GetObject). */
export type BucketAccess = 'read' | 'write' | 'read-write';

interface FunctionBase {
  readonly kind: FunctionKind;
  /** The Lambda function's description. */
  readonly description: string;
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  /** Events table: `append` = conditional PutItem + GetItem only. Never update or delete. */
  readonly events: EventsAccess;
  readonly control: ControlAccess;
  readonly secrets: readonly SecretName[];
  /** Exports bucket (absent = none). */
  readonly exportsBucket?: BucketAccess;
  /** Export job queue: `send` enqueues jobs; `consume` is the queue worker's (it re-enqueues continuations). */
  readonly exportQueue?: 'send' | 'consume';
  /** Sends email through SES. */
  readonly sendsEmail?: boolean;
  /**
   * The stream outbox (OUTBOX_TABLE): `write` = BatchWriteItem puts (the router), `read` = Query
   * only (the sweeper's emptiness check), `read-write` = Query, puts and deletes (the deliverer).
   */
  readonly outbox?: 'write' | 'read' | 'read-write';
  /** The stream delivery queue (DELIVERY_QUEUE): `send` wakes streams; `consume` is its consumer's (it re-sends delayed wakes). */
  readonly deliveryQueue?: 'send' | 'consume';
  /**
   * The destination secrets key (KMS, shared/adapters/secret-box.ts): `seal` = Encrypt (the
   * streams API storing a new secret), `open` = Decrypt (the deliverer), `seal-open` = both.
   */
  readonly destinationKey?: 'seal' | 'open' | 'seal-open';
  /**
   * Outbound HTTP to tenant-chosen destinations through postGuarded: the function's environment
   * carries the network policy (TRAILKEEPER_PRIVATE_DESTINATIONS; never the loopback exception).
   */
  readonly destinations?: boolean;
  /** Extra Node.js flags for this function (appended to NODE_OPTIONS). */
  readonly nodeFlags?: readonly string[];
  /** Archive buckets (absent = none). */
  readonly archive?: ArchiveAccess;
  /** The digest signing key (absent = none). */
  readonly signing?: SigningAccess;
  /** The viewer-session token key (absent = none). */
  readonly sessionKey?: SessionKeyAccess;
  /**
   * `consume`: DeleteItem on the control table's viewer-session codes only (IAM LeadingKeys), the
   * code exchange's one write.
   */
  readonly sessionCodes?: 'consume';
  /**
   * The action registry (control-table items under `ACTIONS#`, shared/domain/control-keys.ts):
   * `register` = conditional PutItem of those items only (IAM LeadingKeys), for functions that
   * append events without other control-table writes (functions with `control: 'read-write'` may
   * already); `list` = Query of those items only, for a function that reads nothing else there.
   */
  readonly actionRegistry?: 'register' | 'list';
  /**
   * The kind registry (control-table items under `KINDS#`, shared/domain/control-keys.ts):
   * `register` = UpdateItem of those items only (IAM LeadingKeys and attributes), for every
   * function that appends events — its store registers each new kind and actor email before it
   * stores the event (shared/usecases/kinds.ts), and an append without it fails; `read` = Query
   * of those items only, for a function that plans event queries (listEvents, exports);
   * `register-read` = both. Granted whatever `control` grants besides.
   */
  readonly kindRegistry?: 'register' | 'read' | 'register-read';
  /**
   * Names of the metrics the handler emits (Powertools EMF, namespace and `service` dimension of
   * shared/config/observability.ts). CDK alarms watch some of them: rename one, rename both.
   */
  readonly metrics?: Readonly<Record<string, string>>;
}

/** Serves routes of the HTTP API (payload format 2.0). */
export interface HttpFunctionSpec extends FunctionBase {
  readonly kind: 'http';
  readonly routes: readonly RouteSpec[];
}

/** The HTTP API's Lambda authorizer (simple responses), in front of every route that is not `public`. */
export interface AuthorizerFunctionSpec extends FunctionBase {
  readonly kind: 'authorizer';
  /** The header the authorizer reads the bearer token from. */
  readonly identityHeader: string;
  /** API Gateway's result cache in seconds (must be 0: see infra/constructs/api.ts). */
  readonly cacheTtlSeconds: number;
  /** The authorizer's own in-memory result cache (seconds): a revoked key is refused after at most this long. */
  readonly inMemoryCacheSeconds: number;
}

/** The service's SQS queues (storage.ts QUEUES), each consumed by exactly one `queue` function. */
export type QueueName = 'exports' | 'deliveries';

/** Consumes one of the queues of storage.ts (QUEUES[queue.name]) through an SQS event source. */
export interface QueueFunctionSpec extends FunctionBase {
  readonly kind: 'queue';
  readonly queue: {
    readonly name: QueueName;
    /** Messages per invocation. */
    readonly batchSize: number;
  };
}

/** Consumes the events table's stream (NEW_AND_OLD_IMAGES) through an event source mapping; the local stream poller locally. */
export interface StreamFunctionSpec extends FunctionBase {
  readonly kind: 'stream';
  readonly stream: {
    readonly batchSize: number;
    readonly maxBatchingWindowSeconds: number;
    readonly retryAttempts: number;
    readonly maxRecordAgeSeconds: number;
    readonly bisectBatchOnError: boolean;
    readonly parallelizationFactor: number;
    /** What a message in the mapping's on-failure queue means, for the operator (its alarm's description). */
    readonly deadLetterDescription: string;
  };
}

/**
 * Invoked on a fixed rate: an EventBridge schedule in AWS (infra/constructs/schedule.ts), a timer
 * locally (infra/local/scheduler.ts).
 */
export interface ScheduleFunctionSpec extends FunctionBase {
  readonly kind: 'schedule';
  readonly schedule: {
    readonly rateMinutes: number;
    /** The CDK context value that overrides the rate at deploy time. */
    readonly contextKey?: string;
    /** The local runtime's period when it should differ from the AWS rate (ms). */
    readonly localEveryMs?: number;
  };
}

export type FunctionSpec =
  | HttpFunctionSpec
  | AuthorizerFunctionSpec
  | QueueFunctionSpec
  | StreamFunctionSpec
  | ScheduleFunctionSpec;

const SPECS = {
  health: {
    kind: 'http',
    description: 'Trailkeeper health routes',
    memoryMiB: 256,
    timeoutSeconds: 5,
    events: 'none',
    control: 'none',
    secrets: [],
    routes: [
      {
        route: 'GET /health',
        public: 'Liveness probe for load balancers and uptime checks: answers a constant, reads no data.',
      },
    ],
  },
  openapi: {
    kind: 'http',
    description: 'Trailkeeper API contract (OpenAPI document)',
    memoryMiB: 256,
    timeoutSeconds: 5,
    events: 'none',
    control: 'none',
    secrets: [],
    routes: [
      {
        route: 'GET /v1/openapi.json',
        public:
          'The API contract (OpenAPI 3.1): built from the route table and schemas, the same for everyone; it reveals no tenant data.',
      },
    ],
  },
  ingest: {
    kind: 'http',
    description: 'Trailkeeper ingest routes',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    events: 'append',
    // Registers the kinds and actor emails of the events it stores, before storing them.
    kindRegistry: 'register',
    control: 'none',
    // Registers each new action of the events it stores (for GET /v1/actions).
    actionRegistry: 'register',
    secrets: [],
    routes: [{ route: 'POST /v1/events' }],
  },
  query: {
    kind: 'http',
    description: 'Trailkeeper query routes',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    events: 'read-append',
    // Plans reads from the kind registry; registers the kinds of its audit_log.viewed events.
    kindRegistry: 'register-read',
    control: 'none',
    // Registers the action of its audit_log.viewed events (for GET /v1/actions).
    actionRegistry: 'register',
    secrets: ['cursorKey'],
    routes: [{ route: 'GET /v1/events' }, { route: 'GET /v1/events/{id}' }, { route: 'GET /v1/feed' }],
  },
  /**
   * The actions a reader may see, for the console's suggestions: reads the action registry in the
   * control table, never the events table.
   */
  actions: {
    kind: 'http',
    description: 'Trailkeeper action suggestions',
    memoryMiB: 256,
    timeoutSeconds: 10,
    events: 'none',
    // Only the registry: no tenant, key hash or job of the control table is readable here.
    control: 'none',
    actionRegistry: 'list',
    secrets: [],
    routes: [{ route: 'GET /v1/actions' }],
  },
  exports: {
    kind: 'http',
    description: 'Trailkeeper exports routes',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    events: 'read-append',
    // Plans exports from the kind registry; registers the kinds of the events it appends.
    kindRegistry: 'register-read',
    control: 'read-write',
    secrets: [],
    exportsBucket: 'read-write',
    exportQueue: 'send',
    // A synchronous export with notify_email mails the link at once.
    sendsEmail: true,
    routes: [
      { route: 'POST /v1/exports' },
      { route: 'GET /v1/exports/{id}' },
      { route: 'GET /v1/exports/{id}/download' },
    ],
  },
  integrity: {
    kind: 'http',
    description: 'Trailkeeper integrity routes',
    memoryMiB: 1024,
    timeoutSeconds: 29,
    // Proofs: the event, its digest (control table) and the digest's sealed leaves (archive).
    events: 'read',
    control: 'read',
    secrets: [],
    signing: 'public-key',
    archive: 'digests-read',
    routes: [
      { route: 'GET /v1/events/{id}/proof' },
      { route: 'GET /v1/integrity/digests' },
      {
        route: 'GET /v1/integrity/public-key',
        public:
          'The public half of the digest signing key: auditors must fetch it to verify digests without credentials from us, and it reveals nothing about any tenant.',
      },
    ],
  },
  admin: {
    kind: 'http',
    description: 'Trailkeeper admin routes',
    memoryMiB: 512,
    timeoutSeconds: 10,
    // Every administrative act writes its trailkeeper.* event into the tenant's own trail.
    events: 'append',
    // Registers the kinds of its trailkeeper.* events.
    kindRegistry: 'register',
    control: 'read-write',
    secrets: [],
    routes: [
      { route: 'POST /v1/tenants' },
      { route: 'GET /v1/tenants/{tenant_id}' },
      { route: 'PATCH /v1/tenants/{tenant_id}' },
      { route: 'POST /v1/tenants/{tenant_id}/keys' },
      { route: 'GET /v1/tenants/{tenant_id}/keys' },
      { route: 'DELETE /v1/tenants/{tenant_id}/keys/{key_id}' },
      { route: 'POST /v1/tenants/{tenant_id}/viewer-sessions' },
      { route: 'DELETE /v1/tenants/{tenant_id}/viewer-sessions' },
    ],
  },

  /**
   * The streams API: a tenant's SIEM destinations (configuration, health, test delivery, replay,
   * secret rotation). Seals secrets and tokens; sends one test POST itself (postGuarded); wakes
   * and replays through the delivery queue. Every change writes its trailkeeper.stream.* event.
   */
  streams: {
    kind: 'http',
    description: 'Trailkeeper streams routes',
    memoryMiB: 512,
    // The test delivery may take the whole 10 s delivery timeout.
    timeoutSeconds: 20,
    events: 'append',
    // Registers the kinds of its trailkeeper.stream.* events.
    kindRegistry: 'register',
    // Stream items (TENANT#<t> / STREAM#<id>), the tenant (retention, own trail); registers actions.
    control: 'read-write',
    secrets: [],
    // Seals new secrets and tokens; opens them for the test delivery.
    destinationKey: 'seal-open',
    destinations: true,
    deliveryQueue: 'send',
    routes: [
      { route: 'POST /v1/streams' },
      { route: 'GET /v1/streams' },
      { route: 'GET /v1/streams/{id}' },
      { route: 'PATCH /v1/streams/{id}' },
      { route: 'DELETE /v1/streams/{id}' },
      { route: 'POST /v1/streams/{id}/test' },
      { route: 'POST /v1/streams/{id}/replay' },
      { route: 'POST /v1/streams/{id}/rotate-secret' },
    ],
  },

  /**
   * The alerts API: a tenant's alert rules (match, threshold, absence, cooldown, targets). Seals
   * Slack URLs and webhook signing secrets; checks URLs under the deployment's network policy.
   * Every change writes its trailkeeper.alert.* event. Evaluation is the stream router's.
   */
  alerts: {
    kind: 'http',
    description: 'Trailkeeper alerts routes',
    memoryMiB: 512,
    timeoutSeconds: 10,
    events: 'append',
    // Registers the kinds of its trailkeeper.alert.* events.
    kindRegistry: 'register',
    // Alert items (TENANT#<t> / ALERT#<id>), the tenant (email domains, own trail); registers actions.
    control: 'read-write',
    secrets: [],
    destinationKey: 'seal',
    // Never posts; carries the network policy its URL checks follow.
    destinations: true,
    routes: [
      { route: 'POST /v1/alerts' },
      { route: 'GET /v1/alerts' },
      { route: 'GET /v1/alerts/{id}' },
      { route: 'PATCH /v1/alerts/{id}' },
      { route: 'DELETE /v1/alerts/{id}' },
    ],
  },

  /**
   * The console's page shell: the one HTML document of `/console/t/{tenant_id}/` (CloudFront and
   * the local gateway route every page path of a tenant's console here, infra/edge), carrying the
   * tenant's own Content-Security-Policy. Its scripts and styles are static assets (S3 behind
   * CloudFront; the local gateway). It reads the tenant's embed origins and application URL only.
   */
  console: {
    kind: 'http',
    description: 'Trailkeeper console page shell',
    memoryMiB: 256,
    timeoutSeconds: 5,
    events: 'none',
    control: 'read',
    secrets: [],
    routes: [
      {
        route: 'GET /console/t/{tenant_id}',
        public:
          'The audit log page a person opens from a viewer-session link, before any token exists: the same static page for every tenant but for its Content-Security-Policy (which origins may frame it) and where to send people back to; it holds no event data, which the page then reads with the session token.',
      },
    ],
  },

  /**
   * Exchanges a viewer session's one-time code for its session token: the only function that may
   * sign with the session key. Small and public (the code is the credential).
   */
  sessions: {
    kind: 'http',
    description: 'Trailkeeper viewer-session code exchange',
    memoryMiB: 256,
    timeoutSeconds: 5,
    events: 'none',
    // Reads the tenant and the revocations; its one write is consuming the code.
    control: 'read',
    sessionCodes: 'consume',
    secrets: [],
    sessionKey: 'sign',
    routes: [
      {
        route: 'POST /v1/sessions',
        public:
          'A browser exchanges the one-time code of a viewer-session link for its session token: the code (256 random bits, single use, minutes long) is the credential, so no Authorization header can be required.',
      },
    ],
  },

  authorizer: {
    kind: 'authorizer',
    description: 'Trailkeeper bearer-token authorizer',
    memoryMiB: 512,
    timeoutSeconds: 5,
    events: 'none',
    control: 'read',
    secrets: ['operatorKey'],
    // Verifies viewer-session tokens with the session key's public half.
    sessionKey: 'verify',
    identityHeader: 'authorization',
    /**
     * 0, and no identity source, so API Gateway invokes the authorizer for every request, with or
     * without the header, and never answers 401 itself (a missing header reaches the handlers,
     * which answer problem+json).
     */
    cacheTtlSeconds: 0,
    inMemoryCacheSeconds: 10,
  },

  /**
   * Asynchronous export worker: streams events to a multipart upload, checkpoints before its
   * time runs out and re-enqueues itself, emails the link when done.
   */
  exportWorker: {
    kind: 'queue',
    description: 'Trailkeeper asynchronous export worker',
    memoryMiB: 512,
    timeoutSeconds: 900,
    events: 'read-append',
    // Plans export jobs from the kind registry; registers the kinds of the events it appends.
    kindRegistry: 'register-read',
    control: 'read-write',
    secrets: [],
    exportsBucket: 'read-write',
    exportQueue: 'consume',
    sendsEmail: true,
    // Keep the heap close to what the job holds (one 8 MiB part and one page): V8 otherwise lets
    // garbage pile up to its limit before collecting. 8 MiB semi-spaces hold a page of events and
    // the garbage formatting it makes, so a page dies young; with 4 MiB every page was promoted and
    // the old generation needed a full collection every page or two (about a quarter of the job's
    // time). The old-space limit stays well above the job's ~40 MiB heap: a page of large events
    // must not crash the worker. Measured by `npm run bench` (export part).
    nodeFlags: ['--max-semi-space-size=8', '--max-old-space-size=256'],
    // One job per invocation: each job may use the whole 15 minutes.
    queue: { name: 'exports', batchSize: 1 },
  },

  /**
   * Stream deliveries, first step: the second reader of the events table's stream. Copies each
   * new event into the outbox of every stream of its tenant whose filter matches (idempotent by
   * key) and wakes the active ones. Never calls a destination, so a slow receiver cannot hold
   * the shard back.
   */
  streamRouter: {
    kind: 'stream',
    description: 'Trailkeeper stream router: events into the per-stream outbox, alert evaluation',
    memoryMiB: 512,
    timeoutSeconds: 60,
    // Writes trailkeeper.alert.triggered into the tenant's trail.
    events: 'append',
    // Registers the kinds of the trailkeeper.alert.* events it appends.
    kindRegistry: 'register',
    // Reads stream and alert configurations; writes alert evaluation state (conditional updates).
    control: 'read-write',
    secrets: [],
    outbox: 'write',
    // Wakes streams; queues alert notifications.
    deliveryQueue: 'send',
    metrics: { written: 'OutboxWritten', fired: 'AlertsFired' },
    stream: {
      batchSize: 500,
      maxBatchingWindowSeconds: 1,
      /** Fails only on store errors; its writes are idempotent, so retrying the batch is safe. */
      retryAttempts: 10_000,
      maxRecordAgeSeconds: 86_400,
      bisectBatchOnError: true,
      parallelizationFactor: 1,
      deadLetterDescription:
        'Stream records the stream router gave up on after retrying them for a day: those events never reached any stream outbox. The message names the shard and sequence range; replay the window (POST /v1/streams/{id}/replay) for the affected tenants.',
    },
  },

  /**
   * Stream deliveries, second step: consumes wake and replay messages; under a per-stream lease,
   * sends the stream's outbox in received_at order in batches, records the outcome and, on a
   * failure, re-sends its wake delayed until the next attempt instead of waiting.
   */
  streamDeliverer: {
    kind: 'queue',
    description: 'Trailkeeper stream deliverer: outbox batches to webhooks, Splunk HEC, Datadog',
    memoryMiB: 512,
    timeoutSeconds: 60,
    // Replay copies a window of the tenant's events into the outbox.
    events: 'read',
    // Loads streams and writes their delivery state (status, lease, last error).
    control: 'read-write',
    secrets: [],
    outbox: 'read-write',
    deliveryQueue: 'consume',
    destinationKey: 'open',
    destinations: true,
    metrics: {
      succeeded: 'DeliveriesSucceeded',
      failed: 'DeliveriesFailed',
      disabled: 'StreamsDisabled',
      lag: 'DeliveryLagSeconds',
      written: 'OutboxWritten',
      alertFailed: 'AlertNotificationsFailed',
    },
    // Alert notifications by email.
    sendsEmail: true,
    // Each message is one stream's turn; several streams are served by concurrent invocations.
    queue: { name: 'deliveries', batchSize: 1 },
  },

  /**
   * Guarantees progress when a wake message was lost: every minute (every few seconds locally)
   * wakes each active or failing stream without a live lease whose outbox is not empty.
   */
  streamSweeper: {
    kind: 'schedule',
    description: 'Trailkeeper stream sweeper: wakes streams with a waiting outbox, checks absence alerts',
    memoryMiB: 256,
    timeoutSeconds: 60,
    // Writes trailkeeper.alert.triggered for absence alerts and held-back matches.
    events: 'append',
    // Registers the kinds of the trailkeeper.alert.* events it appends.
    kindRegistry: 'register',
    // Lists tenants and their alerts; writes alert evaluation state.
    control: 'read-write',
    secrets: [],
    outbox: 'read',
    deliveryQueue: 'send',
    schedule: { rateMinutes: 1, localEveryMs: 3000 },
  },

  /**
   * The events table's stream consumer: stages every new event for the archive, counts TTL
   * expiries and retention re-timings, and flags any other modification or removal as tampering.
   */
  archiver: {
    kind: 'stream',
    description: 'Trailkeeper archiver and tamper detection on the events stream',
    memoryMiB: 1024,
    timeoutSeconds: 300,
    events: 'none',
    control: 'none',
    secrets: [],
    archive: 'stage',
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
      deadLetterDescription:
        'Stream records the archiver gave up on after retrying them for a day: those changes are neither archived nor checked for tampering. The message names the shard and sequence range; recover the events from the table (or point-in-time recovery).',
    },
  },

  /**
   * Compacts a closed day's staged archive batches into one object per tenant and day in the
   * Object Lock bucket (deduplicated by event id), then deletes the staged batches.
   */
  archiveCompactor: {
    kind: 'schedule',
    description: 'Trailkeeper archive compactor',
    memoryMiB: 2048,
    timeoutSeconds: 900,
    events: 'none',
    control: 'none',
    secrets: [],
    archive: 'compact',
    schedule: { rateMinutes: 60 },
  },

  /**
   * Re-times a tenant's stored events after its retention changed (PATCH /v1/tenants/{id}):
   * picks up pending jobs every minute (every 2 s locally, so a backfill starts at once),
   * checkpoints on the tenant after every page, and resumes where the previous run stopped.
   */
  retentionWorker: {
    kind: 'schedule',
    description: 'Trailkeeper retention backfill worker',
    memoryMiB: 512,
    timeoutSeconds: 300,
    events: 'retime',
    control: 'read-write',
    secrets: [],
    schedule: { rateMinutes: 1, localEveryMs: 2000 },
  },

  /**
   * Seals each tenant's newly received events into a signed, chained digest (RFC 6962 Merkle
   * root) every few minutes, once no write can still land in the interval (see integrity.ts).
   */
  sealer: {
    kind: 'schedule',
    description: 'Trailkeeper sealer: signed, chained Merkle digests',
    memoryMiB: 1024,
    timeoutSeconds: 300,
    events: 'read',
    control: 'read-write',
    secrets: [],
    archive: 'digests',
    signing: 'sign',
    schedule: { rateMinutes: 5, contextKey: 'sealEveryMinutes' },
  },

  /**
   * Re-verifies sealed intervals against the hot store: recomputes each stored event's hash from
   * its document and the interval's Merkle root from the seal index, checks the digest's
   * signature and chain link; any mismatch raises the IntegrityMismatch metric (alarmed).
   */
  integrityScan: {
    kind: 'schedule',
    description: 'Trailkeeper continuous integrity scan',
    memoryMiB: 1024,
    timeoutSeconds: 600,
    events: 'read',
    control: 'read-write',
    secrets: [],
    signing: 'public-key',
    archive: 'digests-read',
    schedule: { rateMinutes: 15 },
    metrics: { mismatch: 'IntegrityMismatch', verified: 'EventsVerified', missing: 'SealedEventsMissing' },
  },
} as const satisfies Record<string, FunctionSpec>;

/** `archiveCompactor` → `archive-compactor`. */
export type KebabCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `-${Lowercase<Head>}`}${KebabCase<Tail>}`
  : S;

export const kebabCase = <S extends string>(name: S): KebabCase<S> =>
  name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`) as KebabCase<S>;

/** A manifest entry with what follows from its name: the name itself and the handler module. */
export type Defined<N extends string, S extends FunctionSpec> = S & {
  readonly name: N;
  /** The handler module, relative to the repository root; it exports `handler`. */
  readonly entry: `functions/${KebabCase<N>}.ts`;
};

type Manifest = { readonly [N in keyof typeof SPECS & string]: Defined<N, (typeof SPECS)[N]> };

/** Every function, by name (camelCase: CDK construct ids and alarm names are built from it). */
export const MANIFEST: Manifest = Object.fromEntries(
  Object.entries(SPECS).map(([name, spec]) => [
    name,
    { ...spec, name, entry: `functions/${kebabCase(name)}.ts` },
  ]),
) as Manifest;

export type FunctionName = keyof Manifest;

/** Any function's definition, as the code that builds or runs functions of every kind sees it. */
export type FunctionDefinition = FunctionSpec & { readonly name: string; readonly entry: string };

/** The names of the functions of one kind. */
export type FunctionNameOf<K extends FunctionKind> = {
  [N in FunctionName]: Manifest[N]['kind'] extends K ? N : never;
}[FunctionName];

export type HttpFunctionName = FunctionNameOf<'http'>;
export type ScheduledFunctionName = FunctionNameOf<'schedule'>;

/** The function's name in the local runtime, its log lines and its module: kebab-case. */
export type LocalFunctionName<N extends FunctionName = FunctionName> = KebabCase<N>;

export const localName = <N extends FunctionName>(name: N): LocalFunctionName<N> => kebabCase(name);

export const FUNCTION_NAMES = Object.keys(MANIFEST) as FunctionName[];

/** The functions of one kind, in manifest order, with their definitions. */
export const functionsOfKind = <K extends FunctionKind>(
  kind: K,
): Array<[FunctionNameOf<K>, Manifest[FunctionNameOf<K>]]> =>
  FUNCTION_NAMES.filter((name) => MANIFEST[name].kind === kind).map(
    (name) => [name, MANIFEST[name]] as [FunctionNameOf<K>, Manifest[FunctionNameOf<K>]],
  );

/** The function consuming a queue (exactly one per queue); throws otherwise. */
export const theConsumerOf = (
  queue: QueueName,
): [FunctionNameOf<'queue'>, Manifest[FunctionNameOf<'queue'>]] => {
  const found = functionsOfKind('queue').filter(([, definition]) => definition.queue.name === queue);
  const [only] = found;
  if (only === undefined || found.length > 1) {
    throw new Error(
      `the manifest must declare exactly one consumer of the ${queue} queue, found ${found.length}`,
    );
  }
  return only;
};

/** The function of a kind the service has exactly one of (the authorizer); throws otherwise. */
export const theFunctionOfKind = <K extends 'authorizer'>(
  kind: K,
): [FunctionNameOf<K>, Manifest[FunctionNameOf<K>]] => {
  const found = functionsOfKind(kind);
  const [only] = found;
  if (only === undefined || found.length > 1) {
    throw new Error(`the manifest must declare exactly one ${kind} function, found ${found.length}`);
  }
  return only;
};
