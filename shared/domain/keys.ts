/**
 * Access patterns by name: every DynamoDB key value of the events table is built here and
 * nowhere else. Each GSI's partition key is `<tenant>#<shard>#<value>` — an actor, target or team
 * id, an event's kind (kinds.ts), or the sparse flag of an impersonated or failed event — (the shard
 * spreads one tenant's writes over several partitions; queries fan out over all shards and
 * merge). Every index sorts by `<occurred_at>#<id>`; which one a filter set reads is the
 * planner's choice (shared/usecases/plan-events.ts).
 */
import { EVENT_SORT_KEY, EVENTS_TABLE, type EventIndexName, SEAL_SORT_KEY } from '../config/tables.ts';
import type { StoredEvent } from './event.ts';
import { kindId, kindOf } from './kinds.ts';

/** Upper bound of shards per tenant; a tenant's shard count may grow, never shrink. */
export const MAX_SHARDS = 64;

/** Values an access pattern is keyed on, read from a stored event (undefined = not indexed). */
export const ACCESS_PATTERNS: Readonly<Record<EventIndexName, (e: StoredEvent) => string | undefined>> = {
  byTenantTime: () => '',
  byActor: (e) => e.actor.id,
  byTarget: (e) => e.target?.id,
  byTeam: (e) => e.team_id,
  byKind: (e) => kindId(kindOf(e)),
  // Sparse: only impersonated or failed events are indexed, the rare ones worth finding fast.
  byFlag: (e) => flagOf(e),
  // The sealer's: by the UTC hour the event was received (sorted by seal_sk, see sealSortKey).
  bySeal: (e) => sealHour(e.received_at),
};

/**
 * The flag index's values: an event impersonated, failed (status `failure`), or both has one;
 * any other event is not in that index. A filter on either reads the values that include it.
 */
export const FLAGS = { impersonated: 'imp', failure: 'fail', both: 'imp+fail' } as const;

export const flagOf = (e: Pick<StoredEvent, 'impersonated' | 'status'>): string | undefined => {
  const failed = e.status === 'failure';
  if (e.impersonated === true) return failed ? FLAGS.both : FLAGS.impersonated;
  return failed ? FLAGS.failure : undefined;
};

/** `YYYY-MM-DDTHH` of an ISO time: the seal index's partition bucket. */
export const sealHour = (iso: string): string => iso.slice(0, 13);

/** `<received_at>#<id>`: the seal index's order, which is also a digest's leaf order. */
export const sealSortKey = (receivedAt: string, eventId: string): string => `${receivedAt}#${eventId}`;

/** FNV-1a 32-bit: stable, fast, well spread for short ids. */
export const fnv1a = (value: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
};

export const shardOf = (eventId: string, shards: number): number => fnv1a(eventId) % Math.max(1, shards);

export const eventItemKey = (tenantId: string, eventId: string): { pk: string } => ({
  pk: `${tenantId}#${eventId}`,
});

export const eventSortKey = (occurredAt: string, eventId: string): string => `${occurredAt}#${eventId}`;

/** The `occurred_at` of an eventSortKey (event ids never hold `#`). */
export const occurredAtOfSortKey = (sortKey: string): string => sortKey.slice(0, sortKey.lastIndexOf('#'));

export const partitionValue = (tenantId: string, shard: number, value: string): string =>
  value === '' ? `${tenantId}#${shard}` : `${tenantId}#${shard}#${value}`;

/** All key attributes of an event item: the table key, the shared sort key and one pk per index that applies. */
export const eventKeys = (event: StoredEvent, shards: number): Record<string, string> => {
  const shard = shardOf(event.id, shards);
  const keys: Record<string, string> = {
    ...eventItemKey(event.tenant_id, event.id),
    [EVENT_SORT_KEY]: eventSortKey(event.occurred_at, event.id),
    [SEAL_SORT_KEY]: sealSortKey(event.received_at, event.id),
  };
  for (const [name, keyOf] of Object.entries(ACCESS_PATTERNS) as [
    EventIndexName,
    (e: StoredEvent) => string | undefined,
  ][]) {
    const value = keyOf(event);
    if (value !== undefined)
      keys[EVENTS_TABLE.indexes[name].partitionKey] = partitionValue(event.tenant_id, shard, value);
  }
  return keys;
};

/** One DynamoDB partition to read for a query: the index and its partition key value. */
export interface QuerySource {
  index: EventIndexName;
  partitionKey: string;
}

/** The partitions to read for `value` on `index` across all of a tenant's shards. */
export const sourcesFor = (
  tenantId: string,
  shards: number,
  index: EventIndexName,
  value: string,
): QuerySource[] =>
  Array.from({ length: Math.max(1, shards) }, (_, shard) => ({
    index,
    partitionKey: partitionValue(tenantId, shard, value),
  }));

/** Sort-key bounds for a time window [fromIso, toIso], inclusive; `$` sorts after `#`. */
export const sortKeyRange = (fromIso: string, toIso: string): { low: string; high: string } => ({
  low: fromIso,
  high: `${toIso}$`,
});
