/**
 * Least-privilege grants and environment for the archive, derived from the `archive` field of a
 * manifest entry (shared/config/manifest.ts), the way export-access.ts does it for exports.
 * Explicit action lists, never `grantReadWrite` / `grantPut` / `grantDelete`: those bundle
 * s3:DeleteObject* and s3:PutObjectRetention / s3:PutObjectLegalHold, and on an Object Lock bucket
 * (governance mode in particular) the first would let a role shorten what the lock protects.
 * No role ever gets s3:DeleteObject on the archive bucket, s3:PutObjectRetention,
 * s3:BypassGovernanceRetention or s3:PutBucketObjectLockConfiguration (test/infra checks every
 * policy of the stack for them). So whatever a role puts into the archive, signed digests
 * included, keeps the bucket's default Object Lock retention.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { ENV } from '#shared/config/env.ts';
import { INTEGRITY } from '#shared/config/integrity.ts';
import type { ArchiveAccess, FunctionDefinition } from '#shared/config/manifest.ts';
import { ARCHIVE, ARCHIVE_EVENTS_PREFIX, ARCHIVE_QUARANTINE_PREFIX } from '#shared/config/storage.ts';
import { nagObjectsFinding } from './nag.ts';

/** What a function may be given of the archive (the Archive construct provides it). */
export interface ArchiveResources {
  /** The Object Lock bucket: finalized, compacted objects and the quarantine. */
  readonly bucket: IBucket;
  /** The archiver's per-batch objects, awaiting compaction. */
  readonly stagingBucket: IBucket;
  /** Encrypts both buckets. */
  readonly key: IKey;
}

interface BucketActions {
  /** Actions on objects under `prefix` (`*` = every object). */
  readonly objects: readonly string[];
  /**
   * Writes under `prefix` allowed only as S3 conditional writes that create a new key
   * (`If-None-Match: *`, IAM key `s3:if-none-match`): they can never replace an existing object.
   */
  readonly createOnly?: readonly string[];
  readonly prefix: string;
  /** Actions on the bucket ARN itself (listing). */
  readonly bucket: readonly string[];
  /** IAM conditions on the bucket statement (absent = none). */
  readonly bucketConditions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Why `prefix` ends in a wildcard (the cdk-nag acknowledgement); absent = the bucket's reason. */
  readonly keysReason?: string;
}

const NO_ACTIONS: BucketActions = { objects: [], prefix: '*', bucket: [] };

const DIGEST_KEYS_REASON = `Digest keys are ${INTEGRITY.digestsPrefix}tenant=<tenant>/<sequence>.json (and .leaves, its event hashes), one per tenant and seal, so no fixed key list exists; the grant is limited to that prefix, to get and at most create-only put (If-None-Match), never delete or retention changes, and every version is Object Locked.`;

const COMPACTED_KEYS_REASON = `Compacted archive keys are ${ARCHIVE_EVENTS_PREFIX}<tenant>/date=<day>/events-<hash>.ndjson.gz, one per tenant, day and compaction, so no fixed key list exists; the grant is limited to that prefix (never ${INTEGRITY.digestsPrefix} or ${ARCHIVE_QUARANTINE_PREFIX}), to object-level get/put, never delete or retention changes, and every version is Object Locked.`;

/** The IAM condition of `createOnly` writes: the request carries `If-None-Match: *`. */
export const CREATE_ONLY_CONDITION = { StringEquals: { 's3:if-none-match': '*' } } as const;

/**
 * The archive bucket policy's condition for denying a put under the digests prefix: the request
 * has no `If-None-Match` header (S3's documented way to make a prefix create-only). Backs the
 * grants up: whatever a role, an administrator or a future grant is allowed, no put without the
 * header reaches a digest, and a put with it cannot replace one.
 */
export const NOT_CREATE_ONLY_CONDITION = { Null: { 's3:if-none-match': 'true' } } as const;

export interface ArchiveGrant {
  readonly staging: BucketActions;
  readonly archive: BucketActions;
  /** Actions on the KMS key, only when S3 calls it on the role's behalf (kms:ViaService). */
  readonly key: readonly string[];
}

/**
 * - `stage` (the archiver): put batches into staging; put unreadable records into the archive's
 *   quarantine, where they are locked like everything else. kms:GenerateDataKey is what an
 *   SSE-KMS put asks for.
 * - `compact` (the compactor): read, list and delete staged batches; list, read and put finalized
 *   event objects under ARCHIVE_EVENTS_PREFIX (`tenant=`) only, so it can neither overwrite a
 *   signed digest nor touch the quarantine (reading lets a rerun see what an earlier run already
 *   wrote; listing is conditioned on the same prefix). CreateMultipartUpload,
 *   UploadPart and CompleteMultipartUpload are authorized as s3:PutObject; AbortMultipartUpload
 *   only discards the parts of an upload that never completed, so it is no delete. Reading
 *   SSE-KMS objects and completing a multipart upload need kms:Decrypt.
 * - `digests` (the sealer): create and read signed digests and their leaves (the interval's event
 *   hashes) under INTEGRITY.digestsPrefix of the archive bucket, nothing else of either bucket.
 *   They are only ever created: the put must be a conditional write (shared/adapters/
 *   digest-store.ts sends `If-None-Match: *`), so not even the sealer's role can put a second
 *   version over a published digest. Reading lets a rerun compare what an interrupted run already
 *   wrote. No listing: digest keys are derived from the control table's records. Single small
 *   PUTs, so no multipart abort.
 * - `digests-read` (the integrity API's proofs, the integrity scan): read them, nothing else;
 *   kms:Decrypt is all reading an SSE-KMS object needs.
 */
export const ARCHIVE_GRANTS: Readonly<Record<ArchiveAccess, ArchiveGrant>> = {
  stage: {
    staging: { objects: ['s3:PutObject'], prefix: '*', bucket: [] },
    archive: { objects: ['s3:PutObject'], prefix: `${ARCHIVE_QUARANTINE_PREFIX}*`, bucket: [] },
    key: ['kms:GenerateDataKey', 'kms:Encrypt'],
  },
  compact: {
    staging: { objects: ['s3:GetObject', 's3:DeleteObject'], prefix: '*', bucket: ['s3:ListBucket'] },
    archive: {
      objects: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      prefix: `${ARCHIVE_EVENTS_PREFIX}*`,
      bucket: ['s3:ListBucket'],
      bucketConditions: { StringLike: { 's3:prefix': [`${ARCHIVE_EVENTS_PREFIX}*`] } },
      keysReason: COMPACTED_KEYS_REASON,
    },
    key: ['kms:Decrypt', 'kms:GenerateDataKey'],
  },
  digests: {
    staging: NO_ACTIONS,
    archive: {
      objects: ['s3:GetObject'],
      createOnly: ['s3:PutObject'],
      prefix: `${INTEGRITY.digestsPrefix}*`,
      bucket: [],
      keysReason: DIGEST_KEYS_REASON,
    },
    key: ['kms:GenerateDataKey', 'kms:Decrypt'],
  },
  'digests-read': {
    staging: NO_ACTIONS,
    archive: {
      objects: ['s3:GetObject'],
      prefix: `${INTEGRITY.digestsPrefix}*`,
      bucket: [],
      keysReason: DIGEST_KEYS_REASON,
    },
    key: ['kms:Decrypt'],
  },
};

const OBJECT_KEY_REASONS: Readonly<Record<'staging' | 'archive', string>> = {
  staging:
    'Staged batch keys are tenant=<tenant>/date=<day>/<first sequence>-<hash>.ndjson.gz, created per stream batch, so no fixed key list exists; the bucket holds staged batches only.',
  archive: `Quarantine keys are ${ARCHIVE_QUARANTINE_PREFIX}date=<day>/<sequence>-<hash>.json, one per stream record the archiver could not read, so no fixed key list exists; the grant is limited to that prefix and to put, never delete or retention changes, and every version is Object Locked.`,
};

const grantBucket = (grantee: IRole, bucket: IBucket, actions: BucketActions, reason: string): void => {
  const createOnly = actions.createOnly ?? [];
  if (actions.objects.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions.objects],
      resourceArns: [bucket.arnForObjects(actions.prefix)],
    });
  }
  if (createOnly.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...createOnly],
      resourceArns: [bucket.arnForObjects(actions.prefix)],
      conditions: CREATE_ONLY_CONDITION,
    });
  }
  if (actions.objects.length + createOnly.length > 0) {
    Validations.of(grantee).acknowledge({
      id: nagObjectsFinding(bucket, actions.prefix),
      reason: actions.keysReason ?? reason,
    });
  }
  if (actions.bucket.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions.bucket],
      resourceArns: [bucket.bucketArn],
      ...(actions.bucketConditions ? { conditions: actions.bucketConditions } : {}),
    });
  }
};

export const grantArchiveAccess = (
  grantee: IRole,
  archive: ArchiveResources,
  definition: FunctionDefinition,
): void => {
  if (!definition.archive) return;
  const grant = ARCHIVE_GRANTS[definition.archive];
  grantBucket(grantee, archive.stagingBucket, grant.staging, OBJECT_KEY_REASONS.staging);
  grantBucket(grantee, archive.bucket, grant.archive, OBJECT_KEY_REASONS.archive);
  const stack = Stack.of(archive.key);
  Grant.addToPrincipal({
    grantee,
    actions: [...grant.key],
    resourceArns: [archive.key.keyArn],
    // The role can use the key only through S3 (SSE-KMS), never call KMS with it directly.
    conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}` } },
  });
};

const grantsAny = (actions: BucketActions): boolean =>
  actions.objects.length + (actions.createOnly?.length ?? 0) + actions.bucket.length > 0;

/** The variables through which a function finds the archive buckets its grant reaches (and no other). */
export const archiveEnvironment = (
  archive: ArchiveResources,
  definition: FunctionDefinition,
): Record<string, string> => {
  if (!definition.archive) return {};
  const grant = ARCHIVE_GRANTS[definition.archive];
  return {
    ...(grantsAny(grant.archive) ? { [ENV.archiveBucket]: archive.bucket.bucketName } : {}),
    ...(grantsAny(grant.staging) ? { [ENV.archiveStagingBucket]: archive.stagingBucket.bucketName } : {}),
    // Set explicitly so the deployed value is visible on the function, not just a code default.
    ...(definition.archive === 'compact'
      ? { [ENV.archiveCloseAfterHours]: String(ARCHIVE.closeAfterHours) }
      : {}),
  };
};
