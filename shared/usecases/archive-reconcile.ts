/**
 * Reconciling the archive with the events table, for when the archiver lost records (its
 * dead-letter queue holds only stream positions, and the stream forgets them after 24 h).
 * `checkArchive` compares, per UTC day of receipt, the event ids the table still holds (the
 * `bySeal` index) with the ids in that day's archive objects. `restageMissing` reads the missing
 * events whole from the table and stages them like the archiver does (gzip NDJSON, the API's JSON
 * of each event, in the day's partition), so the next compaction archives them, once: the
 * compactor skips every id the partition already holds. Restaged keys are derived from their
 * ids, so a repeated restage overwrites instead of adding.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  archiveDay,
  isColdStorageClass,
  isDayClosed,
  type Partition,
  partitionPrefix,
} from '../domain/archive.ts';
import type { StoredEvent } from '../domain/event.ts';
import type { ArchiveIds, BlobWriter, ReceivedEvents, StoredEvents } from './ports/archive.ts';

export interface CheckDeps {
  table: ReceivedEvents;
  archive: ArchiveIds;
}

export interface RestageDeps {
  table: StoredEvents;
  staging: BlobWriter;
}

export interface CheckRange {
  tenantId: string;
  /** First and last UTC day of receipt, YYYY-MM-DD, inclusive. */
  fromDate: string;
  toDate: string;
  /** Shards to read the index over: the tenant's count or more (extra shards are empty). */
  shards: number;
  nowMs: number;
  closeAfterHours: number;
}

/**
 * complete: every stored event is archived. missing: some are not. open: the day is not closed
 * yet, so missing events may still be staged (not a failure). needs-restore: an object of the day
 * is in cold storage without a readable copy, so the day cannot be checked.
 */
export type DayState = 'complete' | 'missing' | 'open' | 'needs-restore';

export interface DayCheck {
  day: string;
  state: DayState;
  /** Events of the day in the table. */
  stored: number;
  /** Distinct event ids in the day's archive objects (0 when the day needs a restore). */
  archived: number;
  /** Stored but not archived, in order of receipt. */
  missing: string[];
  /** Archived but no longer stored: normal once events expire from the table. */
  extra: number;
  /** Objects of the day in cold storage without a readable copy. */
  unreadable: number;
}

export interface RestagedObject {
  day: string;
  key: string;
  events: number;
}

export interface RestageResult {
  objects: RestagedObject[];
  /** Missing ids no longer in the table when they were read (expired in between). */
  gone: number;
}

const DAY_MS = 86_400_000;
/** Events per restaged object: the archiver's batch size at most. */
export const RESTAGE_CHUNK = 1000;

/** The UTC days from `fromDate` to `toDate`, inclusive. */
export const daysBetween = (fromDate: string, toDate: string): string[] => {
  const days: string[] = [];
  const last = Date.parse(`${toDate}T00:00:00.000Z`);
  for (let t = Date.parse(`${fromDate}T00:00:00.000Z`); t <= last; t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
};

/** A restaged batch: named by its ids, so restaging the same events again overwrites it. */
export const restageKey = (partition: Partition, eventIds: readonly string[]): string =>
  `${partitionPrefix(partition)}restage-${createHash('sha256').update(eventIds.join('\n')).digest('hex').slice(0, 16)}.ndjson.gz`;

/** The ids the table holds for `day` (received in [day 00:00, day 24:00)). */
const storedIds = async (table: ReceivedEvents, range: CheckRange, day: string): Promise<string[]> => {
  const dayStart = Date.parse(`${day}T00:00:00.000Z`);
  const events = await table.receivedBetween(
    range.tenantId,
    range.shards,
    new Date(dayStart - 1).toISOString(),
    new Date(dayStart + DAY_MS - 1).toISOString(),
    Number.POSITIVE_INFINITY,
  );
  return events.map((e) => e.id);
};

export const checkArchive = async (deps: CheckDeps, range: CheckRange): Promise<DayCheck[]> => {
  const objects = await deps.archive.listObjects(range.tenantId, range.fromDate, range.toDate);
  const checks: DayCheck[] = [];
  for (const day of daysBetween(range.fromDate, range.toDate)) {
    const stored = await storedIds(deps.table, range, day);
    const ofDay = objects.filter((o) => o.date === day);
    let unreadable = 0;
    for (const object of ofDay) {
      if (!isColdStorageClass(object.storageClass)) continue;
      if ((await deps.archive.status(object.key)).state !== 'readable') unreadable += 1;
    }
    const open = !isDayClosed(day, range.nowMs, range.closeAfterHours);
    if (unreadable > 0) {
      const state = open ? 'open' : 'needs-restore';
      checks.push({ day, state, stored: stored.length, archived: 0, missing: [], extra: 0, unreadable });
      continue;
    }
    const archived = new Set<string>();
    for (const object of ofDay) {
      for await (const event of deps.archive.events(object.key)) {
        if (typeof event.id === 'string') archived.add(event.id);
      }
    }
    const storedSet = new Set(stored);
    const missing = stored.filter((id) => !archived.has(id));
    const extra = [...archived].filter((id) => !storedSet.has(id)).length;
    const state: DayState = open ? 'open' : missing.length > 0 ? 'missing' : 'complete';
    checks.push({ day, state, stored: stored.length, archived: archived.size, missing, extra, unreadable });
  }
  return checks;
};

/**
 * Stages the missing events of every closed day `checks` found incomplete ('missing'), in objects
 * of at most RESTAGE_CHUNK events. Open days are left to the archiver and the compactor; days that
 * need a restore were not checked, so nothing of them is known to be missing.
 */
export const restageMissing = async (
  deps: RestageDeps,
  tenantId: string,
  checks: readonly DayCheck[],
): Promise<RestageResult> => {
  const objects: RestagedObject[] = [];
  let gone = 0;
  for (const check of checks) {
    if (check.state !== 'missing') continue;
    const found = await deps.table.storedEvents(tenantId, check.missing);
    const events: StoredEvent[] = [];
    for (const id of check.missing) {
      const event = found.get(id);
      // Only what belongs in this partition: the index said so, the document must agree.
      if (
        event === undefined ||
        event.tenant_id !== tenantId ||
        archiveDay(event.received_at) !== check.day
      ) {
        gone += 1;
        continue;
      }
      events.push(event);
    }
    const partition = { tenantId, day: check.day };
    for (let i = 0; i < events.length; i += RESTAGE_CHUNK) {
      const chunk = events.slice(i, i + RESTAGE_CHUNK);
      const key = restageKey(
        partition,
        chunk.map((e) => e.id),
      );
      const body = gzipSync(`${chunk.map((e) => JSON.stringify(e)).join('\n')}\n`);
      await deps.staging.put(key, body, 'application/gzip');
      objects.push({ day: check.day, key, events: chunk.length });
    }
  }
  return { objects, gone };
};
