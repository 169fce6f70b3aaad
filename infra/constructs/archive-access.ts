/**
 * Least-privilege grants and environment for the archive, derived from the `archive` field of a
 * FunctionDefinition (shared/config/routes.ts), the way export-access.ts does it for exports.
 * Explicit action lists, never `grantReadWrite` / `grantPut` / `grantDelete`: those bundle
 * s3:DeleteObject* and s3:PutObjectRetention / s3:PutObjectLegalHold, and on an Object Lock bucket
 * (governance mode in particular) the first would let a role shorten what the lock protects.
 * No role ever gets s3:DeleteObject on the archive bucket, s3:PutObjectRetention,
 * s3:BypassGovernanceRetention or s3:PutBucketObjectLockConfiguration (test/infra checks every
 * policy of the stack for them).
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ArchiveAccess, ENV, type FunctionDefinition } from '#shared/config/routes.ts';
import { ARCHIVE, ARCHIVE_QUARANTINE_PREFIX } from '#shared/config/storage.ts';
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
  readonly prefix: string;
  /** Actions on the bucket ARN itself (listing). */
  readonly bucket: readonly string[];
}

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
 *   objects (reading lets a rerun see what an earlier run already wrote). CreateMultipartUpload,
 *   UploadPart and CompleteMultipartUpload are authorized as s3:PutObject; AbortMultipartUpload
 *   only discards the parts of an upload that never completed, so it is no delete. Reading
 *   SSE-KMS objects and completing a multipart upload need kms:Decrypt.
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
      prefix: '*',
      bucket: ['s3:ListBucket'],
    },
    key: ['kms:Decrypt', 'kms:GenerateDataKey'],
  },
};

const OBJECT_KEY_REASONS: Readonly<Record<'staging' | 'archive', string>> = {
  staging:
    'Staged batch keys are tenant=<tenant>/date=<day>/<first sequence>-<hash>.ndjson.gz, created per stream batch, so no fixed key list exists; the bucket holds staged batches only.',
  archive:
    'Archive keys are tenant=<tenant>/date=<day>/events-<hash>.ndjson.gz (or quarantine/date=<day>/...), created per tenant, day and batch, so no fixed key list exists; the actions are object-level get/put, never delete or retention changes, and every version is Object Locked.',
};

const grantBucket = (grantee: IRole, bucket: IBucket, actions: BucketActions, reason: string): void => {
  if (actions.objects.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions.objects],
      resourceArns: [bucket.arnForObjects(actions.prefix)],
    });
    Validations.of(grantee).acknowledge({ id: nagObjectsFinding(bucket, actions.prefix), reason });
  }
  if (actions.bucket.length > 0) {
    Grant.addToPrincipal({ grantee, actions: [...actions.bucket], resourceArns: [bucket.bucketArn] });
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

/** The variables through which a function finds the archive buckets its definition asks for. */
export const archiveEnvironment = (
  archive: ArchiveResources,
  definition: FunctionDefinition,
): Record<string, string> =>
  definition.archive
    ? {
        [ENV.archiveBucket]: archive.bucket.bucketName,
        [ENV.archiveStagingBucket]: archive.stagingBucket.bucketName,
        // Set explicitly so the deployed value is visible on the function, not just a code default.
        ...(definition.archive === 'compact'
          ? { [ENV.archiveCloseAfterHours]: String(ARCHIVE.closeAfterHours) }
          : {}),
      }
    : {};
