/**
 * Part 3 — partition-load model. A hot tenant's synthetic day (Zipf actors, `auth.login` 35 %,
 * many targets, a few teams) goes through the real key code (`eventKeys`) at several shard
 * counts. For the table and each GSI: the busiest partition key's share of the tenant's writes
 * and its write units per event — a GSI write costs its index item (table key + index keys +
 * projected attributes, at that shard count) rounded up to 1 KiB; the table write is a plain
 * PutItem (1×) too. A partition key takes at most 1,000 WCU/s, so the tenant sustains at most
 * min over table+GSIs of 1000 ÷ (share × WCU per event) events/s. Then the read side: what
 * sharding costs a page (Query calls, items read beyond those returned), measured on DynamoDB Local.
 */
import { toItem } from '#shared/adapters/event-store.ts';
import { EVENTS_TABLE, type EventIndexName, type IndexDefinition } from '#shared/config/tables.ts';
import { newTenantId } from '#shared/domain/ids.ts';
import { eventKeys, MAX_SHARDS } from '#shared/domain/keys.ts';
import type { BenchContext } from '../lib/context.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from '../lib/events.ts';
import { documentItemSize, writeUnits } from '../lib/item-size.ts';
import { pick, TABLE_KEY_ATTRIBUTES } from '../lib/layout.ts';
import { atLeast, type BenchPart, type PartResult } from '../lib/part.ts';
import { readCost } from '../lib/reads.ts';
import { round } from '../lib/stats.ts';
import type { Cell } from '../lib/table.ts';

const PARTITION_WCU_PER_S = 1_000;
const GOAL_EVENTS_PER_S = 10_000;
const DAY_MS = 86_400_000;

const INDEX_NAMES = Object.keys(EVENTS_TABLE.indexes) as EventIndexName[];
const indexOf = (name: EventIndexName): IndexDefinition => EVENTS_TABLE.indexes[name];
/** Key attributes an index item carries: the table's and the index's. */
const INDEX_KEY_NAMES = new Map(
  INDEX_NAMES.map((name) => [
    name,
    [...new Set([...TABLE_KEY_ATTRIBUTES, indexOf(name).partitionKey, indexOf(name).sortKey])],
  ]),
);
/** Projections, deduplicated: indexes sharing one are sized once per event. */
const PROJECTIONS = [...new Set(INDEX_NAMES.map((name) => indexOf(name).projection.join(',')))];
const projectionOf = (name: EventIndexName): number =>
  PROJECTIONS.indexOf(indexOf(name).projection.join(','));
const shardCounts = (): number[] => [1, 2, 4, 8, 16, 32, 64].filter((s) => s <= MAX_SHARDS);

/** Per event: the bytes of its non-key attributes (sizes are additive per attribute). */
interface ModelEvent {
  id: string;
  /** Every non-key attribute of the base item. */
  nonKeyBytes: number;
  /** The projected non-key attributes present on the item, per distinct projection (PROJECTIONS). */
  projectedBytes: number[];
  event: Parameters<typeof eventKeys>[0];
}

interface HotKey {
  /** Table or index name. */
  source: string;
  /** The busiest partition key value, with the tenant id shortened to `<tenant>`. */
  key: string;
  /** Events landing on the key ÷ the tenant's events. */
  share: number;
  /** Mean write units per write landing on the key. */
  wcuPerEvent: number;
  /** Tenant events/s at which the key reaches 1,000 WCU/s. */
  maxEventsPerSecond: number;
}

interface ShardResult {
  shards: number;
  maxEventsPerSecond: number;
  limitedBy: string;
  hotKeys: HotKey[];
}

const keyBytes = (keys: Record<string, string>, names: Iterable<string> = Object.keys(keys)): number => {
  let total = 0;
  for (const name of names) {
    const value = keys[name];
    if (value !== undefined) total += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  return total;
};

/** Runs the day through eventKeys at `shards` and finds each source's busiest partition key. */
const loadAt = (events: readonly ModelEvent[], shards: number, tenantId: string): ShardResult => {
  const perIndex = new Map<EventIndexName, Map<string, { events: number; wcu: number }>>(
    INDEX_NAMES.map((name) => [name, new Map()]),
  );
  let maxItemWcu = 0;
  for (const e of events) {
    const keys = eventKeys(e.event, shards);
    // One conditional PutItem per event: the table write costs ceil(item/1 KiB), like a GSI write.
    maxItemWcu = Math.max(maxItemWcu, writeUnits(e.nonKeyBytes + keyBytes(keys)));
    for (const name of INDEX_NAMES) {
      const value = keys[indexOf(name).partitionKey];
      if (value === undefined) continue;
      const wcu = writeUnits(
        keyBytes(keys, INDEX_KEY_NAMES.get(name) ?? []) + (e.projectedBytes[projectionOf(name)] ?? 0),
      );
      const counts = perIndex.get(name) as Map<string, { events: number; wcu: number }>;
      const entry = counts.get(value);
      if (entry === undefined) counts.set(value, { events: 1, wcu });
      else {
        entry.events += 1;
        entry.wcu += wcu;
      }
    }
  }
  const n = events.length;
  const hotKeys: HotKey[] = [
    // Base table: pk = <tenant>#<event id>, every event its own key.
    {
      source: 'table',
      key: '<tenant>#<event id>',
      share: 1 / n,
      wcuPerEvent: maxItemWcu,
      maxEventsPerSecond: (PARTITION_WCU_PER_S * n) / maxItemWcu,
    },
  ];
  for (const name of INDEX_NAMES) {
    let hottest: [string, { events: number; wcu: number }] | undefined;
    for (const entry of perIndex.get(name) ?? [])
      if (hottest === undefined || entry[1].wcu > hottest[1].wcu) hottest = entry;
    if (hottest === undefined) continue;
    const [key, load] = hottest;
    hotKeys.push({
      source: name,
      key: key.replace(tenantId, '<tenant>'),
      share: load.events / n,
      wcuPerEvent: load.wcu / load.events,
      maxEventsPerSecond: (PARTITION_WCU_PER_S * n) / load.wcu,
    });
  }
  const limiting = hotKeys.reduce((a, b) => (b.maxEventsPerSecond < a.maxEventsPerSecond ? b : a));
  return { shards, maxEventsPerSecond: limiting.maxEventsPerSecond, limitedBy: limiting.source, hotKeys };
};

export const partitionsPart: BenchPart = {
  name: 'partitions',
  title: 'Partition-load model (hot tenant day through eventKeys)',
  needsStack: true,
  async run(ctx: BenchContext): Promise<PartResult> {
    const dayEvents = ctx.quick ? 40_000 : 200_000;
    const tenantId = newTenantId();
    const nowMs = Date.now();
    const next = eventGenerator({
      seed: 42,
      population: HOT_DAY_POPULATION,
      occurredAt: (n) => nowMs - DAY_MS + Math.floor((n / dayEvents) * DAY_MS),
      // No client ids: the service assigns ULIDs, as for most real traffic.
    });
    ctx.progress.step('building the synthetic day');
    const events: ModelEvent[] = [];
    for (let n = 0; n < dayEvents; n++) {
      const event = storedEvent(next(n), tenantId, nowMs);
      const item = toItem(event, 1);
      events.push({
        id: event.id,
        event,
        nonKeyBytes: documentItemSize(item) - keyBytes(eventKeys(event, 1)),
        projectedBytes: PROJECTIONS.map((projection) => documentItemSize(pick(item, projection.split(',')))),
      });
      if (n % 5_000 === 0) ctx.progress.tick(n, dayEvents, 'events');
    }
    const actionShare = new Map<string, number>();
    for (const e of events)
      actionShare.set(e.event.action, (actionShare.get(e.event.action) ?? 0) + 1 / dayEvents);

    const results: ShardResult[] = [];
    for (const shards of shardCounts()) {
      ctx.progress.step(`keys at ${shards} shard(s)`);
      results.push(loadAt(events, shards, tenantId));
    }
    const recommended = results.find((r) => r.maxEventsPerSecond >= GOAL_EVENTS_PER_S)?.shards ?? null;
    const best = results.reduce((a, b) => (b.maxEventsPerSecond > a.maxEventsPerSecond ? b : a));
    const atOne = results[0] as ShardResult;

    // Read side of sharding, measured on DynamoDB Local with the real merge.
    const fanOutShards = [
      ...new Set([1, 4, 8, ...(recommended !== null && recommended > 8 ? [recommended] : [])]),
    ];
    const fanOutFilters: [string, Record<string, string>][] = [
      ['time only', {}],
      ['action auth.login', { action: 'auth.login' }],
      ['actor', { actor_id: 'user_0' }],
    ];
    const fanOut: {
      shards: number;
      filter: string;
      queriesPerPage: number;
      readPerPage: number;
      overReadPerPage: number;
      ratio: number | null;
      ratioVsEventJson: number | null;
      ratioAwsMinimum: number | null;
    }[] = [];
    for (const shards of fanOutShards) {
      const tenant = await ctx.seededTenant(shards);
      for (const [filter, query] of fanOutFilters) {
        ctx.progress.step(`fan-out at ${shards} shard(s): ${filter}`);
        const cost = await readCost(ctx, tenant, query, { maxPages: ctx.quick ? 4 : 10 });
        fanOut.push({
          shards,
          filter,
          queriesPerPage: cost.queries / cost.pages,
          readPerPage: cost.scanned / cost.pages,
          overReadPerPage: (cost.scanned - cost.returned) / cost.pages,
          ratio: cost.ratio,
          ratioVsEventJson: cost.ratioVsEventJson,
          ratioAwsMinimum: cost.ratioAwsMinimum,
        });
      }
    }

    const indexColumns = ['table', ...INDEX_NAMES];
    const scalingRows: Cell[][] = results.map((r) => [
      r.shards,
      Math.round(r.maxEventsPerSecond),
      r.limitedBy,
      ...indexColumns.map((source) => {
        const hot = r.hotKeys.find((h) => h.source === source);
        return hot === undefined ? '–' : source === 'table' ? '∞' : Math.round(hot.maxEventsPerSecond);
      }),
    ]);
    const hotRows = (r: ShardResult): Cell[][] =>
      r.hotKeys.map((h) => [
        h.source,
        h.key,
        `${(h.share * 100).toFixed(h.share < 0.001 ? 4 : 1)} %`,
        h.wcuPerEvent.toFixed(2),
        h.source === 'table' ? '∞' : Math.round(h.maxEventsPerSecond),
      ]);
    const recommendedResult = results.find((r) => r.shards === recommended);
    const topActions = [...actionShare.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);

    return {
      headlines: [
        atLeast(
          'tenant_max_events_per_s',
          Math.round(best.maxEventsPerSecond),
          GOAL_EVENTS_PER_S,
          `one tenant's sustainable events/s at best (${best.shards} shards, limited by ${best.limitedBy})`,
        ),
        {
          key: 'recommended_shards',
          value: recommended,
          note: `smallest shard count reaching ${GOAL_EVENTS_PER_S.toLocaleString('en-US')} events/s (null: none up to ${MAX_SHARDS})`,
        },
      ],
      figures: { tenant_max_events_per_s_1_shard: Math.round(atOne.maxEventsPerSecond) },
      details: {
        day_events: dayEvents,
        partition_wcu_per_s: PARTITION_WCU_PER_S,
        goal_events_per_s: GOAL_EVENTS_PER_S,
        top_actions: Object.fromEntries(topActions.map(([a, s]) => [a, round(s, 4)])),
        by_shards: results.map((r) => ({
          shards: r.shards,
          max_events_per_s: Math.round(r.maxEventsPerSecond),
          limited_by: r.limitedBy,
          hot_keys: r.hotKeys.map((h) => ({
            ...h,
            share: round(h.share, 5),
            wcuPerEvent: round(h.wcuPerEvent, 3),
            maxEventsPerSecond: Math.round(h.maxEventsPerSecond),
          })),
        })),
        recommended_shards: recommended,
        fan_out: fanOut.map((f) => ({
          ...f,
          queriesPerPage: round(f.queriesPerPage, 2),
          readPerPage: round(f.readPerPage, 1),
          overReadPerPage: round(f.overReadPerPage, 1),
          ratio: f.ratio === null ? null : round(f.ratio, 3),
          ratioVsEventJson: f.ratioVsEventJson === null ? null : round(f.ratioVsEventJson, 3),
          ratioAwsMinimum: f.ratioAwsMinimum === null ? null : round(f.ratioAwsMinimum, 3),
        })),
      },
      tables: [
        {
          title: `Partition load: max sustainable events/s of one tenant per source (${dayEvents.toLocaleString('en-US')}-event hot day, ${PARTITION_WCU_PER_S} WCU/s per partition key)`,
          columns: ['shards', 'tenant max ev/s', 'limited by', ...indexColumns],
          rows: scalingRows,
          notes: [
            `mix: ${topActions.map(([a, s]) => `${a} ${(s * 100).toFixed(1)} %`).join(', ')}; goal ${GOAL_EVENTS_PER_S.toLocaleString('en-US')} ev/s → recommended shards: ${recommended ?? `none up to ${MAX_SHARDS}`}.`,
            "each cell: tenant events/s at which that source's busiest partition key reaches 1,000 WCU/s (sort keys grow with time, so a hot key cannot be split).",
            `WCU per event: a GSI write costs ceil(index item/1 KiB), index item = ${TABLE_KEY_ATTRIBUTES.join(', ')} + index keys + projected attributes; the table write ceil(item/1 KiB) (one PutItem per event, 1× like the GSIs), never limiting (one key per event).`,
          ],
        },
        {
          title: `Busiest partition key per source at 1 shard${recommendedResult && recommended !== 1 ? ` (and the hot index at ${recommended})` : ''}`,
          columns: ['source', 'busiest partition key', 'share of writes', 'WCU/event', 'max ev/s'],
          rows: [
            ...hotRows(atOne),
            ...(recommendedResult && recommended !== 1
              ? hotRows(recommendedResult)
                  .filter((row) => row[0] === recommendedResult.limitedBy)
                  .map((row) => [`${row[0]} @${recommended}`, ...row.slice(1)])
              : []),
          ],
        },
        {
          title: 'Fan-out cost of sharding on reads (DynamoDB Local, listEvents, pages of 100)',
          columns: [
            'shards',
            'filter',
            'Query calls/page',
            'items read/page',
            'over-read/page',
            'RCU ratio',
            'vs JSON',
          ],
          rows: fanOut.map((f) => [
            f.shards,
            f.filter,
            f.queriesPerPage.toFixed(1),
            f.readPerPage.toFixed(1),
            f.overReadPerPage.toFixed(1),
            f.ratio === null ? '–' : `${f.ratio.toFixed(2)}×`,
            f.ratioVsEventJson === null ? '–' : `${f.ratioVsEventJson.toFixed(2)}×`,
          ]),
          notes: [
            'over-read = items read by the key conditions but not returned (merge look-ahead, discarded at page end).',
            "RCU ratio = read units ÷ the returned events' index items (/4 KiB/2); vs JSON = ÷ their JSON size (as in the reads part).",
          ],
        },
      ],
    };
  },
};
