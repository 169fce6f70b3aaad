/**
 * Every environment variable name Trailkeeper reads or sets, named once: the service's own (set
 * by CDK and by the local runtime, read by the handlers), Powertools', the AWS SDK's and the CDK
 * CLI's. Code refers to a name through these objects, never through a string literal.
 */

/** Variables through which handlers find their resources and settings (set by CDK and by the local runtime). */
export const ENV = {
  /** Physical name of the events table. */
  eventsTable: 'EVENTS_TABLE',
  /** Physical name of the control table (tenants, keys, exports, jobs, digests). */
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
  /** Name of the stream outbox table (OUTBOX_TABLE). */
  outboxTable: 'OUTBOX_TABLE',
  /** URL of the stream delivery queue (SQS, DELIVERY_QUEUE). */
  deliveryQueueUrl: 'DELIVERY_QUEUE_URL',
  /**
   * `1`: stream and alert destinations may be plain http to a loopback address (tests, demos).
   * Only the local stack sets it (LocalStackOptions.allowHttpLoopback); no deployed function can
   * have it (test/infra/deliveries.test.ts). Read by networkPolicyFromEnv.
   */
  allowHttpLoopback: 'TRAILKEEPER_ALLOW_HTTP_LOOPBACK',
  /** The operator's allow-list of private destinations: comma-separated CIDRs inside private ranges. */
  privateDestinations: 'TRAILKEEPER_PRIVATE_DESTINATIONS',
  /** The KMS key (id, ARN or alias) sealing destination secrets in AWS. */
  destinationKeyId: 'TRAILKEEPER_DESTINATION_KEY_ID',
  /** Locally: the key file (32 bytes, 0600) sealing destination secrets. */
  destinationKeyFile: 'TRAILKEEPER_DESTINATION_KEY_FILE',
  /**
   * Local runtime and tests only: the base of the deliverer's retry backoff in ms (the cap is 60
   * times it), so retries happen within a test. Ignored unless TRAILKEEPER_ALLOW_HTTP_LOOPBACK is
   * set, which no deployed function can be: in AWS the SPEC's schedule (1 s doubling to 60 s) holds.
   */
  deliveryBackoffMs: 'TRAILKEEPER_DELIVERY_BACKOFF_MS',
  /** Size of one export part in bytes (tests and the bench force many small parts). */
  exportPartBytes: 'TRAILKEEPER_EXPORT_PART_BYTES',
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
  /**
   * The viewer-session token key in AWS: a KMS key id or ARN (ECC_NIST_P256, SIGN_VERIFY), of
   * its own (never the digest signing key). The sessions function signs with it; the authorizer
   * verifies with its public key.
   */
  sessionKeyId: 'TRAILKEEPER_SESSION_KEY_ID',
  /** During a rotation, the previous session key (KMS id or ARN): the authorizer still accepts its tokens. */
  sessionKeyPreviousId: 'TRAILKEEPER_SESSION_KEY_PREVIOUS_ID',
  /** Locally: a PKCS#8 PEM file holding the session key (P-256; created under .data/ on first start). */
  sessionKeyFile: 'TRAILKEEPER_SESSION_KEY_FILE',
  /** Locally, during a rotation: a PEM file of the previous session key (public or private). */
  sessionKeyPreviousFile: 'TRAILKEEPER_SESSION_KEY_PREVIOUS_FILE',
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
   * caches, see the manifest's authorizer). Unset or 0: no cache, a revoked key is refused at once (local).
   */
  authCacheSeconds: 'TRAILKEEPER_AUTH_CACHE_SECONDS',
  /**
   * The operator's own identity provider (optional; shared/adapters/oidc.ts): its issuer, exactly
   * as its tokens' `iss` (https). Set, bearer JWTs of that issuer are verified as people; unset,
   * only viewer sessions are. CDK sets these on the authorizer from the `oidc*` context values.
   */
  oidcIssuer: 'TRAILKEEPER_OIDC_ISSUER',
  /** The audience the IdP puts in tokens meant for Trailkeeper only (required with the issuer). */
  oidcAudience: 'TRAILKEEPER_OIDC_AUDIENCE',
  /** The IdP's JWKS URL; unset: `jwks_uri` of the issuer's discovery document. */
  oidcJwksUri: 'TRAILKEEPER_OIDC_JWKS_URI',
  /** Names of the claims holding the tenant id, the role and the team ids (defaults: tenant_id, role, team_ids). */
  oidcTenantClaim: 'TRAILKEEPER_OIDC_TENANT_CLAIM',
  oidcRoleClaim: 'TRAILKEEPER_OIDC_ROLE_CLAIM',
  oidcTeamsClaim: 'TRAILKEEPER_OIDC_TEAMS_CLAIM',
  /** `off` disables the per-tenant request rate limits (the bench's raw-throughput runs). */
  rateLimits: 'TRAILKEEPER_RATE_LIMITS',
  /** `true`: S3 requests use path-style URLs (s3rver locally; AWS uses virtual-hosted style). */
  s3ForcePathStyle: 'TRAILKEEPER_S3_FORCE_PATH_STYLE',
  /**
   * The console's page shell: JSON `{"script": {"path", "integrity"}, "style": {…}}` naming the
   * built, content-hashed assets (console/build.ts); CDK sets it from the build it deploys.
   */
  consoleAssets: 'TRAILKEEPER_CONSOLE_ASSETS',
  /** Local runtime (`npm start`) and operator CLIs: where local data lives (default `.data`). */
  dataDir: 'TRAILKEEPER_DATA_DIR',
  /** Local runtime (`npm start`): the gateway's port. */
  port: 'PORT',
} as const;

/** Powertools for AWS Lambda's own settings. */
export const POWERTOOLS_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** `true` stops the EMF output (the local runtime sets it: no CloudWatch reads it there). */
  metricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
} as const;

/** The AWS SDK's settings the local runtime points at its fakes (and clears a developer's session from). */
export const AWS_SDK_ENV = {
  region: 'AWS_REGION',
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  sessionToken: 'AWS_SESSION_TOKEN',
  profile: 'AWS_PROFILE',
  requestChecksumCalculation: 'AWS_REQUEST_CHECKSUM_CALCULATION',
  responseChecksumValidation: 'AWS_RESPONSE_CHECKSUM_VALIDATION',
} as const;

/**
 * The SDK's per-service endpoint override: `AWS_ENDPOINT_URL_<serviceId>`, the service id upper
 * case with spaces as underscores (`DynamoDB Streams` → `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`).
 */
export const awsEndpointEnv = (serviceId: string): string =>
  `AWS_ENDPOINT_URL_${serviceId.toUpperCase().replaceAll(' ', '_')}`;

/** Set by the CDK CLI for `cdk synth` / `cdk deploy` (the account and region of the credentials in use). */
export const CDK_ENV = {
  region: 'CDK_DEFAULT_REGION',
  account: 'CDK_DEFAULT_ACCOUNT',
} as const;
