/**
 * The shared request counters in memory, as DynamoRateCounterStore keeps them with ADD: one total
 * per tenant and window, which every instance adds to and learns in the same call.
 */
import type { RateCounterStore } from '#shared/usecases/ports/rate-limit.ts';

export class MemoryRateCounterStore implements RateCounterStore {
  readonly totals = new Map<string, number>();
  /** Calls to add: what the limiter costs the table. */
  writes = 0;

  async add(tenantId: string, window: number, count: number): Promise<number> {
    this.writes += 1;
    const key = `${tenantId}|${window}`;
    const total = (this.totals.get(key) ?? 0) + count;
    this.totals.set(key, total);
    return total;
  }

  /** The sum of every counter: each admitted request is counted exactly once. */
  total(): number {
    return [...this.totals.values()].reduce((sum, n) => sum + n, 0);
  }
}
