/**
 * Ports of the exports: their records, the files, the job queue, the notification emails and
 * their per-tenant allowance. Implemented by DynamoExportStore, S3ObjectStore, SqsJobQueue,
 * SesMailer and DynamoEmailQuotaStore (shared/adapters/) and, for unit tests, by
 * test/unit/fakes/exports.ts.
 */
import type { EmailMessage } from '../../domain/email.ts';
import type { ExportRecord } from '../../domain/export.ts';

export interface ExportStore {
  /** Stores a new record; refuses (throws) when the export id exists, changing nothing. */
  create(record: ExportRecord): Promise<void>;
  get(tenantId: string, exportId: string): Promise<ExportRecord | null>;
  /**
   * Writes `record` with version + 1 if the stored version is still `record.version`, and returns
   * what it wrote; null (nothing written) when another writer got there first.
   */
  save(record: ExportRecord): Promise<ExportRecord | null>;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** Export files: whole objects, resumable multipart uploads, presigned downloads. */
export interface ObjectStore {
  put(key: string, body: string, contentType: string): Promise<void>;
  /** Starts a multipart upload; nothing is visible under `key` until it completes. */
  startUpload(key: string, contentType: string): Promise<string>;
  /**
   * Uploads (or re-uploads, replacing it) part `partNumber` of the upload. `body` is lent: the
   * export job refills the same buffer for its next part once this promise settles, so an
   * implementation must not keep it (copy it if it must).
   */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadedPart>;
  /** The object becomes the given parts, in order. */
  completeUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void>;
  abortUpload(key: string, uploadId: string): Promise<void>;
  /** A GET URL valid for `seconds`, served as an attachment named `filename`. */
  presignDownload(key: string, filename: string, seconds: number): Promise<string>;
}

/** One queued export: the worker loads everything else from the export record. */
export interface ExportJob {
  tenantId: string;
  exportId: string;
}

/** At-least-once delivery to the export worker. */
export interface JobQueue {
  send(job: ExportJob): Promise<void>;
}

export interface Mailer {
  /** Sends the message; resolves to the provider's message id when it gives one. */
  send(message: EmailMessage): Promise<string | undefined>;
}

export interface EmailQuotaStore {
  /**
   * Counts one email against the tenant's allowance for `window` if fewer than `limit` were
   * counted; false (nothing counted) when the allowance is used up. The counter expires at
   * `expiresAtSeconds` (epoch seconds).
   */
  take(tenantId: string, window: string, limit: number, expiresAtSeconds: number): Promise<boolean>;
}
