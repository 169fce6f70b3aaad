/**
 * Least-privilege grants and environment for the export resources, derived from the
 * `exportsBucket` / `exportQueue` / `sendsEmail` fields of a FunctionDefinition
 * (shared/config/manifest.ts). Explicit action lists rather than `grantReadWrite` / `grantPut`:
 * those bundle s3:DeleteObject*, s3:List* and object tagging/retention writes, none of which an
 * export needs.
 */
import { Validations } from 'aws-cdk-lib';
import { Grant, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IEmailIdentity } from 'aws-cdk-lib/aws-ses';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { ENV } from '#shared/config/env.ts';
import type { BucketAccess, FunctionDefinition } from '#shared/config/manifest.ts';
import { EXPORT_QUEUE, EXPORTS_BUCKET } from '#shared/config/storage.ts';
import { nagObjectsFinding } from './nag.ts';

/** What a function may be given of the export machinery (the Exports construct provides it). */
export interface ExportResources {
  readonly bucket: IBucket;
  readonly queue: IQueue;
  readonly emailIdentity: IEmailIdentity;
  /** Sender of notification emails (`Name <address>` or an address) under `emailIdentity`. */
  readonly emailFrom: string;
}

/**
 * Object-level actions on `<bucket>/*`. CreateMultipartUpload, UploadPart and
 * CompleteMultipartUpload are authorized as s3:PutObject; a presigned GET is authorized as the
 * signer's s3:GetObject. Never DeleteObject: exports disappear by lifecycle only.
 */
export const BUCKET_ACTIONS: Readonly<Record<BucketAccess, readonly string[]>> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  'read-write': ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
};

/**
 * Enqueueing a job (and, for the consumer, re-enqueueing a continuation). The consumer's
 * Receive/Delete/ChangeVisibility come from its SqsEventSource, which grants them itself.
 */
export const QUEUE_SEND_ACTIONS = ['sqs:SendMessage'] as const;

export const grantExportAccess = (
  grantee: IRole,
  exports: ExportResources,
  definition: FunctionDefinition,
): void => {
  if (definition.exportsBucket) {
    Grant.addToPrincipal({
      grantee,
      actions: [...BUCKET_ACTIONS[definition.exportsBucket]],
      resourceArns: [exports.bucket.arnForObjects('*')],
    });
    Validations.of(grantee).acknowledge({
      id: nagObjectsFinding(exports.bucket),
      reason:
        'Export object keys are tenant=<tenant>/exports/<export id>.<format>, created per request, so no fixed key list exists; the bucket holds export files only and the actions are object-level put/get/abort, never delete.',
    });
  }
  if (definition.exportQueue) {
    Grant.addToPrincipal({
      grantee,
      actions: [...QUEUE_SEND_ACTIONS],
      resourceArns: [exports.queue.queueArn],
    });
  }
  // ses:SendEmail and ses:SendRawEmail on the sender identity's ARN only.
  if (definition.sendsEmail) exports.emailIdentity.grantSendEmail(grantee);
};

/** The variables through which a function finds the export resources its definition asks for. */
export const exportEnvironment = (
  exports: ExportResources,
  definition: FunctionDefinition,
): Record<string, string> => ({
  ...(definition.exportsBucket ? { [EXPORTS_BUCKET.envVar]: exports.bucket.bucketName } : {}),
  ...(definition.exportQueue ? { [EXPORT_QUEUE.envVar]: exports.queue.queueUrl } : {}),
  ...(definition.sendsEmail ? { [ENV.emailFrom]: exports.emailFrom } : {}),
});
