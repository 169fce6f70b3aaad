/**
 * The exports' ports in memory, honouring their contracts as the AWS adapters do: export records
 * created once and saved only over the version they were read at (DynamoExportStore); objects
 * and multipart uploads as S3 keeps them — nothing under the key until the upload completes, a
 * re-uploaded part replaces the part, completion checks each part's ETag and order (and, unless
 * told otherwise, S3's 5 MiB minimum for every part but the last); a queue and a mailer that keep
 * what they were given; email allowances counted per tenant and window.
 */
import { createHash } from 'node:crypto';
import type { EmailMessage } from '#shared/domain/email.ts';
import type { ExportRecord } from '#shared/domain/export.ts';
import type {
  EmailQuotaStore,
  ExportJob,
  ExportStore,
  JobQueue,
  Mailer,
  ObjectStore,
  UploadedPart,
} from '#shared/usecases/ports/exports.ts';
import { ConditionFailed, copy } from './condition.ts';

export class MemoryExportStore implements ExportStore {
  private readonly records = new Map<string, ExportRecord>();

  async create(record: ExportRecord): Promise<void> {
    const id = `${record.tenant_id}/${record.id}`;
    if (this.records.has(id)) throw new ConditionFailed(`export ${record.id} exists`);
    this.records.set(id, copy(record));
  }

  async get(tenantId: string, exportId: string): Promise<ExportRecord | null> {
    const record = this.records.get(`${tenantId}/${exportId}`);
    return record === undefined ? null : copy(record);
  }

  async save(record: ExportRecord): Promise<ExportRecord | null> {
    const id = `${record.tenant_id}/${record.id}`;
    if (this.records.get(id)?.version !== record.version) return null;
    const next = { ...copy(record), version: record.version + 1 };
    this.records.set(id, next);
    return copy(next);
  }
}

/** S3's smallest part, except the last. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;

interface Upload {
  key: string;
  contentType: string;
  parts: Map<number, Buffer>;
}

const etagOf = (body: Buffer): string => `"${createHash('md5').update(body).digest('hex')}"`;

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; contentType: string }>();
  private readonly uploads = new Map<string, Upload>();
  private nextUpload = 1;

  /** `minPartBytes`: S3's by default; 0 to behave like s3rver, which does not enforce it. */
  constructor(private readonly minPartBytes = S3_MIN_PART_BYTES) {}

  async put(key: string, body: string, contentType: string): Promise<void> {
    this.objects.set(key, { body: Buffer.from(body, 'utf8'), contentType });
  }

  async startUpload(key: string, contentType: string): Promise<string> {
    const uploadId = `upload-${this.nextUpload++}`;
    this.uploads.set(uploadId, { key, contentType, parts: new Map() });
    return uploadId;
  }

  private upload(key: string, uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) throw new Error(`NoSuchUpload: ${uploadId}`);
    return upload;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadedPart> {
    this.upload(key, uploadId).parts.set(partNumber, Buffer.from(body));
    return { partNumber, etag: etagOf(body) };
  }

  async completeUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void> {
    const upload = this.upload(key, uploadId);
    const bodies = parts.map((part, i) => {
      const body = upload.parts.get(part.partNumber);
      if (body === undefined || etagOf(body) !== part.etag)
        throw new Error(`InvalidPart: ${part.partNumber}`);
      if (i > 0 && part.partNumber <= (parts[i - 1] as UploadedPart).partNumber) {
        throw new Error('InvalidPartOrder');
      }
      if (i < parts.length - 1 && body.length < this.minPartBytes) throw new Error('EntityTooSmall');
      return body;
    });
    this.objects.set(key, { body: Buffer.concat(bodies), contentType: upload.contentType });
    this.uploads.delete(uploadId);
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    this.upload(key, uploadId);
    this.uploads.delete(uploadId);
  }

  async presignDownload(key: string, filename: string, seconds: number): Promise<string> {
    const query = new URLSearchParams({ filename, expires: String(seconds) });
    return `https://objects.invalid/${key}?${query}`;
  }

  /** Uploads started and neither completed nor aborted. */
  openUploads(): number {
    return this.uploads.size;
  }

  text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }
}

export class MemoryJobQueue implements JobQueue {
  readonly sent: ExportJob[] = [];
  /** When set, send fails with it (nothing is queued). */
  failure: Error | undefined;

  async send(job: ExportJob): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.sent.push(copy(job));
  }
}

export class MemoryMailer implements Mailer {
  readonly sent: EmailMessage[] = [];
  /** When set, send fails with it (nothing is sent). */
  failure: Error | undefined;

  async send(message: EmailMessage): Promise<string | undefined> {
    if (this.failure !== undefined) throw this.failure;
    this.sent.push(copy(message));
    return `message-${this.sent.length}`;
  }
}

export class MemoryEmailQuotaStore implements EmailQuotaStore {
  private readonly counters = new Map<string, { count: number; expiresAtSeconds: number }>();

  async take(tenantId: string, window: string, limit: number, expiresAtSeconds: number): Promise<boolean> {
    const key = `${tenantId}|${window}`;
    const count = this.counters.get(key)?.count ?? 0;
    if (count >= limit) return false;
    this.counters.set(key, { count: count + 1, expiresAtSeconds });
    return true;
  }

  counted(tenantId: string, window: string): number {
    return this.counters.get(`${tenantId}|${window}`)?.count ?? 0;
  }
}
