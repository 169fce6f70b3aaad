/**
 * Pages through one `GET /v1/events` filter the way the query handler does (the `listEvents`
 * use case: same schema, planner, store and cursors) and accounts for what it cost: read units
 * reported by the store, Query calls and items read, against the minimum the returned events'
 * own sizes allow.
 */
import { type EventFilters, eventFiltersSchema, planQuery, resolveWindow } from '#shared/domain/query.ts';
import { listEvents } from '#shared/usecases/events.ts';
import type { BenchContext, SeededTenant } from './context.ts';
import { minimumReadUnits } from './item-size.ts';

export interface ReadCost {
  pages: number;
  returned: number;
  /** Query calls sent to DynamoDB. */
  queries: number;
  /** Items the key conditions read (before filters). */
  scanned: number;
  /** Read units reported by the store (ReturnConsumedCapacity, summed by the adapter). */
  readUnits: number;
  /** Σ size/4 KiB / 2 over the returned events: what reading exactly them would cost. */
  minimumUnits: number;
  /** readUnits ÷ minimumUnits; null when nothing was returned. */
  ratio: number | null;
  /** Queries reported at 0 units (nothing read); AWS bills every request at least 0.5 RCU. */
  zeroUnitQueries: number;
  /** The ratio with 0.5 RCU added per zero-unit Query, as AWS would bill it. */
  ratioAwsMinimum: number | null;
  /** Index the planner picked, and how many conditions it evaluates on top of the key condition. */
  index: string;
  conditions: number;
  /** Partitions (shards × values) read per page at least. */
  sources: number;
  /** True when every page was full until the last (pages are never silently short). */
  pagesFull: boolean;
}

export const readCost = async (
  ctx: BenchContext,
  tenant: SeededTenant,
  query: Record<string, string>,
  options: { limit?: number; maxPages: number },
): Promise<ReadCost> => {
  const limit = options.limit ?? 100;
  const filters: EventFilters = eventFiltersSchema.parse(query);
  const window = resolveWindow(filters, Date.now());
  if ('error' in window) throw new Error(window.error);
  const plan = planQuery(tenant.principal.tenantId, tenant.shards, filters, window);

  const before = { ...ctx.dynamo.counters };
  let cursor: string | null = null;
  let pages = 0;
  let readUnits = 0;
  let pagesFull = true;
  const sizes: number[] = [];
  do {
    const page = await listEvents(ctx.listDeps(), tenant.principal, {
      ...query,
      limit: String(limit),
      ...(cursor === null ? {} : { cursor }),
    });
    pages += 1;
    readUnits += page.readUnits;
    if (page.next_cursor !== null && page.data.length < limit) pagesFull = false;
    for (const event of page.data) {
      const bytes = tenant.itemBytes.get(event.id);
      if (bytes === undefined) throw new Error(`returned an event the bench did not seed: ${event.id}`);
      sizes.push(bytes);
    }
    cursor = page.next_cursor;
  } while (cursor !== null && pages < options.maxPages);

  const after = ctx.dynamo.counters;
  const zeroUnitQueries = after.zeroUnitQueries - before.zeroUnitQueries;
  const minimumUnits = minimumReadUnits(sizes);
  return {
    pages,
    returned: sizes.length,
    queries: after.queries - before.queries,
    scanned: after.scanned - before.scanned,
    readUnits,
    minimumUnits,
    ratio: sizes.length === 0 ? null : readUnits / minimumUnits,
    zeroUnitQueries,
    ratioAwsMinimum: sizes.length === 0 ? null : (readUnits + 0.5 * zeroUnitQueries) / minimumUnits,
    index: plan.sources[0]?.index ?? '?',
    conditions: plan.conditions.length,
    sources: plan.sources.length,
    pagesFull,
  };
};
