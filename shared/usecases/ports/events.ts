/**
 * Port: the append-only event store of ingest, reads and exports. Implemented by DynamoEventStore
 * (shared/adapters/event-store.ts) and, for unit tests, by test/unit/fakes/events.ts.
 */
import type { StoredEvent } from '../../domain/event.ts';
import type { QuerySource } from '../../domain/keys.ts';
import type { QueryPlan } from '../../domain/query.ts';

/** An event to store, with the fingerprint of what its client submitted (see `contentHash`). */
export interface NewEvent {
  event: StoredEvent;
  contentHash: string;
}

export interface AppendResult {
  /** The event now stored under the id: the one given, or the one that was there already. */
  event: StoredEvent;
  /** False when an event with this id already existed: nothing was written. */
  created: boolean;
  /** The stored event's submission fingerprint; absent for events stored before fingerprints. */
  contentHash?: string;
}

export interface QueryPage {
  /** Newest first (by `<occurred_at>#<id>`). */
  events: StoredEvent[];
  more: boolean;
  /** Read capacity units consumed (0 where the store does not bill reads). */
  readUnits: number;
  /**
   * Set when the plan's scan budget ran out first: the sort key down to which the plan's
   * partitions were searched (every match at or above it is in `events`); continue below it.
   */
  scannedUntil?: string;
  /**
   * Per plan source: false when it is known to hold no more matches below this page (read to its
   * end, all returned). Absent: every source may.
   */
  live?: boolean[];
  /** Per plan source: how many of `events` it gave. */
  taken?: number[];
}

/** What a probe found: how many items (≤ its limit) and the sort keys of the newest and the oldest. */
export interface ProbeResult {
  count: number;
  firstKey?: string;
  lastKey?: string;
  readUnits: number;
}

export interface EventStore {
  /**
   * Stores each event unless its id exists (then the stored one is returned, never overwritten).
   * A bare StoredEvent (tools, benches) is fingerprinted as if its client had sent every field,
   * `occurred_at` included.
   */
  append(events: readonly (NewEvent | StoredEvent)[], shards: number): Promise<AppendResult[]>;
  /** The event, unless absent, of another tenant, or past its expiry at `nowMs`. */
  get(tenantId: string, eventId: string, nowMs: number): Promise<StoredEvent | null>;
  /**
   * Up to `limit` events of the plan, newest first, strictly below the sort key `before` when
   * given; none past its expiry at `nowMs`.
   */
  query(plan: QueryPlan, limit: number, before: string | undefined, nowMs: number): Promise<QueryPage>;
  /**
   * Up to `limit` items of one partition, newest first, with sort keys in [`from`, `high`]:
   * how densely it holds events there (for the planner).
   */
  probe(source: QuerySource, from: string, high: string, limit: number): Promise<ProbeResult>;
}
