/**
 * Port: the events table in `received_at` order, as the polling feed reads it. Implemented by
 * feedSource() (shared/adapters/feed-source.ts, over the `bySeal` index) and, for unit tests, by
 * in-memory fakes.
 */
import type { StoredEvent } from '../../domain/event.ts';

export interface FeedPage {
  /** Seal keys (`<received_at>#<id>`) read, ascending: at most the limit asked for. */
  keys: string[];
  /** The stored events of those keys, in the same order (an event expired meanwhile is absent). */
  events: StoredEvent[];
}

export interface FeedSource {
  /**
   * The tenant's first `limit` events whose seal key sorts strictly after `afterKey`, received at
   * or before `until`, merged over its `shards` in ascending key order.
   */
  after(tenantId: string, shards: number, afterKey: string, until: string, limit: number): Promise<FeedPage>;
}
