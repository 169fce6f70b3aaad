/**
 * The archiver's work on one batch of the events table's stream: every inserted event is
 * staged, as one line of gzip NDJSON, in a per-batch object of its tenant-and-day partition;
 * expiries and re-timings are counted; anything else is a tampering finding. A record that cannot
 * be read as an event (undecodable, key and content disagree, hash mismatch) is quarantined whole
 * rather than failing the batch, so one bad record never blocks or loses the rest. Only S3
 * failures fail records: the lowest failed sequence number is reported and the stream redelivers
 * from there (records staged twice that way are deduplicated by the compactor).
 */
import { createHash } from 'node:crypto';
import { brotliDecompressSync, gzipSync } from 'node:zlib';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { fromDocument } from '../adapters/event-store.ts';
import {
  archiveDay,
  compareSequence,
  type Partition,
  partitionPrefix,
  quarantineKey,
  stagingKey,
} from '../domain/archive.ts';
import type { StoredEvent } from '../domain/event.ts';
import { type ChangeKind, classifyChange } from '../domain/stream.ts';
import { isTenantId } from '../domain/tenant.ts';

/** Writes one whole object (the staging bucket, or the archive bucket's quarantine prefix). */
export interface BlobWriter {
  put(key: string, body: Buffer, contentType: string): Promise<void>;
}

export interface ArchiveStreamDeps {
  staging: BlobWriter;
  quarantine: BlobWriter;
}

/** A change that is not an insert, expiry or re-timing: logged as a security finding (keys only). */
export interface Finding {
  eventName: string;
  key: string | undefined;
  principal: string | undefined;
  sequence: string;
}

export interface ArchiveCounts extends Record<ChangeKind, number> {
  archived: number;
  quarantined: number;
  objects: number;
}

export interface ArchiveBatchResult extends DynamoDBBatchResponse {
  counts: ArchiveCounts;
  findings: Finding[];
}

export type Decoded = { ok: true; event: StoredEvent; line: string } | { ok: false; reason: string };

/** Lambda delivers binary attributes base64-encoded; unmarshall leaves those as strings. */
const binary = (value: unknown): Buffer =>
  typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array);

/** The stored event of an INSERT record, checked against its item key and its hash. */
export const decodeInsert = (record: DynamoDBRecord): Decoded => {
  try {
    const image = record.dynamodb?.NewImage;
    if (image === undefined) return { ok: false, reason: 'no new image' };
    // biome-ignore lint/suspicious/noExplicitAny: aws-lambda's and the SDK's AttributeValue differ only in typing
    const item = unmarshall(image as any);
    const doc = binary(item.doc);
    // `doc` is the canonical JSON that was hashed at ingest: check it before trusting it.
    const canonical = brotliDecompressSync(doc);
    if (createHash('sha256').update(canonical).digest('hex') !== item.hash) {
      return { ok: false, reason: 'hash mismatch' };
    }
    const event = fromDocument(canonical, item);
    if (!isTenantId(event.tenant_id) || item.pk !== `${event.tenant_id}#${event.id}`) {
      return { ok: false, reason: 'item key does not match the event' };
    }
    return { ok: true, event, line: JSON.stringify(event) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.name : 'undecodable' };
  }
};

interface Group {
  partition: Partition;
  ids: string[];
  lines: string[];
  sequences: string[];
}

const sequenceOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '0';

export const archiveStreamBatch = async (
  deps: ArchiveStreamDeps,
  records: readonly DynamoDBRecord[],
): Promise<ArchiveBatchResult> => {
  const counts: ArchiveCounts = {
    insert: 0,
    expiry: 0,
    retiming: 0,
    tampering: 0,
    archived: 0,
    quarantined: 0,
    objects: 0,
  };
  const findings: Finding[] = [];
  const partitions = new Map<string, Group>();
  const writes: Array<{ sequences: string[]; write: () => Promise<void> }> = [];

  for (const record of records) {
    const kind = classifyChange(record);
    counts[kind] += 1;
    const sequence = sequenceOf(record);
    if (kind === 'tampering') {
      findings.push({
        eventName: String(record.eventName),
        key: record.dynamodb?.Keys?.pk?.S,
        principal: (record.userIdentity as { principalId?: string } | undefined)?.principalId,
        sequence,
      });
    }
    if (kind !== 'insert') continue;
    const decoded = decodeInsert(record);
    if (!decoded.ok) {
      counts.quarantined += 1;
      const day = new Date((record.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000)
        .toISOString()
        .slice(0, 10);
      const key = quarantineKey(day, sequence, record.eventID ?? sequence);
      const body = Buffer.from(JSON.stringify({ reason: decoded.reason, record }));
      writes.push({ sequences: [sequence], write: () => deps.quarantine.put(key, body, 'application/json') });
      continue;
    }
    const partition = { tenantId: decoded.event.tenant_id, day: archiveDay(decoded.event.received_at) };
    const id = partitionPrefix(partition);
    const group = partitions.get(id) ?? { partition, ids: [], lines: [], sequences: [] };
    group.ids.push(decoded.event.id);
    group.lines.push(decoded.line);
    group.sequences.push(sequence);
    partitions.set(id, group);
  }

  for (const group of partitions.values()) {
    const key = stagingKey(group.partition, group.sequences[0] ?? '0', group.ids);
    const body = gzipSync(`${group.lines.join('\n')}\n`);
    writes.push({
      sequences: group.sequences,
      write: async () => {
        await deps.staging.put(key, body, 'application/gzip');
        counts.archived += group.lines.length;
        counts.objects += 1;
      },
    });
  }

  const outcomes = await Promise.allSettled(writes.map((w) => w.write()));
  const failed = outcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected' ? (writes[i]?.sequences ?? []) : [],
  );
  const lowest = failed.sort(compareSequence)[0];
  return {
    batchItemFailures: lowest === undefined ? [] : [{ itemIdentifier: lowest }],
    counts,
    findings,
  };
};
