/**
 * The events table as the sealer and the integrity scan see it: a tenant's events by the time
 * they were received (the `bySeal` index, hashes only), merged over the tenant's write shards in
 * leaf order, and the stored documents by key for re-hashing (and whole, for the archive's re-staging).
 */
import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { EVENTS_TABLE, SEAL_SORT_KEY } from '../config/tables.ts';
import { inLeafOrder, type SealedEvent } from '../domain/digest.ts';
import type { StoredEvent } from '../domain/event.ts';
import { eventItemKey, partitionValue, sealHour } from '../domain/keys.ts';
import type { StoredEvents } from '../usecases/ports/archive.ts';
import type { SealStore, StoredHash } from '../usecases/ports/integrity.ts';
import { fromItem } from './event-store.ts';

const INDEX = EVENTS_TABLE.indexes.bySeal;
const HOUR_MS = 3_600_000;

/** The UTC hours (`YYYY-MM-DDTHH`) that (start, end] touches. */
export const hoursBetween = (start: string, end: string): string[] => {
  const hours: string[] = [];
  const first = Date.parse(`${sealHour(new Date(Date.parse(start) + 1).toISOString())}:00:00.000Z`);
  for (let t = first; t <= Date.parse(end); t += HOUR_MS) hours.push(sealHour(new Date(t).toISOString()));
  return hours;
};

const parseSealKey = (key: string): { received_at: string; id: string } => {
  const split = key.indexOf('#');
  return { received_at: key.slice(0, split), id: key.slice(split + 1) };
};

export class DynamoSealStore implements SealStore, StoredEvents {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async receivedBetween(
    tenantId: string,
    shards: number,
    start: string,
    end: string,
    limit: number,
  ): Promise<SealedEvent[]> {
    // Strictly after `start` (every key of that millisecond sorts below start + 1 ms), up to and
    // including every key of the millisecond `end` (`#` and any id sort below U+FFFF).
    const low = new Date(Date.parse(start) + 1).toISOString();
    return this.inLeafRange(tenantId, shards, hoursBetween(start, end), low, end, limit);
  }

  /**
   * Events whose seal key `<received_at>#<id>` sorts strictly after `afterKey`, received up to and
   * including `end`, in leaf order, at most `limit` (the feed's page: a cursor may stop inside a
   * millisecond, so the bound is the whole key, not a time).
   */
  async receivedAfterKey(
    tenantId: string,
    shards: number,
    afterKey: string,
    end: string,
    limit: number,
  ): Promise<SealedEvent[]> {
    const received = afterKey.slice(0, afterKey.indexOf('#'));
    const hours = hoursBetween(new Date(Date.parse(received) - 1).toISOString(), end);
    return this.inLeafRange(tenantId, shards, hours, afterKey, end, limit);
  }

  /** Keys in [low, every key of `end`'s millisecond] of `hours`, strictly above `low`, merged over shards. */
  private async inLeafRange(
    tenantId: string,
    shards: number,
    hours: readonly string[],
    low: string,
    end: string,
    limit: number,
  ): Promise<SealedEvent[]> {
    const high = `${end}#\uffff`;
    if (low > high) return [];
    const perShard = await Promise.all(
      Array.from({ length: Math.max(1, shards) }, async (_, shard) => {
        const found: SealedEvent[] = [];
        for (const hour of hours) {
          let startKey: Record<string, unknown> | undefined;
          do {
            const out = await this.client.send(
              new QueryCommand({
                TableName: this.tableName,
                IndexName: INDEX.name,
                KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
                ExpressionAttributeNames: {
                  '#pk': INDEX.partitionKey,
                  '#sk': SEAL_SORT_KEY,
                  '#hash': 'hash',
                },
                ExpressionAttributeValues: {
                  ':pk': partitionValue(tenantId, shard, hour),
                  ':low': low,
                  ':high': high,
                },
                ProjectionExpression: '#sk, #hash',
                Limit: Math.min(1000, limit - found.length),
                ExclusiveStartKey: startKey,
              }),
            );
            for (const item of out.Items ?? []) {
              const key = String(item[SEAL_SORT_KEY]);
              // BETWEEN is inclusive: a feed's `low` is the last key it already returned.
              if (key > low) found.push({ ...parseSealKey(key), hash: String(item.hash) });
            }
            startKey = out.LastEvaluatedKey;
          } while (startKey !== undefined && found.length < limit);
          if (found.length >= limit) break;
        }
        return found;
      }),
    );
    const merged = inLeafOrder(perShard.flat());
    return merged.slice(0, limit);
  }

  async storedHashes(tenantId: string, ids: readonly string[]): Promise<Map<string, StoredHash>> {
    const found = new Map<string, StoredHash>();
    const projection = {
      ProjectionExpression: 'pk, #hash, doc',
      ExpressionAttributeNames: { '#hash': 'hash' },
    };
    for await (const item of this.batchGet(tenantId, ids, projection)) {
      const id = String(item.pk).slice(tenantId.length + 1);
      const document = brotliDecompressSync(item.doc as Uint8Array);
      found.set(id, {
        hash: String(item.hash),
        documentHash: createHash('sha256').update(document).digest('hex'),
      });
    }
    return found;
  }

  /** The stored events by id, as the API returns them (absent ids are gone from the table). */
  async storedEvents(tenantId: string, ids: readonly string[]): Promise<Map<string, StoredEvent>> {
    const found = new Map<string, StoredEvent>();
    for await (const item of this.batchGet(tenantId, ids, {})) {
      found.set(String(item.pk).slice(tenantId.length + 1), fromItem(item));
    }
    return found;
  }

  /** The items of `ids`, 100 keys per BatchGetItem, unprocessed keys retried with backoff. */
  private async *batchGet(
    tenantId: string,
    ids: readonly string[],
    projection: { ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> },
  ): AsyncGenerator<Record<string, unknown>> {
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = ids
        .slice(i, i + 100)
        .map((id) => eventItemKey(tenantId, id));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const out = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ...projection, ConsistentRead: true } },
          }),
        );
        yield* out.Responses?.[this.tableName] ?? [];
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
  }
}
