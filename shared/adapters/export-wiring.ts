/**
 * Production wiring of exports (control-table records and email allowances, S3, SQS, SES), kept
 * apart from wiring.ts so the ingest and query bundles carry none of these clients.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../config/env.ts';
import { INTEGRITY } from '../config/integrity.ts';
import { EXPORTS_BUCKET } from '../config/storage.ts';
import { DEFAULT_PART_BYTES, DEFAULT_TIME_RESERVE_MS } from '../usecases/export-job.ts';
import { registeringEventStore } from './action-wiring.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { controlStore } from './control-wiring.ts';
import { DynamoEmailQuotaStore } from './email-quota-store.ts';
import { DynamoExportStore } from './export-store.ts';
import { SqsJobQueue } from './job-queue.ts';
import { SesMailer } from './mailer.ts';
import { S3ObjectStore, s3Client } from './object-store.ts';
import { kindRegistry, redactor } from './wiring.ts';

export const exportStore = () => new DynamoExportStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));
export const objectStore = () => new S3ObjectStore(s3Client(), requiredEnv(EXPORTS_BUCKET.envVar));
export const jobQueue = () => new SqsJobQueue(new SQSClient({}), requiredEnv(ENV.exportQueueUrl));
export const mailer = () => new SesMailer(new SESv2Client({}));
export const emailQuota = () =>
  new DynamoEmailQuotaStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));
export const emailFrom = () => process.env[ENV.emailFrom] ?? 'Trailkeeper <no-reply@trailkeeper.invalid>';

const positiveInt = (raw: string | undefined, fallback: number): number => {
  const value = Number(raw);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/** Part size of export uploads; tests make it tiny to force many parts and checkpoints. */
export const exportPartBytes = () => positiveInt(process.env[ENV.exportPartBytes], DEFAULT_PART_BYTES);
export const exportTimeReserveMs = () =>
  positiveInt(process.env[ENV.exportTimeReserveMs], DEFAULT_TIME_RESERVE_MS);

/**
 * The sealer's watermark lag, which sets every export's cut-off (shared/domain/export.ts
 * exportCutoff): the local runtime may shorten it for tests, as it does the sealer's; AWS always
 * uses INTEGRITY's.
 */
export const sealLagMs = (): number => {
  const raw = process.env[ENV.sealWatermarkLagMs];
  const value = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(value) && value >= 0
    ? value
    : INTEGRITY.watermarkLagSeconds * 1000;
};

/** Everything the export API and the export worker use. */
export const exportDeps = () => ({
  store: registeringEventStore(),
  // The planner's kinds and actor emails.
  kinds: kindRegistry(),
  redact: redactor(),
  now: () => Date.now(),
  exports: exportStore(),
  objects: objectStore(),
  queue: jobQueue(),
  mailer: mailer(),
  emailFrom: emailFrom(),
  sealLagMs: sealLagMs(),
  control: controlStore(),
  emailQuota: emailQuota(),
});
