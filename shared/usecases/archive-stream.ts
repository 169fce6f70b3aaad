/**
 * The archiver's work on one batch of the events table's stream: every inserted event is
 * staged, as one line of gzip NDJSON, in a per-batch object of its tenant-and-day partition;
 * expiries and re-timings are counted; anything else is a tampering finding. A record that cannot
 * be read as an event (undecodable, key and content disagree, hash mismatch) is quarantined whole
 * rather than failing the batch, so one bad record never blocks or loses the rest. Only S3
 * failures fail records: the lowest failed sequence number is reported and the stream redelivers
 * from there (records staged twice that way are deduplicated by the compactor). Records arrive
 * decoded (shared/adapters/event-stream.ts); the rules of what a change is are in domain/stream.ts.
 */
import { gzipSync } from 'node:zlib';
import {
  archiveDay,
  compareSequence,
  type Partition,
  partitionPrefix,
  quarantineKey,
  stagingKey,
} from '../domain/archive.ts';
import { type ChangeKind, classifyChange } from '../domain/stream.ts';
import type { BlobWriter, DecodedInsert, StreamRecord } from './ports/archive.ts';

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

export interface ArchiveBatchResult {
  /** At most one: the lowest sequence number that failed; the stream redelivers from there. */
  batchItemFailures: { itemIdentifier: string }[];
  counts: ArchiveCounts;
  findings: Finding[];
}

/** An INSERT its decoder left unread: quarantined like any unreadable record. */
const NOT_DECODED: DecodedInsert = { ok: false, reason: 'not decoded' };

interface Group {
  partition: Partition;
  ids: string[];
  lines: string[];
  sequences: string[];
}

export const archiveStreamBatch = async (
  deps: ArchiveStreamDeps,
  records: readonly StreamRecord[],
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
    const { sequence } = record;
    if (kind === 'tampering') {
      findings.push({ eventName: record.eventName, key: record.key, principal: record.principal, sequence });
    }
    if (kind !== 'insert') continue;
    const decoded = record.inserted ?? NOT_DECODED;
    if (!decoded.ok) {
      counts.quarantined += 1;
      const day = new Date(record.createdAtMs).toISOString().slice(0, 10);
      const key = quarantineKey(day, sequence, record.recordId ?? sequence);
      const body = Buffer.from(JSON.stringify({ reason: decoded.reason, record: record.raw }));
      writes.push({ sequences: [sequence], write: () => deps.quarantine.put(key, body, 'application/json') });
      continue;
    }
    const partition = { tenantId: decoded.event.tenant_id, day: archiveDay(decoded.event.received_at) };
    const id = partitionPrefix(partition);
    const group = partitions.get(id) ?? { partition, ids: [], lines: [], sequences: [] };
    group.ids.push(decoded.event.id);
    group.lines.push(JSON.stringify(decoded.event));
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
