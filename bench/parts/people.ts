/**
 * Part — what a team admin's reads cost. A team admin's team scope is part of the key condition
 * (shared/domain/query.ts): every read of theirs queries the `byTeam` partition of each of their
 * teams (× shards) and merges them newest-first; every other filter is evaluated on what those
 * partitions hold. This part seeds a tenant with 60 teams, gives a team admin 50 of them, and
 * pages through every filter of `GET /v1/events` twice through the `listEvents` use case — as the
 * team admin and as a key of the same tenant — reporting read units and latency per page and per
 * returned event, side by side. The key sees more events (every team and organization-level
 * ones), so the fair comparison is per returned event; the team admin's over-read is also given
 * against the minimum for what they got (as in the reads part).
 */
import type { PersonPrincipal } from '#shared/domain/principal.ts';
import type { BenchContext } from '../lib/context.ts';
import { READ_POPULATION } from '../lib/events.ts';
import type { BenchPart, PartResult } from '../lib/part.ts';
import { type ReadCost, readCost } from '../lib/reads.ts';
import { median, round } from '../lib/stats.ts';
import type { Cell } from '../lib/table.ts';

const TEAMS = 60;
/** The team admin's 50 teams: every team but each sixth (popular and rare ones alike). */
const ADMIN_TEAMS = Array.from({ length: TEAMS }, (_, i) => `team_${i}`).filter((_, i) => i % 6 !== 5);
const FOREIGN_TEAM = 'team_5';

interface FilterCase {
  name: string;
  query: Record<string, string>;
}

const filterCases = (lastMs: number): FilterCase[] => {
  const dayBeforeLast = new Date(lastMs - 86_400_000).toISOString();
  const last = new Date(lastMs + 1_000).toISOString();
  return [
    { name: 'time only (last day)', query: { from: dayBeforeLast, to: last } },
    { name: 'no filter (30 days)', query: {} },
    { name: 'action exact', query: { action: 'document.updated' } },
    { name: 'action prefix', query: { action: 'secret.*' } },
    { name: 'action list', query: { action: 'auth.logout,member.invited,billing.*' } },
    { name: 'actor', query: { actor_id: 'user_0' } },
    { name: 'actor email', query: { actor_email: 'Grace.1@ACME-corp.example' } },
    { name: 'target', query: { target_id: 'doc_0' } },
    { name: 'target type', query: { target_type: 'project' } },
    { name: 'team (one of theirs)', query: { team_id: 'team_1' } },
    { name: 'team list (5 of theirs)', query: { team_id: 'team_0,team_2,team_3,team_7,team_12' } },
    { name: 'area + status', query: { area: 'auth', status: 'failure' } },
    { name: 'method', query: { method: 'delete' } },
    { name: 'impersonated', query: { impersonated: 'true' } },
    { name: 'team + action', query: { team_id: 'team_1', action: 'document.viewed' } },
  ];
};

const perEvent = (cost: ReadCost): number | null =>
  cost.returned === 0 ? null : cost.readUnits / cost.returned;
/** As AWS bills: every Query at least 0.5 RCU (DynamoDB Local reports 0 for a Query that reads nothing). */
const awsUnits = (cost: ReadCost): number => cost.readUnits + 0.5 * cost.zeroUnitQueries;
const fixed = (value: number | null, digits: number): string =>
  value === null ? '–' : value.toFixed(digits);

const summary = (cost: ReadCost) => ({
  pages: cost.pages,
  returned: cost.returned,
  queries: cost.queries,
  scanned: cost.scanned,
  read_units: round(cost.readUnits, 2),
  read_units_aws: round(awsUnits(cost), 2),
  read_units_per_page: round(cost.readUnits / cost.pages, 3),
  read_units_aws_per_page: round(awsUnits(cost) / cost.pages, 3),
  read_units_per_event: cost.returned === 0 ? null : round(cost.readUnits / cost.returned, 4),
  ratio_vs_minimum: cost.ratio === null ? null : round(cost.ratio, 3),
  queries_per_page: round(cost.queries / cost.pages, 1),
  page_ms_median: round(median(cost.pageMs), 1),
  page_ms: cost.pageMs.map((ms) => round(ms, 1)),
  index: cost.index,
  conditions: cost.conditions,
  sources: cost.sources,
});

export const peoplePart: BenchPart = {
  name: 'people',
  title: "A team admin's reads (50 teams) vs a key's",
  needsStack: true,
  async run(ctx: BenchContext): Promise<PartResult> {
    const maxPages = ctx.quick ? 6 : 20;
    const tenant = await ctx.seededTenant(1, { ...READ_POPULATION, teams: TEAMS });
    const teamAdmin: PersonPrincipal = {
      kind: 'person',
      tenantId: tenant.principal.tenantId,
      person: { id: 'user_bench_admin', email: 'team.admin@acme-corp.example', name: 'Team Admin' },
      role: 'team_admin',
      teamIds: ADMIN_TEAMS,
      sessionId: 'ses_bench',
      permissions: ['view', 'export'],
      via: 'session',
      retentionDays: tenant.principal.retentionDays,
      shards: tenant.shards,
    };
    const inScope = tenant.events.filter(
      (e) => e.team_id !== undefined && ADMIN_TEAMS.includes(e.team_id),
    ).length;
    const cases = filterCases(tenant.lastMs);
    const results: { name: string; query: Record<string, string>; key: ReadCost; admin: ReadCost }[] = [];
    for (const [i, c] of cases.entries()) {
      ctx.progress.step(`filter ${i + 1}/${cases.length}: ${c.name}`);
      // Warm the path once (module and connection set-up) so the first filter's latency is not skewed.
      if (i === 0) await readCost(ctx, tenant, c.query, { maxPages: 1, reader: teamAdmin });
      const key = await readCost(ctx, tenant, c.query, { maxPages });
      const admin = await readCost(ctx, tenant, c.query, { maxPages, reader: teamAdmin });
      results.push({ name: c.name, query: c.query, key, admin });
    }

    // Units per returned event, team admin ÷ key, for filters where both returned something.
    const unitRatios = results
      .map((r) => {
        const a = perEvent(r.admin);
        const k = perEvent(r.key);
        return a === null || k === null || k === 0 ? null : { name: r.name, ratio: a / k };
      })
      .filter((r): r is { name: string; ratio: number } => r !== null);
    const worst = unitRatios.reduce<{ name: string; ratio: number } | null>(
      (w, r) => (w === null || r.ratio > w.ratio ? r : w),
      null,
    );
    const msRatios = results
      .map((r) => median(r.admin.pageMs) / median(r.key.pageMs))
      .filter((r) => Number.isFinite(r));

    const rows: Cell[][] = results.map((r) => {
      const ratio = unitRatios.find((u) => u.name === r.name)?.ratio ?? null;
      return [
        r.name,
        r.key.returned,
        fixed(r.key.readUnits / r.key.pages, 1),
        fixed(perEvent(r.key), 3),
        fixed(median(r.key.pageMs), 0),
        `${r.admin.sources}${r.admin.conditions > 0 ? ` + ${r.admin.conditions} cond` : ''}`,
        r.admin.returned,
        fixed(r.admin.readUnits / r.admin.pages, 1),
        fixed(awsUnits(r.admin) / r.admin.pages, 1),
        fixed(perEvent(r.admin), 3),
        fixed(r.admin.queries / r.admin.pages, 0),
        fixed(median(r.admin.pageMs), 0),
        ratio === null ? '–' : `${ratio.toFixed(2)}×`,
      ];
    });

    return {
      headlines: [
        {
          key: 'team_admin_read_units_per_event_ratio_worst',
          value: worst === null ? null : round(worst.ratio, 3),
          note: `team admin (50 teams) ÷ key, read units per returned event, worst filter (${worst?.name ?? '?'})`,
        },
      ],
      figures: {
        team_admin_read_units_per_event_ratio_median: unitRatios.length
          ? round(median(unitRatios.map((r) => r.ratio)), 3)
          : null,
        team_admin_page_ms_ratio_median: msRatios.length ? round(median(msRatios), 3) : null,
      },
      details: {
        seeded_events: tenant.events.length,
        teams: TEAMS,
        admin_teams: ADMIN_TEAMS.length,
        events_in_admin_scope: inScope,
        events_without_team: tenant.events.filter((e) => e.team_id === undefined).length,
        foreign_team_example: FOREIGN_TEAM,
        page_limit: 100,
        max_pages: maxPages,
        worst_filter: worst?.name ?? null,
        filters: results.map((r) => ({
          name: r.name,
          query: r.query,
          key: summary(r.key),
          team_admin: summary(r.admin),
          read_units_per_event_ratio: unitRatios.find((u) => u.name === r.name)?.ratio ?? null,
        })),
      },
      tables: [
        {
          title: `Team admin (${ADMIN_TEAMS.length} of ${TEAMS} teams, ${inScope} of ${tenant.events.length} events in scope) vs key: pages of 100 via listEvents, 1 shard`,
          columns: [
            'filter',
            'key: ret',
            'key: RCU/page',
            'key: RCU/event',
            'key: ms/page',
            'TA: partitions',
            'TA: ret',
            'TA: RCU/page',
            'TA: AWS RCU/page',
            'TA: RCU/event',
            'TA: Q/page',
            'TA: ms/page',
            'TA ÷ key RCU/event',
          ],
          rows,
          notes: [
            "TA = the team admin: every read queries the byTeam partition of each of their 50 teams (the key condition IS the scope) and merges them newest-first; the query's own filters are conditions on what those partitions hold, so a selective filter (actor, target) costs what the teams' events cost, not what the key's index costs.",
            'RCU as DynamoDB Local reports it (0 for a Query that reads nothing); AWS RCU/page adds the 0.5 RCU AWS bills for every Query, which is what 50 partitions per page cost at least (≥ 25 RCU for the first page).',
            'ms/page: median wall time of listEvents against DynamoDB Local on this machine (context only). "ret" = events returned over the pages read (at most the page cap).',
          ],
        },
      ],
    };
  },
};
