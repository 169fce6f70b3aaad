/**
 * Pages through one `GET /v1/events` filter the way the query handler does (the `listEvents`
 * use case: same schema, planner, store and cursors) and accounts for what it cost: read units
 * reported by the store, Query calls and items read, against two minimums for the returned
 * events — their index items (what the index must read at least to return them) and their own
 * JSON (what SPEC's target is worded against).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import type { QuerySource } from '#shared/domain/keys.ts';
import { type EventFilters, eventFiltersSchema, resolveWindow } from '#shared/domain/query.ts';
import { listEvents, planForReader, type Reader } from '#shared/usecases/events.ts';
import type { BenchContext, SeededTenant } from './context.ts';
import { documentItemSize, minimumReadUnits } from './item-size.ts';
import { type Item, indexAttributes, indexItemBytes, TABLE_KEY_ATTRIBUTES } from './layout.ts';

export interface ReadCost {
  pages: number;
  /** Events listEvents returned. */
  returned: number;
  /** Query calls sent to DynamoDB. */
  queries: number;
  /** Items the key conditions read (ScannedCount): what DynamoDB bills. */
  scanned: number;
  /** Items DynamoDB returned to the store, before its conditions and the merge (= scanned: no FilterExpression). */
  items: number;
  /** Read units reported by the store (ReturnConsumedCapacity, summed by the adapter). */
  readUnits: number;
  /** Σ index item size / 4 KiB / 2 over the returned events: what the index must read at least. */
  minimumUnits: number;
  /** readUnits ÷ minimumUnits: over-read (look-ahead, conditions, fan-out); null when nothing was returned. */
  ratio: number | null;
  /** Σ event JSON size / 4 KiB / 2 over the returned events: "the events' own size". */
  eventJsonMinimumUnits: number;
  /** readUnits ÷ eventJsonMinimumUnits; null when nothing was returned. */
  ratioVsEventJson: number | null;
  /** Mean size of the returned events' index items and of their JSON, bytes. */
  indexItemBytesMean: number | null;
  eventJsonBytesMean: number | null;
  /** Queries reported at 0 units (nothing read); AWS bills every request at least 0.5 RCU. */
  zeroUnitQueries: number;
  /** The ratio with 0.5 RCU added per zero-unit Query, as AWS would bill it. */
  ratioAwsMinimum: number | null;
  /** Index(es) the planner picked, and how many conditions the store evaluates on what they return. */
  index: string;
  conditions: number;
  /** Partitions (shards × values) read per page at least. */
  sources: number;
  /** True when every page was full until the last (pages are never silently short). */
  pagesFull: boolean;
  /** Wall time of each page's listEvents call, ms (context only: the machine's, not the code's). */
  pageMs: number[];
}

export const readCost = async (
  ctx: BenchContext,
  tenant: SeededTenant,
  query: Record<string, string>,
  /** `reader`: who reads (default: the tenant's key); a team admin's reads are planned on their teams. */
  options: { limit?: number; maxPages: number; reader?: Reader },
): Promise<ReadCost> => {
  const limit = options.limit ?? 100;
  const reader = options.reader ?? tenant.principal;
  const filters: EventFilters = eventFiltersSchema.parse(query);
  const window = resolveWindow(filters, Date.now());
  if ('error' in window) throw new Error(window.error);
  const plan = planForReader(reader, filters, window);

  const before = { ...ctx.dynamo.counters };
  let cursor: string | null = null;
  let pages = 0;
  let readUnits = 0;
  let pagesFull = true;
  const indexSizes: number[] = [];
  const jsonSizes: number[] = [];
  const pageMs: number[] = [];
  do {
    const started = performance.now();
    const page = await listEvents(ctx.listDeps(), reader, {
      ...query,
      limit: String(limit),
      ...(cursor === null ? {} : { cursor }),
    });
    pageMs.push(performance.now() - started);
    pages += 1;
    readUnits += page.readUnits;
    if (page.next_cursor !== null && page.data.length < limit) pagesFull = false;
    for (const event of page.data) {
      const item = tenant.items.get(event.id);
      if (item === undefined) throw new Error(`returned an event the bench did not seed: ${event.id}`);
      // The source the event was read from: the partition whose key value its item carries.
      const source = plan.sources.find(
        (s) => item[EVENTS_TABLE.indexes[s.index].partitionKey] === s.partitionKey,
      );
      if (source === undefined) throw new Error(`event ${event.id} is in none of the plan's partitions`);
      indexSizes.push(indexItemBytes(item, EVENTS_TABLE.indexes[source.index]));
      jsonSizes.push(Buffer.byteLength(JSON.stringify(event)));
    }
    cursor = page.next_cursor;
  } while (cursor !== null && pages < options.maxPages);

  const after = ctx.dynamo.counters;
  const zeroUnitQueries = after.zeroUnitQueries - before.zeroUnitQueries;
  const minimumUnits = minimumReadUnits(indexSizes);
  const eventJsonMinimumUnits = minimumReadUnits(jsonSizes);
  const any = indexSizes.length > 0;
  const meanOf = (sizes: number[]) => (any ? sizes.reduce((a, b) => a + b, 0) / sizes.length : null);
  return {
    pages,
    returned: indexSizes.length,
    queries: after.queries - before.queries,
    scanned: after.scanned - before.scanned,
    items: after.items - before.items,
    readUnits,
    minimumUnits,
    ratio: any ? readUnits / minimumUnits : null,
    eventJsonMinimumUnits,
    ratioVsEventJson: any ? readUnits / eventJsonMinimumUnits : null,
    indexItemBytesMean: meanOf(indexSizes),
    eventJsonBytesMean: meanOf(jsonSizes),
    zeroUnitQueries,
    ratioAwsMinimum: any ? (readUnits + 0.5 * zeroUnitQueries) / minimumUnits : null,
    index: [...new Set(plan.sources.map((s) => s.index))].join('+'),
    conditions: plan.conditions.length,
    sources: plan.sources.length,
    pagesFull,
    pageMs,
  };
};

export interface IndexItemCheck {
  /** Query calls (one per index checked) and items they returned. */
  queries: number;
  items: number;
  /** Items whose size equals the model's index item (toItem + the index definition). */
  sizeMatches: number;
  /** Σ RCU DynamoDB Local reported for these Queries, and the model: Σ ceil(Σ sizes / 4 KiB) / 2 per Query. */
  reportedUnits: number;
  modelUnits: number;
  /** Attributes found on index items that the definition does not project (none expected). */
  unexpectedAttributes: string[];
  mismatches: { index: string; model: number; read: number }[];
}

/**
 * Reads up to `limit` raw items through each source (one partition of one index) and compares
 * them with the index items the bench prices reads with: same attributes, same size, and the
 * capacity DynamoDB Local reports for reading them.
 */
export const checkIndexItems = async (
  ctx: BenchContext,
  tenant: SeededTenant,
  sources: readonly QuerySource[],
  limit = 100,
): Promise<IndexItemCheck> => {
  const byTableKey = new Map<string, Item>();
  for (const item of tenant.items.values())
    byTableKey.set(TABLE_KEY_ATTRIBUTES.map((name) => String(item[name])).join('\u0000'), item);
  const check: IndexItemCheck = {
    queries: 0,
    items: 0,
    sizeMatches: 0,
    reportedUnits: 0,
    modelUnits: 0,
    unexpectedAttributes: [],
    mismatches: [],
  };
  const unexpected = new Set<string>();
  for (const source of sources) {
    const index = EVENTS_TABLE.indexes[source.index];
    const out = await ctx.dynamo.doc.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':pk': source.partitionKey },
        ScanIndexForward: false,
        Limit: limit,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    check.queries += 1;
    check.reportedUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    let bytes = 0;
    const allowed = new Set(indexAttributes(index));
    for (const read of out.Items ?? []) {
      check.items += 1;
      for (const name of Object.keys(read)) if (!allowed.has(name)) unexpected.add(name);
      const readBytes = documentItemSize(read);
      bytes += readBytes;
      const stored = byTableKey.get(TABLE_KEY_ATTRIBUTES.map((name) => String(read[name])).join('\u0000'));
      const model = stored === undefined ? Number.NaN : indexItemBytes(stored, index);
      if (model === readBytes) check.sizeMatches += 1;
      else if (check.mismatches.length < 5)
        check.mismatches.push({ index: index.name, model, read: readBytes });
    }
    check.modelUnits += Math.ceil(bytes / 4096) / 2;
  }
  check.unexpectedAttributes = [...unexpected];
  return check;
};
