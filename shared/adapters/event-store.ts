/**
 * Events table adapter (DynamoDB). Append-only by construction: the only write is a PutItem
 * conditioned on the item not existing, so a reused id returns the stored event (with the
 * fingerprint of what was submitted for it, for the use case to tell a replay from a conflict)
 * and nothing is ever overwritten. Reads go through the indexes named in shared/config/tables.ts with keys
 * from shared/domain/keys.ts, and never return an event past its expiry.
 */
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import canonicalize from 'canonicalize';
import { EVENT_SORT_KEY, EVENTS_TABLE } from '../config/tables.ts';
import type { StoredEvent } from '../domain/event.ts';
import { contentHash, presentEvent } from '../domain/event-document.ts';
import { eventItemKey, eventKeys, type QuerySource, sortKeyRange } from '../domain/keys.ts';
import { matchesFilters } from '../domain/matching.ts';
import { mergeNewestFirst } from '../domain/merge.ts';
import type { QueryPlan } from '../domain/query.ts';
import type { AppendResult, EventStore, NewEvent, ProbeResult, QueryPage } from '../usecases/ports/events.ts';

type Item = Record<string, unknown>;

const compress = (json: string): Uint8Array =>
  brotliCompressSync(json, {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: json.length },
  });

/** The item attribute holding the submission fingerprint (not the event's `hash`). */
const CONTENT_HASH = 'content_hash';

/**
 * The stored item: the keys of every access pattern that applies, the hash, the TTL attribute,
 * `doc` — the exact canonical JSON that was hashed, brotli-compressed (≈45 % of its size, so
 * most index items stay within one 1 KB write unit) — and `content_hash`, the fingerprint of
 * what the client submitted (32 raw bytes; on the table item only, no index projects it, and
 * neither the event hash nor the archive covers it).
 */
export const toItem = (
  event: StoredEvent,
  shards: number,
  submitted: string = contentHash(event, true),
): Item => {
  const { expires_at, hash, ...covered } = event;
  return {
    ...eventKeys(event, shards),
    hash,
    expires_at: expires_at === null ? undefined : Math.floor(Date.parse(expires_at) / 1000),
    doc: compress(canonicalize(covered) ?? '{}'),
    [CONTENT_HASH]: Buffer.from(submitted, 'hex'),
  };
};

/** The item's submission fingerprint as hex, or undefined for items stored before it existed. */
const contentHashOf = (item: Item): string | undefined => {
  const value = item[CONTENT_HASH];
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : undefined;
};

/** The event of an item whose `doc` is already decompressed (the canonical JSON that was hashed). */
export const fromDocument = (canonical: Uint8Array, item: Item): StoredEvent => {
  const doc = JSON.parse(Buffer.from(canonical).toString('utf8')) as Record<string, unknown>;
  const expires = typeof item.expires_at === 'number' ? new Date(item.expires_at * 1000).toISOString() : null;
  return presentEvent({ ...doc, expires_at: expires, hash: item.hash } as unknown as StoredEvent);
};

export const fromItem = (item: Item): StoredEvent =>
  fromDocument(brotliDecompressSync(item.doc as Uint8Array), item);

/** What AWS bills a Query that reads nothing or little (eventually consistent). */
const MIN_QUERY_UNITS = 0.5;

const notExpired = (item: Item, nowMs: number): boolean =>
  typeof item.expires_at !== 'number' || item.expires_at * 1000 > nowMs;

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Stores each event with its own PutItem conditioned on `attribute_not_exists(pk)`, all in
   * parallel. An id that already exists is answered with its stored item and that item's
   * submission fingerprint; nothing is ever overwritten. The batch is acknowledged only when
   * every put has succeeded; a retry of a partly stored batch stores the rest and replays the
   * others. (One TransactWriteItems per batch was tried and measured: a round trip less, but
   * transactional writes bill the table — and, in DynamoDB Local, every index — twice; see
   * bench/README.md.)
   */
  async append(events: readonly (NewEvent | StoredEvent)[], shards: number): Promise<AppendResult[]> {
    return Promise.all(
      events.map((entry) =>
        'event' in entry
          ? this.appendOne(entry.event, entry.contentHash, shards)
          : this.appendOne(entry, contentHash(entry, true), shards),
      ),
    );
  }

  private async appendOne(event: StoredEvent, submitted: string, shards: number): Promise<AppendResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(event, shards, submitted),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { event, created: true, contentHash: submitted };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The document client does not unmarshall the item carried by the exception.
      const existing = error.Item ? unmarshall(error.Item) : await this.getItem(event.tenant_id, event.id);
      if (existing === undefined) throw error;
      const stored = contentHashOf(existing);
      return {
        event: fromItem(existing),
        created: false,
        ...(stored === undefined ? {} : { contentHash: stored }),
      };
    }
  }

  private async getItem(tenantId: string, eventId: string): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: eventItemKey(tenantId, eventId),
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }

  async get(tenantId: string, eventId: string, nowMs: number): Promise<StoredEvent | null> {
    const item = await this.getItem(tenantId, eventId);
    if (item === undefined || !notExpired(item, nowMs)) return null;
    const event = fromItem(item);
    // The key already holds the tenant; checking the document too costs nothing.
    return event.tenant_id === tenantId ? event : null;
  }

  /** A Query of one partition, newest first, sort keys in [low, high], billed capacity reported. */
  private newestFirst(source: QuerySource, low: string, high: string, limit: number) {
    const index = EVENTS_TABLE.indexes[source.index];
    return {
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
      ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': EVENT_SORT_KEY },
      ExpressionAttributeValues: { ':pk': source.partitionKey, ':low': low, ':high': high },
      ScanIndexForward: false,
      Limit: limit,
      ReturnConsumedCapacity: 'TOTAL' as const,
    };
  }

  async query(plan: QueryPlan, limit: number, before: string | undefined, nowMs: number): Promise<QueryPage> {
    const range = sortKeyRange(plan.from, plan.to);
    const high = before !== undefined && before < range.high ? before : range.high;
    let readUnits = 0;
    const fetch = async (
      source: QuerySource,
      start: Record<string, unknown> | undefined,
      pageSize: number,
    ) => {
      const out = await this.client.send(
        new QueryCommand({
          ...this.newestFirst(source, range.low, high, pageSize),
          ExclusiveStartKey: start,
        }),
      );
      const units = out.ConsumedCapacity?.CapacityUnits ?? 0;
      readUnits += units;
      // Filters run here rather than as a FilterExpression: DynamoDB bills what the key
      // condition reads either way, and the index carries only the document. Every filter and
      // the team scope are evaluated on every event, whichever path read it.
      const raw = out.Items ?? [];
      const items = raw
        .filter((item) => notExpired(item, nowMs))
        .map((item) => ({ sortKey: String(item[EVENT_SORT_KEY]), event: fromItem(item) }))
        .filter((entry) => matchesFilters(entry.event, plan.filters, plan.scope));
      const last = raw.at(-1);
      return {
        items,
        next: out.LastEvaluatedKey,
        scanned: raw.length,
        // AWS bills every Query at least half a unit (DynamoDB Local reports 0 for an empty one).
        cost: Math.max(MIN_QUERY_UNITS, units),
        ...(last === undefined ? {} : { lastKey: String(last[EVENT_SORT_KEY]) }),
      };
    };
    const merged = await mergeNewestFirst(
      plan.sources,
      fetch,
      (entry) => entry.sortKey,
      limit,
      before,
      plan.readBudget,
      plan.weights,
    );
    return {
      events: merged.items.map((entry) => entry.event),
      more: merged.more,
      live: merged.live,
      taken: merged.taken,
      readUnits,
      ...(merged.scannedUntil === undefined ? {} : { scannedUntil: merged.scannedUntil }),
    };
  }
  /**
   * Reads up to `limit` items of one partition, newest first, at or below `high` and within the
   * window: how densely the partition holds events there (the planner's estimate). Only the sort
   * key is projected, but DynamoDB bills the items read all the same.
   */
  async probe(source: QuerySource, from: string, high: string, limit: number): Promise<ProbeResult> {
    const out = await this.client.send(
      new QueryCommand({ ...this.newestFirst(source, from, high, limit), ProjectionExpression: '#sk' }),
    );
    const items = out.Items ?? [];
    const first = items[0];
    const last = items.at(-1);
    return {
      count: items.length,
      ...(first === undefined ? {} : { firstKey: String(first[EVENT_SORT_KEY]) }),
      ...(last === undefined ? {} : { lastKey: String(last[EVENT_SORT_KEY]) }),
      readUnits: out.ConsumedCapacity?.CapacityUnits ?? 0,
    };
  }
}
