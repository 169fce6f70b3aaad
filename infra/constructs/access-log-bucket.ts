/**
 * The stack's S3 server access log bucket: who fetched which export file (presigned GETs show up
 * here with the signing role), kept a year. Every data bucket of the stack logs into it under its
 * own prefix.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

/** How long access log records are kept: a year covers the usual audit look-back. */
export const ACCESS_LOG_RETENTION_DAYS = 365;

export class AccessLogBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Grant log delivery by bucket policy (scoped to our buckets and account), not by the legacy
    // LogDeliveryWrite ACL, which ACL-less buckets refuse. cdk.json need not carry the flag: it
    // only concerns this bucket, so it is set here, before the bucket exists.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    this.bucket = new Bucket(this, 'Bucket', {
      // Log delivery supports SSE-S3 only, not KMS.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // ACLs off: CDK grants the logging service through the bucket policy instead.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(ACCESS_LOG_RETENTION_DAYS) }],
      // Evidence of who downloaded audit data: survives the stack and empties itself by lifecycle.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // No AwsSolutions-S1 acknowledgement: cdk-nag recognizes a log destination bucket (the bucket
    // policy lets logging.s3.amazonaws.com write to it) and does not ask it to log itself.
  }
}
