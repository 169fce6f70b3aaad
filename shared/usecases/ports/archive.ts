/**
 * Ports of the archive: the events table's stream as the archiver receives it (decoded by
 * shared/adapters/event-stream.ts), the buckets the archiver, the compactor and the reconciler
 * write and read (S3BlobWriter, ArchiveStore, ArchiveReader in shared/adapters/), and the events
 * table as the reconciler reads it (DynamoSealStore).
 */
import type { StoredEvent } from '../../domain/event.ts';
import type { EventChange } from '../../domain/stream.ts';
import type { SealStore } from './integrity.ts';

/** An inserted item read as an event, or why it cannot be (it is then quarantined). */
export type DecodedInsert = { ok: true; event: StoredEvent } | { ok: false; reason: string };

/** One record of the events table's stream, decoded: what the archiver acts and reports on. */
export interface StreamRecord extends EventChange {
  /** The stream's sequence number ('0' when absent): the order, and the batch-failure handle. */
  sequence: string;
  /** The stream's id of the record, when it has one. */
  recordId: string | undefined;
  /** The changed item's key (`<tenant>#<event id>`), for findings. */
  key: string | undefined;
  /** Who made the change, as the stream names them, for findings. */
  principal: string | undefined;
  /** When the change was made (epoch ms; 0 when the stream does not say). */
  createdAtMs: number;
  /** For an INSERT: the stored event, checked against its key and hash; undefined otherwise. */
  inserted: DecodedInsert | undefined;
  /** The record as the stream delivered it: what a quarantined record keeps, whole. */
  raw: unknown;
}

/** Writes one whole object (the staging bucket, or the archive bucket's quarantine prefix). */
export interface BlobWriter {
  put(key: string, body: Buffer, contentType: string): Promise<void>;
}

export interface LineWriter {
  write(line: string): Promise<void>;
  /** Completes the object; nothing is visible under its key before. */
  close(): Promise<void>;
}

/** The staging and archive buckets as compaction sees them: objects of gzip NDJSON lines. */
export interface ArchiveBuckets {
  /** Every key under `prefix`, in key order. */
  list(bucket: string, prefix?: string): AsyncIterable<string>;
  /** The non-empty lines of a gzip object, streamed. */
  lines(bucket: string, key: string): AsyncIterable<string>;
  /** A gzip NDJSON object written line by line; it appears under `key` when closed. */
  writer(bucket: string, key: string, metadata?: Record<string, string>): LineWriter;
  deleteAll(bucket: string, keys: readonly string[]): Promise<void>;
}

export interface ArchiveObject {
  readonly key: string;
  /** The partition's UTC day (the day the service received the events), YYYY-MM-DD. */
  readonly date: string;
  readonly size: number;
  /** As the bucket lists it, with 'STANDARD' where it leaves it out. */
  readonly storageClass: string;
  readonly lastModified: Date | undefined;
}

export type ObjectStatus =
  /** Readable now: in a readable class, or a restored copy exists (until `restoredUntil`). */
  | { readonly state: 'readable'; readonly storageClass: string; readonly restoredUntil?: Date }
  | { readonly state: 'restoring'; readonly storageClass: string }
  | { readonly state: 'archived'; readonly storageClass: string };

/** One archived event: a JSON object as the API returned it. */
export type ArchivedEvent = Record<string, unknown>;

/** What reconciling needs of the archive bucket: its read side (ArchiveReader). */
export interface ArchiveIds {
  /** The tenant's event objects whose partition day is in [fromDate, toDate], in day order. */
  listObjects(tenantId: string, fromDate: string, toDate: string): Promise<ArchiveObject[]>;
  status(key: string): Promise<ObjectStatus>;
  /** The events of one object, streamed. */
  events(key: string): AsyncIterable<ArchivedEvent>;
}

/** The events table's view by time of receipt (DynamoSealStore). */
export type ReceivedEvents = Pick<SealStore, 'receivedBetween'>;

/** Whole stored events by id (DynamoSealStore); absent ids are gone from the table. */
export interface StoredEvents {
  storedEvents(tenantId: string, ids: readonly string[]): Promise<Map<string, StoredEvent>>;
}
