/**
 * Exports: the bucket that holds export files (EXPORTS_BUCKET), the job queue and its dead-letter
 * queue (EXPORT_QUEUE), the SES identity that sends "your export is ready" emails, and the
 * manifest's `queue` function consuming the queue (construct id `Worker`). What each function may do with these is decided by
 * its definition, in export-access.ts; the alarms live in monitoring.ts.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { type DkimRecord, EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { theConsumerOf } from '#shared/config/manifest.ts';
import { EXPORT_QUEUE, EXPORTS_BUCKET } from '#shared/config/storage.ts';
import { contextInteger } from './context.ts';
import type { ExportResources } from './export-access.ts';
import { ServiceFunction, type ServiceResources } from './service-function.ts';

/** Incomplete multipart uploads (an export that died mid-upload) are aborted after this many days. */
export const ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 1;
/**
 * Export jobs running at once. Each one reads the events table as fast as it can; the cap keeps
 * a burst of large exports from starving ingest and queries of on-demand capacity, and of Lambda
 * concurrency: it is no reservation, but while ten exports run they hold ten executions of the
 * account's quota. On an account with a low quota, lower it (context EXPORT_WORKER_CONCURRENCY_CONTEXT,
 * SQS accepts 2 to 1000).
 */
export const EXPORT_WORKER_MAX_CONCURRENCY = 10;
export const EXPORT_WORKER_CONCURRENCY_CONTEXT = 'exportWorkerMaxConcurrency';

export interface SenderOptions {
  /** `From` of notification emails: `address` or `Name <address>` (context `emailFrom`). */
  readonly emailFrom?: string;
  /** Domain to verify in SES instead of the single address (context `emailDomain`). */
  readonly emailDomain?: string;
}

export interface Sender {
  readonly from: string;
  readonly address: string;
  /** The SES identity that authorizes the address: the domain when given, else the address. */
  readonly identity: { readonly kind: 'domain' | 'email'; readonly name: string };
}

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** Why synth stops when the deployment names no sender. */
export const MISSING_SENDER_MESSAGE =
  'No sender for export emails: deploy with -c emailFrom="Name <address>" (SES verifies that address) ' +
  'or -c emailDomain=<your domain> (SES verifies the domain with DKIM), and keep the value in ' +
  'cdk.json "context" so every later deploy uses the same one (a different or missing sender ' +
  'replaces the verified SES identity). See README, "Deploying to AWS".';

/**
 * Resolves the sender from the deploy context. Fails synth when there is none (there is no
 * sensible default: an unverified placeholder would deploy and silently send nothing), on a
 * malformed address, or on an address outside `emailDomain` (SES would refuse to send it and IAM
 * would not allow it).
 */
export const resolveSender = (options: SenderOptions): Sender => {
  const domain = options.emailDomain?.trim().toLowerCase() || undefined;
  const from = options.emailFrom?.trim() || (domain ? `Trailkeeper <no-reply@${domain}>` : undefined);
  if (from === undefined) throw new Error(MISSING_SENDER_MESSAGE);
  const address = (/<([^<>]+)>$/.exec(from)?.[1] ?? from).trim();
  if (!ADDRESS.test(address)) {
    throw new Error(`emailFrom must be "address" or "Name <address>", got ${JSON.stringify(from)}`);
  }
  if (domain && address.split('@')[1]?.toLowerCase() !== domain) {
    throw new Error(`emailFrom ${address} is not an address of emailDomain ${domain}`);
  }
  return {
    from,
    address,
    identity: domain ? { kind: 'domain', name: domain } : { kind: 'email', name: address },
  };
};

export interface ExportsProps extends SenderOptions {
  /** Everything the worker may be granted besides the export resources themselves. */
  readonly resources: Omit<ServiceResources, 'exports'>;
  /** Destination of the exports bucket's server access logs. */
  readonly accessLogs: IBucket;
}

export class Exports extends Construct implements ExportResources {
  readonly bucket: Bucket;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly emailIdentity: EmailIdentity;
  readonly emailFrom: string;
  readonly sender: Sender;
  readonly worker: ServiceFunction;

  constructor(scope: Construct, id: string, props: ExportsProps) {
    super(scope, id);

    this.bucket = new Bucket(this, EXPORTS_BUCKET.id, {
      // SSE-S3 rather than KMS: presigned downloads then need no kms:Decrypt for whoever signs them.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: `${EXPORTS_BUCKET.localName}/`,
      lifecycleRules: [
        {
          id: 'ExpireExports',
          expiration: Duration.days(EXPORTS_BUCKET.expireAfterDays),
          abortIncompleteMultipartUploadAfter: Duration.days(ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS),
        },
      ],
      // RETAIN, not DESTROY + autoDeleteObjects: auto-delete adds a custom-resource Lambda allowed
      // to delete every export, and a replacement would delete tenants' files with no trace.
      // A retained bucket still empties itself by lifecycle within a week.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new Queue(this, `${EXPORT_QUEUE.id}DeadLetters`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, EXPORT_QUEUE.id, {
      visibilityTimeout: Duration.seconds(EXPORT_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: EXPORT_QUEUE.maxReceiveCount },
    });

    this.sender = resolveSender(props);
    this.emailFrom = this.sender.from;
    this.emailIdentity = new EmailIdentity(this, 'SenderIdentity', {
      // A domain identity signs with Easy DKIM; its three CNAME records are stack outputs.
      identity:
        this.sender.identity.kind === 'domain'
          ? Identity.domain(this.sender.identity.name)
          : Identity.email(this.sender.identity.name),
    });

    // A message must stay invisible while the worker may still be running it, or SQS hands the
    // same job to a second worker mid-run.
    const [workerName, worker] = theConsumerOf('exports');
    if (worker.timeoutSeconds > EXPORT_QUEUE.visibilityTimeoutSeconds) {
      throw new Error(
        `EXPORT_QUEUE.visibilityTimeoutSeconds (${EXPORT_QUEUE.visibilityTimeoutSeconds}) must be at least the ${workerName} function's timeoutSeconds (${worker.timeoutSeconds})`,
      );
    }
    this.worker = new ServiceFunction(this, 'Worker', {
      definition: worker,
      resources: { ...props.resources, exports: this },
    });
    this.worker.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: worker.queue.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: contextInteger(
          this.node,
          EXPORT_WORKER_CONCURRENCY_CONTEXT,
          EXPORT_WORKER_MAX_CONCURRENCY,
          {
            min: 2,
            max: 1000,
          },
        ),
      }),
    );
  }

  /** DNS records to publish for a domain identity (none for a single-address identity). */
  get dkimRecords(): readonly DkimRecord[] {
    return this.sender.identity.kind === 'domain' ? this.emailIdentity.dkimRecords : [];
  }
}
