/**
 * Read side of the cold-storage archive, for the operator CLI (cli/archive.ts): which objects hold
 * a tenant's events for a range of days, whether each can be read now or must first be restored
 * from Glacier Flexible Retrieval / Deep Archive, asking S3 for those restores, and streaming an
 * object's events without holding it in memory. It only reads: the bucket is under Object Lock,
 * and an auditor's tool has no business writing to it (RestoreObject makes a temporary copy, it
 * does not change the archived version).
 *
 * Layout (written by the compactor): `tenant=<id>/date=<UTC day received>/events-<hash>.ndjson.gz`,
 * gzip NDJSON, one event per line as the API returns it (key layout: shared/domain/archive.ts).
 * Keys are only ever built from a validated tenant id and validated dates.
 */
import { createInterface } from 'node:readline';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ARCHIVE_EVENTS_PREFIX } from '../config/storage.ts';
import {
  type ColdStorageClass,
  isColdStorageClass,
  parsePartition,
  partitionPrefix,
} from '../domain/archive.ts';
import { isTenantId } from '../domain/tenant.ts';
import type { ArchivedEvent, ArchiveIds, ArchiveObject, ObjectStatus } from '../usecases/ports/archive.ts';

/** Bad tenant id, date, range, tier or days: the caller's mistake, not S3's. */
export class ArchiveInputError extends Error {
  override readonly name = 'ArchiveInputError';
}

export const RESTORE_TIERS = ['Standard', 'Bulk', 'Expedited'] as const;
export type RestoreTier = (typeof RESTORE_TIERS)[number];

export interface RestoreEstimate {
  readonly minMinutes: number;
  readonly maxMinutes: number;
  /** E.g. "3–5 hours", "within 12 hours". */
  readonly description: string;
}

const MINUTE = 1;
const HOUR = 60 * MINUTE;

/**
 * AWS's documented retrieval times (S3 User Guide, "Understanding archive retrieval options").
 * Deep Archive has no Expedited tier.
 */
const RETRIEVAL_TIMES: Record<ColdStorageClass, Partial<Record<RestoreTier, RestoreEstimate>>> = {
  GLACIER: {
    Expedited: { minMinutes: 1 * MINUTE, maxMinutes: 5 * MINUTE, description: '1–5 minutes' },
    Standard: { minMinutes: 3 * HOUR, maxMinutes: 5 * HOUR, description: '3–5 hours' },
    Bulk: { minMinutes: 5 * HOUR, maxMinutes: 12 * HOUR, description: '5–12 hours' },
  },
  DEEP_ARCHIVE: {
    Standard: { minMinutes: 0, maxMinutes: 12 * HOUR, description: 'within 12 hours' },
    Bulk: { minMinutes: 0, maxMinutes: 48 * HOUR, description: 'within 48 hours' },
  },
};

/** How long a restore of an object in `storageClass` takes with `tier`; throws for impossible pairs. */
export const restoreEstimate = (storageClass: string, tier: RestoreTier): RestoreEstimate => {
  if (!isColdStorageClass(storageClass)) {
    throw new ArchiveInputError(`objects in ${storageClass} are readable without a restore`);
  }
  const estimate = RETRIEVAL_TIMES[storageClass][tier];
  if (!estimate) {
    const tiers = RESTORE_TIERS.filter((t) => RETRIEVAL_TIMES[storageClass][t]).join(' or ');
    throw new ArchiveInputError(`${storageClass} has no ${tier} retrieval tier; use ${tiers}`);
  }
  return estimate;
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar day written YYYY-MM-DD. */
export const isArchiveDate = (value: string): boolean =>
  DATE.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);

const checkTenant = (tenantId: string): void => {
  if (!isTenantId(tenantId)) {
    throw new ArchiveInputError('tenant id must be tnt_ followed by 26 lowercase letters or digits');
  }
};

const checkRange = (fromDate: string, toDate: string): void => {
  for (const date of [fromDate, toDate]) {
    if (!isArchiveDate(date)) throw new ArchiveInputError(`${JSON.stringify(date)} is not a YYYY-MM-DD date`);
  }
  if (fromDate > toDate) throw new ArchiveInputError(`from date ${fromDate} is after to date ${toDate}`);
};

/** `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` → done, until the expiry. */
const parseRestoreHeader = (header: string): { ongoing: boolean; expiry?: Date } => {
  const ongoing = /ongoing-request="(true|false)"/.exec(header)?.[1] !== 'false';
  const expiry = /expiry-date="([^"]+)"/.exec(header)?.[1];
  return expiry === undefined ? { ongoing } : { ongoing, expiry: new Date(expiry) };
};

export class ArchiveReader implements ArchiveIds {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * Every event object of the tenant whose partition day is in [fromDate, toDate], in key order
   * (= day order). One paginated listing of the tenant's prefix starting at fromDate's partition
   * and stopped at the first day past `toDate`: one request per 1,000 objects whatever the
   * range's length, where a listing per day would cost one request per day, mostly empty.
   */
  async listObjects(tenantId: string, fromDate: string, toDate: string): Promise<ArchiveObject[]> {
    checkTenant(tenantId);
    checkRange(fromDate, toDate);
    const found: ArchiveObject[] = [];
    const pages = paginateListObjectsV2(
      { client: this.s3 },
      {
        Bucket: this.bucket,
        Prefix: `${ARCHIVE_EVENTS_PREFIX}${tenantId}/`,
        StartAfter: partitionPrefix({ tenantId, day: fromDate }),
      },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        const partition = object.Key === undefined ? null : parsePartition(object.Key);
        if (object.Key === undefined || !partition || !object.Key.endsWith('.ndjson.gz')) continue;
        const date = partition.day;
        if (date > toDate) return found;
        found.push({
          key: object.Key,
          date,
          size: object.Size ?? 0,
          storageClass: object.StorageClass ?? 'STANDARD',
          lastModified: object.LastModified,
        });
      }
    }
    return found;
  }

  /** Whether `key` can be read now, is being restored, or needs a restore (HeadObject). */
  async status(key: string): Promise<ObjectStatus> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    const storageClass = head.StorageClass ?? 'STANDARD';
    if (!isColdStorageClass(storageClass)) return { state: 'readable', storageClass };
    if (head.Restore === undefined) return { state: 'archived', storageClass };
    const restore = parseRestoreHeader(head.Restore);
    if (restore.ongoing) return { state: 'restoring', storageClass };
    return restore.expiry === undefined
      ? { state: 'readable', storageClass }
      : { state: 'readable', storageClass, restoredUntil: restore.expiry };
  }

  /**
   * Asks S3 for a temporary readable copy of `key` for `days` days. A restore already under way
   * is not an error (S3 answers 409 RestoreAlreadyInProgress): it is reported as such.
   */
  async requestRestore(
    key: string,
    options: { tier: RestoreTier; days: number },
  ): Promise<'requested' | 'already-in-progress'> {
    if (!RESTORE_TIERS.includes(options.tier)) throw new ArchiveInputError(`unknown tier ${options.tier}`);
    if (!Number.isInteger(options.days) || options.days < 1) {
      throw new ArchiveInputError('restore days must be a positive whole number');
    }
    try {
      await this.s3.send(
        new RestoreObjectCommand({
          Bucket: this.bucket,
          Key: key,
          RestoreRequest: { Days: options.days, GlacierJobParameters: { Tier: options.tier } },
        }),
      );
      return 'requested';
    } catch (error) {
      if (error instanceof Error && error.name === 'RestoreAlreadyInProgress') return 'already-in-progress';
      throw error;
    }
  }

  /**
   * The events of one object, streamed: GetObject body → gunzip → lines → JSON objects, so memory
   * stays flat whatever the object's size. Leaving the loop early releases the connection.
   */
  async *events(key: string): AsyncGenerator<ArchivedEvent> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!(Body instanceof Readable)) throw new Error(`S3 returned no readable body for ${key}`);
    const lines = createInterface({ input: pipeline(Body, createGunzip(), () => {}), crlfDelay: Infinity });
    let lineNumber = 0;
    try {
      for await (const line of lines) {
        lineNumber += 1;
        if (line.trim() === '') continue;
        let event: unknown;
        try {
          event = JSON.parse(line);
        } catch {
          // The line itself is an event's content: never put it in a message.
          throw new Error(`${key} line ${lineNumber} is not valid JSON`);
        }
        if (event === null || typeof event !== 'object' || Array.isArray(event)) {
          throw new Error(`${key} line ${lineNumber} is not a JSON object`);
        }
        yield event as ArchivedEvent;
      }
    } finally {
      lines.close();
      Body.destroy();
    }
  }
}
