/**
 * The cold-storage archive (ARCHIVE_BUCKET, ARCHIVE_STAGING_BUCKET and ARCHIVE in
 * shared/config/storage.ts): the customer-managed KMS key both buckets are encrypted with, the
 * Object Lock bucket that is the record of truth for events past their hot retention, and the
 * unlocked staging bucket where the archiver's per-batch objects wait for the compactor. The
 * archive bucket also keeps the sealer's signed digests (under INTEGRITY.digestsPrefix): locked
 * like every object, never tiered to Glacier, so a verifier can always read them at once.
 *
 * Deployment settings come from ARCHIVE, each overridable by CDK context (`archiveRetentionDays`,
 * `archiveLockMode`, `archiveGlacierAfterDays`, `archiveDeepArchiveAfterDays`) and validated here:
 * a wrong value fails synth rather than deploying an archive that forgets events too early, and
 * once a COMPLIANCE lock is on an object nothing can shorten it. Who may do what with the buckets
 * is decided in archive-access.ts.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type IBucket,
  type LifecycleRule,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { INTEGRITY } from '#shared/config/integrity.ts';
import {
  ARCHIVE,
  ARCHIVE_BUCKET,
  ARCHIVE_EVENTS_PREFIX,
  ARCHIVE_STAGING_BUCKET,
} from '#shared/config/storage.ts';
import { PLANS } from '#shared/domain/retention.ts';
import { type ArchiveResources, NOT_CREATE_ONLY_CONDITION } from './archive-access.ts';

export type ArchiveLockMode = 'COMPLIANCE' | 'GOVERNANCE';

export interface ArchiveSettings {
  /** Object Lock retention of every archived object, and the age at which lifecycle expires it. */
  readonly retentionDays: number;
  readonly lockMode: ArchiveLockMode;
  /** Age at which large event objects move to Glacier Flexible Retrieval. */
  readonly glacierAfterDays: number;
  /** Age at which they move on to Glacier Deep Archive. */
  readonly deepArchiveAfterDays: number;
}

/** The CDK context key that overrides each setting (`cdk deploy -c archiveRetentionDays=3650`). */
export const ARCHIVE_CONTEXT = {
  retentionDays: 'archiveRetentionDays',
  lockMode: 'archiveLockMode',
  glacierAfterDays: 'archiveGlacierAfterDays',
  deepArchiveAfterDays: 'archiveDeepArchiveAfterDays',
} as const satisfies Record<keyof ArchiveSettings, string>;

/** The longest hot retention of any plan: the archive must keep every event at least this long. */
export const LONGEST_PLAN_DAYS = Math.max(...Object.values(PLANS));
const LONGEST_PLAN = Object.entries(PLANS).find(([, days]) => days === LONGEST_PLAN_DAYS)?.[0];

/** S3 Object Lock accepts at most 100 years of default retention. */
export const MAX_LOCK_DAYS = 36_500;

/**
 * Versions that stopped being current (an expired object's locked version behind its delete
 * marker, or an object the compactor rewrote) are removed this many days later. Object Lock still
 * wins: S3 lifecycle never removes a version before its retain-until date.
 */
export const NONCURRENT_VERSION_EXPIRATION_DAYS = 1;
const TIERING_RULE_ID = 'TierEventObjects';

/** Incomplete multipart uploads (a compaction that died mid-upload) are aborted after this many days. */
export const ARCHIVE_ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 1;

/** Context values arrive as strings from `-c key=value` and as numbers from `cdk.json` or tests. */
const wholeDays = (key: string, value: unknown, fallback: number): number => {
  if (value === undefined || value === null || value === '') return fallback;
  const parsed =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw new Error(`${key} must be a whole number of days (at least 1), got ${JSON.stringify(value)}`);
  }
  return parsed;
};

const lockMode = (value: unknown): ArchiveLockMode => {
  if (value === undefined || value === null || value === '') return ARCHIVE.lockMode;
  const mode = typeof value === 'string' ? value.trim().toUpperCase() : value;
  if (mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE') {
    throw new Error(
      `${ARCHIVE_CONTEXT.lockMode} must be COMPLIANCE or GOVERNANCE, got ${JSON.stringify(value)}`,
    );
  }
  return mode;
};

/**
 * The archive settings of this deployment: ARCHIVE's defaults overridden by context values.
 * Throws (failing synth) on a value that would make the archive lose events or never tier them.
 */
export const resolveArchiveSettings = (context: (key: string) => unknown): ArchiveSettings => {
  const settings: ArchiveSettings = {
    retentionDays: wholeDays(
      ARCHIVE_CONTEXT.retentionDays,
      context(ARCHIVE_CONTEXT.retentionDays),
      ARCHIVE.retentionDays,
    ),
    lockMode: lockMode(context(ARCHIVE_CONTEXT.lockMode)),
    glacierAfterDays: wholeDays(
      ARCHIVE_CONTEXT.glacierAfterDays,
      context(ARCHIVE_CONTEXT.glacierAfterDays),
      ARCHIVE.glacierAfterDays,
    ),
    deepArchiveAfterDays: wholeDays(
      ARCHIVE_CONTEXT.deepArchiveAfterDays,
      context(ARCHIVE_CONTEXT.deepArchiveAfterDays),
      ARCHIVE.deepArchiveAfterDays,
    ),
  };
  const { retentionDays, glacierAfterDays, deepArchiveAfterDays } = settings;
  if (retentionDays < LONGEST_PLAN_DAYS) {
    throw new Error(
      `${ARCHIVE_CONTEXT.retentionDays} (${retentionDays}) must be at least the longest retention plan (${LONGEST_PLAN}: ${LONGEST_PLAN_DAYS} days): the archive has to outlive every tenant's hot storage`,
    );
  }
  if (retentionDays > MAX_LOCK_DAYS) {
    throw new Error(
      `${ARCHIVE_CONTEXT.retentionDays} (${retentionDays}) exceeds the ${MAX_LOCK_DAYS} days (100 years) S3 Object Lock allows`,
    );
  }
  if (deepArchiveAfterDays <= glacierAfterDays) {
    throw new Error(
      `${ARCHIVE_CONTEXT.deepArchiveAfterDays} (${deepArchiveAfterDays}) must be greater than ${ARCHIVE_CONTEXT.glacierAfterDays} (${glacierAfterDays}): objects go to Glacier first, then to Deep Archive`,
    );
  }
  if (deepArchiveAfterDays >= retentionDays) {
    throw new Error(
      `${ARCHIVE_CONTEXT.deepArchiveAfterDays} (${deepArchiveAfterDays}) must be less than ${ARCHIVE_CONTEXT.retentionDays} (${retentionDays}): objects would expire before reaching Deep Archive`,
    );
  }
  return settings;
};

export interface ArchiveProps {
  /** Destination of both buckets' server access logs. */
  readonly accessLogs: IBucket;
}

export class Archive extends Construct implements ArchiveResources {
  readonly key: Key;
  readonly bucket: Bucket;
  readonly stagingBucket: Bucket;
  readonly settings: ArchiveSettings;

  constructor(scope: Construct, id: string, props: ArchiveProps) {
    super(scope, id);
    this.settings = resolveArchiveSettings((key) => this.node.tryGetContext(key));
    const { retentionDays, glacierAfterDays, deepArchiveAfterDays } = this.settings;

    // Staged batches must still exist when the compactor closes their day, or they expire unarchived.
    if (ARCHIVE_STAGING_BUCKET.expireAfterDays * 24 <= ARCHIVE.closeAfterHours) {
      throw new Error(
        `ARCHIVE_STAGING_BUCKET.expireAfterDays (${ARCHIVE_STAGING_BUCKET.expireAfterDays}) must leave staged batches in place longer than ARCHIVE.closeAfterHours (${ARCHIVE.closeAfterHours} h)`,
      );
    }

    // Digests are a few hundred bytes each and must stay readable at once (a Glacier restore
    // takes hours): the tiering rule's prefix must not reach them, nor they be filed under it.
    if (
      INTEGRITY.digestsPrefix.startsWith(ARCHIVE_EVENTS_PREFIX) ||
      ARCHIVE_EVENTS_PREFIX.startsWith(INTEGRITY.digestsPrefix)
    ) {
      throw new Error(
        `INTEGRITY.digestsPrefix (${INTEGRITY.digestsPrefix}) and ARCHIVE_EVENTS_PREFIX (${ARCHIVE_EVENTS_PREFIX}) overlap: digests would be tiered to Glacier with the event objects`,
      );
    }

    // A customer-managed key rather than SSE-S3: every decrypt of the archive is a CloudTrail
    // event naming the role, and the key policy (not just IAM) decides who can read it at all.
    // Retained: without the key the archive is unreadable.
    this.key = new Key(this, 'Key', {
      description: 'Encrypts the Trailkeeper event archive and its staging bucket',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const lifecycleRules: LifecycleRule[] = [
      {
        // Only objects large enough to be worth it: Glacier and Deep Archive bill ~40 KB of
        // metadata per object, so small ones would cost more cold than warm.
        id: TIERING_RULE_ID,
        prefix: ARCHIVE_EVENTS_PREFIX,
        objectSizeGreaterThan: ARCHIVE.minTransitionBytes,
        transitions: [
          { storageClass: StorageClass.GLACIER, transitionAfter: Duration.days(glacierAfterDays) },
          { storageClass: StorageClass.DEEP_ARCHIVE, transitionAfter: Duration.days(deepArchiveAfterDays) },
        ],
      },
      {
        // Not size-filtered (small objects must expire too) and over the whole bucket: the
        // quarantine and the digests are locked for the same period. Expiry adds a delete marker
        // once the lock has run out; the noncurrent locked version is then removed the day after.
        id: 'ExpireAfterRetention',
        expiration: Duration.days(retentionDays),
        noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_EXPIRATION_DAYS),
        abortIncompleteMultipartUploadAfter: Duration.days(ARCHIVE_ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS),
      },
      // A rule with an expiration age may not also remove delete markers, hence its own rule.
      { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
    ];

    this.bucket = new Bucket(this, ARCHIVE_BUCKET.id, {
      // Object Lock needs versioning; every object version (events, quarantine, digests: the
      // default retention has no prefix filter) is locked for the retention period by default,
      // so no role needs (or holds) s3:PutObjectRetention.
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        this.settings.lockMode === 'COMPLIANCE'
          ? ObjectLockRetention.compliance(Duration.days(retentionDays))
          : ObjectLockRetention.governance(Duration.days(retentionDays)),
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket rather than per object: KMS calls (and their cost) drop by orders
      // of magnitude, and compaction reads many small objects.
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: `${ARCHIVE_BUCKET.localName}/`,
      lifecycleRules,
      // The record of truth: never removed with the stack (Object Lock would refuse anyway).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Digests are create-only for everyone (the sealer's grant says so too; see archive-access.ts).
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DigestsAreCreateOnly',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${INTEGRITY.digestsPrefix}*`)],
        conditions: NOT_CREATE_ONLY_CONDITION,
      }),
    );
    // CloudFormation types ObjectSizeGreaterThan as a string (a long); CDK renders the number,
    // which deploys but fails template validation. Render it as CloudFormation documents it.
    (this.bucket.node.defaultChild as CfnBucket).addPropertyOverride(
      `LifecycleConfiguration.Rules.${lifecycleRules.findIndex((rule) => rule.id === TIERING_RULE_ID)}.ObjectSizeGreaterThan`,
      String(ARCHIVE.minTransitionBytes),
    );

    this.stagingBucket = new Bucket(this, ARCHIVE_STAGING_BUCKET.id, {
      // No Object Lock and no versioning: the compactor deletes batches once they are compacted,
      // and a deleted batch must really be gone (not linger as a noncurrent version).
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: `${ARCHIVE_STAGING_BUCKET.localName}/`,
      lifecycleRules: [
        {
          id: 'ExpireStagedBatches',
          expiration: Duration.days(ARCHIVE_STAGING_BUCKET.expireAfterDays),
          abortIncompleteMultipartUploadAfter: Duration.days(ARCHIVE_ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS),
        },
      ],
      // Holds events not yet compacted: retained like every bucket of the stack, and it empties
      // itself by lifecycle.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
