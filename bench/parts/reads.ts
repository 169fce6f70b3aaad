/**
 * Part 2 — read efficiency per filter. A tenant seeded with a few thousand varied events is
 * queried through the `listEvents` use case (the query handler's code path) for every filter of
 * `GET /v1/events`, paging with limit 100. Cost = read units the store reported ÷ the minimum
 * for the events returned (Σ item size / 4 KiB, halved: eventually consistent). Then the same
 * filters on the same events in a tenant with 4 shards, to show the fan-out cost.
 */
import type { BenchContext, SeededTenant } from '../lib/context.ts';
import { atMost, type BenchPart, type PartResult } from '../lib/part.ts';
import { type ReadCost, readCost } from '../lib/reads.ts';
import { round } from '../lib/stats.ts';
import type { Cell } from '../lib/table.ts';

const TARGET = 1.5;
const INDEX_TARGET = 1.1;
const SHARDED = 4;

interface FilterCase {
  name: string;
  query: Record<string, string>;
}

/** The filters of GET /v1/events, with values that exist in the seeded data (see lib/events.ts). */
const filterCases = (tenant: SeededTenant): FilterCase[] => {
  const dayBeforeLast = new Date(tenant.lastMs - 86_400_000).toISOString();
  const last = new Date(tenant.lastMs + 1_000).toISOString();
  return [
    { name: 'time only (last day)', query: { from: dayBeforeLast, to: last } },
    { name: 'action exact', query: { action: 'document.updated' } },
    { name: 'action prefix', query: { action: 'secret.*' } },
    { name: 'action list', query: { action: 'auth.logout,member.invited,billing.*' } },
    { name: 'deep prefix', query: { action: 'secret.key.*' } },
    { name: 'actor', query: { actor_id: 'user_0' } },
    { name: 'actor email', query: { actor_email: 'Grace.1@ACME-corp.example' } },
    { name: 'target', query: { target_id: 'doc_0' } },
    { name: 'target + type', query: { target_id: 'doc_0', target_type: 'document' } },
    { name: 'target type', query: { target_type: 'project' } },
    { name: 'team', query: { team_id: 'team_1' } },
    { name: 'area + status', query: { area: 'auth', status: 'failure' } },
    { name: 'method', query: { method: 'delete' } },
    { name: 'impersonated', query: { impersonated: 'true' } },
    { name: 'actor + action prefix', query: { actor_id: 'user_0', action: 'auth.*' } },
    { name: 'team + action', query: { team_id: 'team_1', action: 'document.viewed' } },
    { name: 'target type + status', query: { target_type: 'document', status: 'failure' } },
    { name: 'actor + time', query: { actor_id: 'user_0', from: dayBeforeLast, to: last } },
  ];
};

const rounded = (cost: ReadCost) => ({
  ...cost,
  minimumUnits: round(cost.minimumUnits, 3),
  ratio: cost.ratio === null ? null : round(cost.ratio, 4),
  ratioAwsMinimum: cost.ratioAwsMinimum === null ? null : round(cost.ratioAwsMinimum, 4),
});

const ratioCell = (cost: ReadCost): string => (cost.ratio === null ? '–' : `${cost.ratio.toFixed(2)}×`);

const verdict = (cost: ReadCost): string => {
  if (cost.ratio === null) return 'no rows';
  if (cost.conditions === 0) return cost.ratio <= INDEX_TARGET ? 'index ok' : 'index OVER';
  return cost.ratio <= TARGET ? 'filter ok' : 'filter OVER';
};

export const readsPart: BenchPart = {
  name: 'reads',
  title: 'Read efficiency per filter',
  needsStack: true,
  async run(ctx: BenchContext): Promise<PartResult> {
    const maxPages = ctx.quick ? 6 : 20;
    const single = await ctx.seededTenant(1);
    const sharded = await ctx.seededTenant(SHARDED);
    const cases = filterCases(single);
    const results: { name: string; query: Record<string, string>; one: ReadCost; sharded: ReadCost }[] = [];
    for (const [i, c] of cases.entries()) {
      ctx.progress.step(`filter ${i + 1}/${cases.length}: ${c.name}`);
      const one = await readCost(ctx, single, c.query, { maxPages });
      const many = await readCost(ctx, sharded, c.query, { maxPages });
      results.push({ name: c.name, query: c.query, one, sharded: many });
    }

    const ratios = (pick: (r: (typeof results)[number]) => ReadCost, indexOnly = false) =>
      results
        .map(pick)
        .filter((cost) => !indexOnly || cost.conditions === 0)
        .map((cost) => cost.ratio)
        .filter((r): r is number => r !== null);
    const worst = Math.max(...ratios((r) => r.one));
    const worstEntry = results.find((r) => r.one.ratio === worst);
    const worstIndex = Math.max(...ratios((r) => r.one, true));
    const worstSharded = Math.max(...ratios((r) => r.sharded));
    const worstShardedIndex = Math.max(...ratios((r) => r.sharded, true));
    const zeroUnitQueries = results.reduce(
      (t, r) => t + r.one.zeroUnitQueries + r.sharded.zeroUnitQueries,
      0,
    );

    const rows: Cell[][] = results.map((r) => [
      r.name,
      `${r.one.index}${r.one.conditions > 0 ? ` + ${r.one.conditions} cond` : ''}${r.one.sources > 1 ? ` ×${r.one.sources}` : ''}`,
      r.one.returned,
      (r.one.scanned / Math.max(1, r.one.returned)).toFixed(2),
      ratioCell(r.one),
      verdict(r.one),
      (r.sharded.queries / r.sharded.pages).toFixed(1),
      (r.sharded.scanned / Math.max(1, r.sharded.returned)).toFixed(2),
      ratioCell(r.sharded),
    ]);

    return {
      headlines: [
        atMost(
          'read_units_ratio_worst',
          round(worst, 3),
          TARGET,
          `worst filter's read units ÷ minimum, 1 shard (${worstEntry?.name ?? '?'})`,
        ),
      ],
      figures: {
        read_units_ratio_worst_index_served: round(worstIndex, 3),
        read_units_ratio_worst_shards4: round(worstSharded, 3),
      },
      details: {
        seeded_events: single.events.length,
        page_limit: 100,
        max_pages: maxPages,
        target: TARGET,
        index_target: INDEX_TARGET,
        worst_filter: worstEntry?.name ?? null,
        worst_ratio_index_served: round(worstIndex, 4),
        worst_ratio_shards4: round(worstSharded, 4),
        worst_ratio_shards4_index_served: round(worstShardedIndex, 4),
        zero_unit_queries: zeroUnitQueries,
        filters: results.map((r) => ({
          name: r.name,
          query: r.query,
          shards1: rounded(r.one),
          shards4: rounded(r.sharded),
        })),
      },
      tables: [
        {
          title: `Reads: read units per returned event ÷ minimum, pages of 100 via listEvents (${single.events.length} seeded events)`,
          columns: [
            'filter',
            'served by (1 shard)',
            'returned',
            'read/ret',
            'ratio',
            'verdict',
            `4 sh: Q/page`,
            '4 sh: read/ret',
            '4 sh: ratio',
          ],
          rows,
          notes: [
            `ratio = RCU reported by DynamoDB Local ÷ Σ(item bytes/4096)/2 over returned events; target ≤ ${TARGET} (index-served, no condition: ≤ ${INDEX_TARGET}).`,
            'read/ret = items the key condition read ÷ items returned; "+ n cond" = conditions evaluated on top of the index (FilterExpression).',
            `worst: ${worst.toFixed(2)}× (1 shard), ${worstSharded.toFixed(2)}× (4 shards); index-served worst: ${worstIndex.toFixed(2)}× / ${worstShardedIndex.toFixed(2)}×.`,
            `Queries that read nothing (reported as 0 RCU by DynamoDB Local, ≥ 0.5 in AWS): ${zeroUnitQueries}; per-filter AWS-minimum ratios are in latest.json.`,
          ],
        },
      ],
    };
  },
};
