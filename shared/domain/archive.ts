/**
 * The archive's layout and rules, pure. Events are partitioned by tenant and by the UTC day the
 * service received them (`received_at`): a day's partition can be closed once the stream can no
 * longer deliver anything of it, which a partition by `occurred_at` (up to a retention period in
 * the past) never could. Object keys are derived from their content's identity, so a retried
 * write lands on the same key instead of beside it.
 */
import { createHash } from 'node:crypto';
import { isTenantId } from './tenant.ts';

const DAY_MS = 86_400_000;
const PARTITION = /^tenant=(tnt_[0-9a-z]{26})\/date=(\d{4}-\d{2}-\d{2})\//;

/** The storage classes the archive's lifecycle moves objects to; reading them needs a restore. */
export const COLD_STORAGE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;
export type ColdStorageClass = (typeof COLD_STORAGE_CLASSES)[number];

export const isColdStorageClass = (storageClass: string): storageClass is ColdStorageClass =>
  (COLD_STORAGE_CLASSES as readonly string[]).includes(storageClass);

export interface Partition {
  tenantId: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
}

const shortHash = (parts: readonly string[]): string =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);

/** The partition day of an event: the UTC date of its `received_at`. */
export const archiveDay = (receivedAt: string): string => new Date(receivedAt).toISOString().slice(0, 10);

export const partitionPrefix = ({ tenantId, day }: Partition): string => {
  if (!isTenantId(tenantId) || !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error('invalid archive partition');
  return `tenant=${tenantId}/date=${day}/`;
};

export const parsePartition = (key: string): Partition | null => {
  const match = PARTITION.exec(key);
  return match ? { tenantId: match[1] as string, day: match[2] as string } : null;
};

/**
 * A staged batch: named by the first stream sequence number it holds (so a listing reads in
 * stream order) and a hash of its event ids (a retry of the same records overwrites it).
 */
export const stagingKey = (
  partition: Partition,
  firstSequence: string,
  eventIds: readonly string[],
): string =>
  `${partitionPrefix(partition)}${firstSequence.padStart(40, '0')}-${shortHash(eventIds)}.ndjson.gz`;

/** A finalized object: named by the staged batches it was compacted from. */
export const archiveObjectKey = (partition: Partition, stagedKeys: readonly string[]): string =>
  `${partitionPrefix(partition)}events-${shortHash([...stagedKeys].sort())}.ndjson.gz`;

/** Where a stream record the archiver could not read is kept, whole, for investigation. */
export const quarantineKey = (day: string, sequence: string, eventId: string): string =>
  `quarantine/date=${day}/${sequence.padStart(40, '0')}-${shortHash([eventId])}.json`;

/** A day is closed `closeAfterHours` after it ended: nothing of it can still arrive from the stream. */
export const isDayClosed = (day: string, nowMs: number, closeAfterHours: number): boolean =>
  Date.parse(`${day}T00:00:00.000Z`) + DAY_MS + closeAfterHours * 3_600_000 <= nowMs;

/** Stream sequence numbers are decimal strings of varying length: compare them as integers. */
export const compareSequence = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};
