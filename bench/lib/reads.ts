/**
 * Pages through one `GET /v1/events` filter the way the query handler does (the `listEvents`
 * use case: same schema, planner, store and cursors) and accounts for what it cost: read units
 * reported by the store, Query calls and items read, against two minimums for the returned
 * events — their index items (what the index must read at least to return them) and their own
 * JSON (what SPEC's target is worded against).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import { type QuerySource, sortKeyRange } from '#shared/domain/keys.ts';
import {
  type EventFilters,
  eventFiltersSchema,
  filtersFingerprint,
  PATH_INDEX,
  type PathName,
  resolveWindow,
} from '#shared/domain/query.ts';
import { listEvents, type Reader, readerScope } from '#shared/usecases/events.ts';
import { planEvents } from '#shared/usecases/plan-events.ts';
import type { BenchContext, SeededTenant } from './context.ts';
import { documentItemSize, minimumReadUnits } from './item-size.ts';
import { type Item, indexAttributes, indexItemBytes, TABLE_KEY_ATTRIBUTES } from './layout.ts';

export interface ReadCost {
  pages: number;
  /** Events listEvents returned. */
  returned: number;
  /** Query calls sent to DynamoDB (the planner's probes and registry reads included). */
  queries: number;
  /** Items the key conditions read (ScannedCount): what DynamoDB bills. */
  scanned: number;
  /** Items DynamoDB returned to the store, before its conditions and the merge (= scanned: no FilterExpression). */
  items: number;
  /** Read units listEvents reported (the store's ConsumedCapacity + the planner's probes). */
  readUnits: number;
  /** Read units of each page, as listEvents reported them. */
  pageReadUnits: number[];
  /** Events returned by each page. */
  pageReturned: number[];
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
  /**
   * readUnits ÷ max(minimumUnits, 0.5 × pages): against what any read of those pages costs at
   * least in AWS (one Query per page, each billed at least 0.5 unit) — what a result of a handful
   * of events can be measured against.
   */
  ratioVsQueryFloor: number | null;
  /** The access path listEvents reported (the first page's; carried by the cursor), and its index. */
  path: string;
  index: string;
  /**
   * Filters (and a team scope) the path's key does not encode: evaluated in code on every item
   * the path reads (every filter is evaluated on every event whatever the path; these are the
   * ones that can discard items).
   */
  conditions: number;
  /** Partitions (key values × shards) the path reads. */
  sources: number;
  /** True when every page was full until the last (pages are never silently short). */
  pagesFull: boolean;
  /** Pages that stopped on the read budget (a cursor with fewer rows than the limit). */
  budgetStops: number;
  /** Wall time of each page's listEvents call, ms (context only: the machine's, not the code's). */
  pageMs: number[];
  /** Ids returned, in order (for exactness checks). */
  ids: string[];
  /** The partitions the path reads (the plan of the first page's path, rebuilt without probes). */
  plannedSources: QuerySource[];
}

/** The filter parameters each path's key encodes (the others are conditions on what it reads). */
const KEYED: Readonly<Record<PathName, readonly (keyof EventFilters)[]>> = {
  time: ['from', 'to'],
  actor: ['from', 'to', 'actor_id'],
  email: ['from', 'to', 'actor_email'],
  target: ['from', 'to', 'target_id'],
  team: ['from', 'to', 'team_id'],
  kind: ['from', 'to', 'action', 'exclude_action', 'area', 'method', 'status', 'target_type', 'actor_type'],
  flag: ['from', 'to', 'impersonated', 'status'],
};

export const readCost = async (
  ctx: BenchContext,
  tenant: SeededTenant,
  query: Record<string, string>,
  /** `reader`: who reads (default: the tenant's key); a team admin's reads are planned on their teams. */
  options: {
    limit?: number;
    maxPages: number;
    reader?: Reader;
    /**
     * Read through this path whatever the planner would choose (the bench's oracle): the first
     * page starts from a cursor made for the query, at the top of its window, carrying the path
     * — exactly what a later page of a walk on that path gets, so nothing else differs.
     */
    forcePath?: PathName;
  },
): Promise<ReadCost> => {
  const limit = options.limit ?? 100;
  const reader = options.reader ?? tenant.principal;
  const filters: EventFilters = eventFiltersSchema.parse(query);

  const before = { ...ctx.dynamo.counters };
  let cursor: string | null = null;
  let pages = 0;
  let readUnits = 0;
  let pagesFull = true;
  let budgetStops = 0;
  let path: PathName | undefined;
  const paths = new Set<string>();
  const indexSizes: number[] = [];
  const jsonSizes: number[] = [];
  const pageMs: number[] = [];
  const pageReadUnits: number[] = [];
  const pageReturned: number[] = [];
  const ids: string[] = [];
  if (options.forcePath !== undefined) {
    const window = resolveWindow(filters, Date.now());
    if ('error' in window) throw new Error(`bad window for ${JSON.stringify(query)}: ${window.error}`);
    cursor = ctx.listDeps().cursors.encode(reader.tenantId, {
      position: sortKeyRange(window.from, window.to).high,
      from: window.from,
      to: window.to,
      filters: filtersFingerprint(filters, readerScope(reader)),
      path: options.forcePath,
    });
  }
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
    pageReadUnits.push(page.readUnits);
    pageReturned.push(page.data.length);
    if (page.next_cursor !== null && page.data.length < limit) {
      pagesFull = false;
      budgetStops += 1;
    }
    const pagePath = page.path ?? 'time';
    path ??= pagePath;
    paths.add(pagePath);
    const index = EVENTS_TABLE.indexes[PATH_INDEX[pagePath]];
    for (const event of page.data) {
      const item = tenant.items.get(event.id);
      if (item === undefined) throw new Error(`returned an event the bench did not seed: ${event.id}`);
      const bytes = indexItemBytes(item, index);
      if (bytes === 0) throw new Error(`event ${event.id} is not in ${index.name}, the path's index`);
      indexSizes.push(bytes);
      jsonSizes.push(Buffer.byteLength(JSON.stringify(event)));
      ids.push(event.id);
    }
    cursor = page.next_cursor;
  } while (cursor !== null && pages < options.maxPages);

  const after = { ...ctx.dynamo.counters };
  const chosen: PathName = path ?? 'time';
  // How many partitions the path reads: the plan again, on the path the pages took (no probe).
  const window = resolveWindow(filters, Date.now());
  let plannedSources: QuerySource[] = [];
  if (!('error' in window)) {
    const planned = await planEvents(ctx.listDeps(), {
      tenantId: reader.tenantId,
      shards: reader.shards,
      filters,
      window,
      scope: readerScope(reader),
      limit,
      via: chosen,
    });
    plannedSources = planned.plan.sources;
  }
  const scoped = readerScope(reader) !== null && chosen !== 'team';
  const conditions =
    Object.entries(filters).filter(
      ([k, v]) => v !== undefined && !KEYED[chosen].includes(k as keyof EventFilters),
    ).length + (scoped ? 1 : 0);
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
    pageReadUnits,
    pageReturned,
    minimumUnits,
    ratio: any ? readUnits / minimumUnits : null,
    eventJsonMinimumUnits,
    ratioVsEventJson: any ? readUnits / eventJsonMinimumUnits : null,
    indexItemBytesMean: meanOf(indexSizes),
    eventJsonBytesMean: meanOf(jsonSizes),
    zeroUnitQueries,
    ratioAwsMinimum: any ? (readUnits + 0.5 * zeroUnitQueries) / minimumUnits : null,
    ratioVsQueryFloor: any ? readUnits / Math.max(minimumUnits, 0.5 * pages) : null,
    path: [...paths].join('→'),
    index: [...paths].map((p) => PATH_INDEX[p as PathName]).join('→'),
    conditions,
    sources: plannedSources.length,
    pagesFull,
    budgetStops,
    pageMs,
    ids,
    plannedSources,
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

/** One step of a typical console session and what it read. */
export interface SessionStep {
  what: string;
  query: Record<string, string>;
  /** Page of the query (1 = the first, opened by a filter change; 2, 3 = "load more"). */
  page: number;
  readUnits: number;
  returned: number;
  path: string;
}

/**
 * The typical console session priced in the writes part (cost per million events): open the log
 * (one page of 100, no filter), three filter changes (the first page of each), then "load more"
 * twice on the last one. The names match the reads part's filters of the committed run before
 * issue 15 (bench/results/latest.json), so the same session can be priced on both layouts.
 */
export const CONSOLE_SESSION: readonly {
  what: string;
  before: string;
  query: Record<string, string>;
  pages: number;
}[] = [
  { what: 'open the log', before: 'time only (last day)', query: {}, pages: 1 },
  { what: 'filter: action', before: 'action exact', query: { action: 'document.updated' }, pages: 1 },
  {
    what: 'filter: team + action',
    before: 'team + action',
    query: { team_id: 'team_1', action: 'document.viewed' },
    pages: 1,
  },
  { what: 'filter: actor, load more ×2', before: 'actor', query: { actor_id: 'user_0' }, pages: 3 },
];

/** Reads the console session through listEvents (pages of 100) on `tenant`. */
export const consoleSession = async (ctx: BenchContext, tenant: SeededTenant): Promise<SessionStep[]> => {
  const steps: SessionStep[] = [];
  for (const step of CONSOLE_SESSION) {
    const cost = await readCost(ctx, tenant, step.query, { maxPages: step.pages });
    for (const [i, units] of cost.pageReadUnits.entries())
      steps.push({
        what: step.what,
        query: step.query,
        page: i + 1,
        readUnits: units,
        returned: cost.pageReturned[i] ?? 0,
        path: cost.path,
      });
  }
  return steps;
};
