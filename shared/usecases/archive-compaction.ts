/**
 * Compaction of the archive: once a UTC day is closed, each tenant's staged batches of that day
 * become one gzip NDJSON object in the Object Lock bucket, every event exactly once, and the
 * staged batches are deleted. Exactly once holds across retries and crashes: events already in
 * the partition's finalized objects are skipped (a run that died after writing but before
 * deleting leaves nothing new to write), and a staged duplicate (a stream redelivery) is skipped
 * the same way. Small per-batch objects never reach cold storage; a tenant-day object does.
 */
import {
  archiveObjectKey,
  isDayClosed,
  type Partition,
  parsePartition,
  partitionPrefix,
} from '../domain/archive.ts';
import type { ArchiveBuckets, LineWriter } from './ports/archive.ts';

export interface CompactionDeps {
  store: ArchiveBuckets;
  stagingBucket: string;
  archiveBucket: string;
  now: () => number;
  closeAfterHours: number;
}

export interface PartitionResult {
  partition: Partition;
  staged: number;
  written: number;
  duplicates: number;
  key: string | null;
}

export interface CompactionResult {
  partitions: PartitionResult[];
  /** Partitions left for a later run: still open, or no time left. */
  pending: number;
}

const idOf = (line: string): string => {
  const id = (JSON.parse(line) as { id?: unknown }).id;
  if (typeof id !== 'string') throw new Error('archived line without an id');
  return id;
};

export const compactPartition = async (
  deps: CompactionDeps,
  partition: Partition,
  stagedKeys: readonly string[],
): Promise<PartitionResult> => {
  const prefix = partitionPrefix(partition);
  const seen = new Set<string>();
  for await (const key of deps.store.list(deps.archiveBucket, prefix)) {
    for await (const line of deps.store.lines(deps.archiveBucket, key)) seen.add(idOf(line));
  }
  const key = archiveObjectKey(partition, stagedKeys);
  let writer: LineWriter | undefined;
  let written = 0;
  let duplicates = 0;
  for (const staged of [...stagedKeys].sort()) {
    for await (const line of deps.store.lines(deps.stagingBucket, staged)) {
      const id = idOf(line);
      if (seen.has(id)) {
        duplicates += 1;
        continue;
      }
      seen.add(id);
      // Started on the first new event: a partition with nothing new writes no object.
      writer ??= deps.store.writer(deps.archiveBucket, key, { 'staged-batches': String(stagedKeys.length) });
      await writer.write(line);
      written += 1;
    }
  }
  if (writer !== undefined) await writer.close();
  await deps.store.deleteAll(deps.stagingBucket, stagedKeys);
  return {
    partition,
    staged: stagedKeys.length,
    written,
    duplicates,
    key: writer === undefined ? null : key,
  };
};

/** One run: every closed partition with staged batches, oldest day first, while time lasts. */
export const compactArchive = async (
  deps: CompactionDeps,
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
  reserveMs = 0,
): Promise<CompactionResult> => {
  const staged = new Map<string, { partition: Partition; keys: string[] }>();
  for await (const key of deps.store.list(deps.stagingBucket)) {
    const partition = parsePartition(key);
    if (partition === null) continue;
    const id = partitionPrefix(partition);
    const entry = staged.get(id) ?? { partition, keys: [] };
    entry.keys.push(key);
    staged.set(id, entry);
  }
  const nowMs = deps.now();
  const closed = [...staged.values()]
    .filter(({ partition }) => isDayClosed(partition.day, nowMs, deps.closeAfterHours))
    .sort(
      (a, b) =>
        a.partition.day.localeCompare(b.partition.day) ||
        a.partition.tenantId.localeCompare(b.partition.tenantId),
    );
  const partitions: PartitionResult[] = [];
  for (const { partition, keys } of closed) {
    if (remainingMs() < reserveMs) break;
    partitions.push(await compactPartition(deps, partition, keys));
  }
  return { partitions, pending: staged.size - partitions.length };
};
