/**
 * Port: the retention backfill's view of the events table — a tenant's events page by page on
 * each write shard, keys and expiry only, and the one change it may make, an event's expiry.
 * Implemented by DynamoRetentionStore (shared/adapters/retention-store.ts) and, for unit tests,
 * by test/unit/fakes/retention.ts.
 */
import type { IndexKey } from '../../domain/retention-job.ts';

export interface StoredExpiry {
  /** The item key (`<tenant>#<event id>`, shared/domain/keys.ts eventItemKey). */
  pk: string;
  /** `<occurred_at>#<id>` (shared/domain/keys.ts eventSortKey). */
  sk: string;
  /** Epoch seconds; undefined = never expires. */
  expiresAt: number | undefined;
}

export interface ExpiryPage {
  /** In sort-key order. */
  items: StoredExpiry[];
  /** Where to continue; undefined = the shard is done. */
  next: IndexKey | undefined;
}

export interface RetentionStore {
  /** Up to `limit` events of the tenant's `shard`, after the position `after` (undefined = from the start). */
  page(tenantId: string, shard: number, after: IndexKey | undefined, limit: number): Promise<ExpiryPage>;
  /**
   * Sets (or, for null, removes) an event's expiry unless the event is gone or had already expired
   * at `notExpiredAt` (epoch s). Returns false when that condition kept it unchanged.
   */
  retime(pk: string, expiresAt: number | null, notExpiredAt: number): Promise<boolean>;
}
