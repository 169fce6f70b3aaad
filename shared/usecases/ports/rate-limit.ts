/**
 * Port: the shared request counters behind the per-tenant rate limit. Implemented by
 * DynamoRateCounterStore (shared/adapters/rate-counter-store.ts) and, for unit tests, by
 * test/unit/fakes/rate-limit.ts.
 */

export interface RateCounterStore {
  /**
   * Adds `count` to the tenant's counter of `window` (every instance adds to the same one) and
   * resolves to the counter's new total.
   */
  add(tenantId: string, window: number, count: number): Promise<number>;
}
