/**
 * The events table as the retention backfill sees it, in memory, honouring RetentionStore's
 * contract as DynamoRetentionStore does: a tenant's events per write shard in sort-key order
 * (`<occurred_at>#<id>`), a continuation key whenever a page is full (DynamoDB returns one when
 * the limit is reached even if nothing follows), and a re-timing that never creates an item and
 * never revives an expired one.
 */
import { EVENT_SORT_KEY, EVENTS_TABLE } from '#shared/config/tables.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import { eventItemKey, eventSortKey, partitionValue, shardOf } from '#shared/domain/keys.ts';
import type { IndexKey } from '#shared/domain/retention-job.ts';
import type { ExpiryPage, RetentionStore, StoredExpiry } from '#shared/usecases/ports/retention.ts';

const INDEX = EVENTS_TABLE.indexes.byTenantTime;

interface Item extends StoredExpiry {
  partition: string;
}

export class MemoryRetentionStore implements RetentionStore {
  private readonly items = new Map<string, Item>();
  /** Calls to retime that changed an item. */
  retimed = 0;

  /** Stores an event as ingest would: on its write shard, its expiry in epoch seconds. */
  add(event: Pick<StoredEvent, 'tenant_id' | 'id' | 'occurred_at' | 'expires_at'>, shards: number): void {
    const { pk } = eventItemKey(event.tenant_id, event.id);
    this.items.set(pk, {
      pk,
      sk: eventSortKey(event.occurred_at, event.id),
      expiresAt: event.expires_at === null ? undefined : Math.floor(Date.parse(event.expires_at) / 1000),
      partition: partitionValue(event.tenant_id, shardOf(event.id, shards), ''),
    });
  }

  /** The stored expiry of an item (epoch s; undefined = never), or null when there is no such item. */
  expiryOf(pk: string): number | undefined | null {
    const item = this.items.get(pk);
    return item === undefined ? null : item.expiresAt;
  }

  async page(
    tenantId: string,
    shard: number,
    after: IndexKey | undefined,
    limit: number,
  ): Promise<ExpiryPage> {
    const partition = partitionValue(tenantId, shard, '');
    const startAfter = after?.[EVENT_SORT_KEY];
    const items = [...this.items.values()]
      .filter((item) => item.partition === partition && (startAfter === undefined || item.sk > startAfter))
      .sort((a, b) => (a.sk < b.sk ? -1 : 1))
      .slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map(({ pk, sk, expiresAt }) => ({ pk, sk, expiresAt })),
      next:
        items.length === limit && last !== undefined
          ? {
              [EVENTS_TABLE.partitionKey]: last.pk,
              [INDEX.partitionKey]: partition,
              [EVENT_SORT_KEY]: last.sk,
            }
          : undefined,
    };
  }

  async retime(pk: string, expiresAt: number | null, notExpiredAt: number): Promise<boolean> {
    const item = this.items.get(pk);
    if (item === undefined || (item.expiresAt !== undefined && item.expiresAt <= notExpiredAt)) return false;
    item.expiresAt = expiresAt ?? undefined;
    this.retimed += 1;
    return true;
  }
}
