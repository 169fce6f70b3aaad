/**
 * The events table in memory, honouring EventStore's contract as DynamoEventStore does: the first
 * write of an id stands (a later one gets the stored event and its fingerprint back), and a query
 * reads exactly the partitions its plan names — each event is indexed under the key values of
 * shared/domain/keys.ts, with the shard count it was appended with — newest first, strictly below
 * `before`, never past an event's expiry (to the second, as the table's TTL attribute keeps it).
 */
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import { contentHash, type StoredEvent } from '#shared/domain/event.ts';
import type { QuerySource } from '#shared/domain/keys.ts';
import { eventKeys, eventSortKey, sortKeyRange } from '#shared/domain/keys.ts';
import { kindId, kindOf, type RegisteredKind } from '#shared/domain/kinds.ts';
import { matchesFilters, type QueryPlan } from '#shared/domain/query.ts';
import type {
  AppendResult,
  EventStore,
  NewEvent,
  ProbeResult,
  QueryPage,
} from '#shared/usecases/ports/events.ts';
import type { KindRegistry } from '#shared/usecases/ports/kinds.ts';
import { copy } from './condition.ts';

interface StoredItem {
  event: StoredEvent;
  contentHash: string;
  /** The key attributes it is indexed under. */
  keys: Record<string, string>;
}

const notExpired = (event: StoredEvent, nowMs: number): boolean =>
  event.expires_at === null || Math.floor(Date.parse(event.expires_at) / 1000) * 1000 > nowMs;

export class MemoryEventStore implements EventStore {
  private readonly items = new Map<string, StoredItem>();
  /** Calls to query: what a use case costs the table. */
  queries = 0;

  async append(entries: readonly (NewEvent | StoredEvent)[], shards: number): Promise<AppendResult[]> {
    return entries.map((entry) => {
      const { event, contentHash: submitted } =
        'event' in entry ? entry : { event: entry, contentHash: contentHash(entry, true) };
      const id = `${event.tenant_id}#${event.id}`;
      const existing = this.items.get(id);
      if (existing !== undefined) {
        return { event: copy(existing.event), created: false, contentHash: existing.contentHash };
      }
      this.items.set(id, { event: copy(event), contentHash: submitted, keys: eventKeys(event, shards) });
      return { event, created: true, contentHash: submitted };
    });
  }

  async get(tenantId: string, eventId: string, nowMs: number): Promise<StoredEvent | null> {
    const item = this.items.get(`${tenantId}#${eventId}`);
    return item === undefined || !notExpired(item.event, nowMs) ? null : copy(item.event);
  }

  async query(plan: QueryPlan, limit: number, before: string | undefined, nowMs: number): Promise<QueryPage> {
    this.queries += 1;
    const range = sortKeyRange(plan.from, plan.to);
    const matching = [...this.items.values()]
      .filter((item) =>
        plan.sources.some(
          (source) => item.keys[EVENTS_TABLE.indexes[source.index].partitionKey] === source.partitionKey,
        ),
      )
      .map((item) => ({ sortKey: eventSortKey(item.event.occurred_at, item.event.id), event: item.event }))
      .filter(
        ({ sortKey, event }) =>
          sortKey >= range.low &&
          sortKey <= range.high &&
          (before === undefined || sortKey < before) &&
          notExpired(event, nowMs) &&
          matchesFilters(event, plan.filters, plan.scope),
      )
      .sort((a, b) => (a.sortKey < b.sortKey ? 1 : -1));
    return {
      events: matching.slice(0, limit).map(({ event }) => copy(event)),
      more: matching.length > limit,
      readUnits: 0,
    };
  }

  /** Calls to probe. */
  probes = 0;

  /**
   * A kind registry that knows exactly the kinds and actor emails of what this table holds (what
   * withKindRegistry guarantees in production), for use cases that plan queries.
   */
  readonly registry: Pick<KindRegistry, 'kinds' | 'actorsWithEmail'> = {
    kinds: async (tenantId) => {
      const kinds = new Map<string, RegisteredKind>();
      for (const { event } of this.items.values()) {
        if (event.tenant_id !== tenantId) continue;
        const kind = kindOf(event);
        const id = kindId(kind);
        const known = kinds.get(id) ?? { id, kind, count: 0 };
        known.count += 1;
        kinds.set(id, known);
      }
      return { kinds: [...kinds.values()], readUnits: 0 };
    },
    actorsWithEmail: async (tenantId, email, limit) => {
      const ids = [
        ...new Set(
          [...this.items.values()]
            .filter((i) => i.event.tenant_id === tenantId && i.event.actor.email?.toLowerCase() === email)
            .map((i) => i.event.actor.id),
        ),
      ];
      return { ids: ids.slice(0, limit), more: ids.length > limit };
    },
  };

  async probe(source: QuerySource, from: string, high: string, limit: number): Promise<ProbeResult> {
    this.probes += 1;
    const keys = [...this.items.values()]
      .filter((item) => item.keys[EVENTS_TABLE.indexes[source.index].partitionKey] === source.partitionKey)
      .map((item) => eventSortKey(item.event.occurred_at, item.event.id))
      .filter((key) => key >= from && key <= high)
      .sort()
      .reverse()
      .slice(0, limit);
    const first = keys[0];
    const last = keys.at(-1);
    return {
      count: keys.length,
      ...(first === undefined ? {} : { firstKey: first }),
      ...(last === undefined ? {} : { lastKey: last }),
      readUnits: 0,
    };
  }

  /** Every stored event of a tenant, in no particular order (for assertions). */
  eventsOf(tenantId: string): StoredEvent[] {
    return [...this.items.values()]
      .filter((item) => item.event.tenant_id === tenantId)
      .map((i) => copy(i.event));
  }
}
