/**
 * Event list queries: the filter schema of `GET /v1/events` (also reused by exports), what a
 * filter set means for one event (matchesFilters: the single definition, evaluated on every event
 * read, whatever index read it), and the pure half of the planner: which access paths could serve
 * a filter set (candidatePaths) and which of them reads least (choosePath), from estimates the
 * use case gathers (shared/usecases/plan-events.ts). A team admin's team scope is a filter like
 * any other — always evaluated on every event — so no index, cursor or id can return an event
 * outside it. Pure.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import type { EventIndexName } from '../config/tables.ts';
import { ACTION_PATTERN, ACTOR_TYPES } from './event.ts';
import { FLAGS, type QuerySource } from './keys.ts';
import { listOf } from './matching.ts';
import type { TeamScope } from './people.ts';

export { actionMatches, inTeamScope, kindMatches, listOf, matchesFilters } from './matching.ts';

export const DEFAULT_WINDOW_DAYS = 30;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Entries of a `team_id` list (as many as a team admin's session may hold). */
export const MAX_TEAM_FILTER = 50;
/** Entries of an `actor_id` or `target_type` list. */
export const MAX_LIST_FILTER = 50;

const PREFIX_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*$/;

const FILTER_VALUE = /^\S(?:[^\p{Cc}]*\S)?$/u;

const filterValue = (max: number) =>
  z
    .string()
    .max(max)
    .regex(FILTER_VALUE, 'must not be empty, start or end with white space, or hold control characters');

const actionList = z
  .string()
  .max(2048)
  .transform((raw) => raw.split(',').map((s) => s.trim()))
  .pipe(
    z
      .array(
        z.string().refine((a) => ACTION_PATTERN.test(a) || PREFIX_PATTERN.test(a), {
          message: 'each action must be exact (member.role_changed) or a prefix (secret.*)',
        }),
      )
      .min(1)
      .max(20, 'at most 20 actions'),
  );

/**
 * A comma-separated list of values (≤ `entries`), kept as the string sent (the export record and
 * its contract show it so); listOf() splits it.
 */
const valueList = (entries: number, max: number, noun: string) =>
  z
    .string()
    .max(entries * (max + 1))
    .superRefine((raw, ctx) => {
      const values = raw.split(',').map((t) => t.trim());
      if (values.length > entries) ctx.addIssue({ code: 'custom', message: `at most ${entries} ${noun}s` });
      else if (values.some((t) => t.length > max || !FILTER_VALUE.test(t)))
        ctx.addIssue({
          code: 'custom',
          message: `each ${noun} must be 1–${max} characters, not start or end with white space, and hold no control characters`,
        });
    });

const actorTypeList = z
  .string()
  .max(128)
  .superRefine((raw, ctx) => {
    const values = raw.split(',').map((t) => t.trim());
    const unknown = values.filter((t) => !(ACTOR_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0)
      ctx.addIssue({ code: 'custom', message: `each actor type must be one of ${ACTOR_TYPES.join(', ')}` });
  });

/** The teams of a `team_id` filter, without duplicates; undefined when there is none. */
export const teamIdsOf = (filters: Pick<EventFilters, 'team_id'>): string[] | undefined =>
  listOf(filters.team_id);

/** Filters shared by `GET /v1/events` and exports. */
export const eventFiltersSchema = z.strictObject({
  from: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  action: actionList.optional(),
  /** Actions left out (same syntax as `action`): a condition; it never picks what to read. */
  exclude_action: actionList.optional(),
  /** One actor id or a comma-separated list. */
  actor_id: valueList(MAX_LIST_FILTER, 256, 'actor id').optional(),
  actor_email: filterValue(320).optional(),
  /** One of ACTOR_TYPES (user, api_key, service, system, support) or a comma-separated list. */
  actor_type: actorTypeList.optional(),
  target_id: filterValue(256).optional(),
  /** One target type or a comma-separated list. */
  target_type: valueList(MAX_LIST_FILTER, 128, 'target type').optional(),
  team_id: valueList(MAX_TEAM_FILTER, 256, 'team').optional(),
  area: filterValue(128).optional(),
  method: filterValue(64).optional(),
  status: filterValue(16).optional(),
  impersonated: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

export type EventFilters = z.infer<typeof eventFiltersSchema>;

export const listQuerySchema = eventFiltersSchema.extend({
  limit: z
    .string()
    .regex(/^[0-9]{1,7}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.int().min(1, 'must be at least 1').max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`))
    .default(DEFAULT_LIMIT),
  cursor: z.string().min(1).max(4096).optional(),
});

export type ListQuery = z.infer<typeof listQuerySchema>;

/**
 * The access paths a query can read through: each names an index and the key values it reads
 * (× the tenant's shards). `kind` and `email` take their values from the tenant's kind registry.
 */
export const PATHS = ['time', 'actor', 'email', 'target', 'team', 'kind', 'flag'] as const;
export type PathName = (typeof PATHS)[number];

export const PATH_INDEX: Readonly<Record<PathName, EventIndexName>> = {
  time: 'byTenantTime',
  actor: 'byActor',
  email: 'byActor',
  target: 'byTarget',
  team: 'byTeam',
  kind: 'byKind',
  flag: 'byFlag',
};

export interface QueryPlan {
  /** The path chosen (carried in cursors, so later pages read the same way). */
  path: PathName;
  sources: QuerySource[];
  /**
   * What share of the matches each source is expected to hold (any scale; the kind registry's
   * counts), so the first reads ask each for about its share; absent: even.
   */
  weights?: number[];
  /** Evaluated on every event read: the filters and the reader's team scope. */
  filters: EventFilters;
  scope: TeamScope;
  /** Inclusive window, RFC 3339 with milliseconds. */
  from: string;
  to: string;
  /**
   * Read units one request may spend (probes included) before it answers with what it has
   * (see mergeNewestFirst); unset: unbounded (exports, which checkpoint instead).
   */
  readBudget?: number;
}

/**
 * The work budget of one `GET /v1/events` page, in read units (eventually consistent: 0.5 per
 * 4 KB read, and at least 0.5 per Query): 1 MB of index items, what one DynamoDB Query returns at
 * most — a full 1,000-event page of ~800 B events, and tens of milliseconds of reads in AWS.
 * Every Query counts at least 0.5, so the budget also bounds a fan-out's calls.
 */
export const PAGE_READ_BUDGET = 128;

export interface TimeWindow {
  from: string;
  to: string;
}

/** Resolves the default window (the last 30 days) and checks its order. */
export const resolveWindow = (
  filters: Pick<EventFilters, 'from' | 'to'>,
  nowMs: number,
): TimeWindow | { error: string } => {
  const toMs = filters.to === undefined ? nowMs : Date.parse(filters.to);
  const fromMs =
    filters.from === undefined ? toMs - DEFAULT_WINDOW_DAYS * 86_400_000 : Date.parse(filters.from);
  if (fromMs > toMs) return { error: 'must not be after `to`' };
  return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
};

/**
 * A `team_id` filter naming teams outside the reader's team scope. The caller answers 403: the
 * reader asked for something their role may not see (unlike an event id, a filter value is
 * the reader's own input, so saying so reveals nothing).
 */
export class TeamOutsideScopeError extends Error {
  constructor(readonly teams: readonly string[]) {
    super(`team_id names teams outside the team scope: ${teams.join(', ')}`);
    this.name = 'TeamOutsideScopeError';
  }
}

/**
 * The teams a scoped reader reads: their `team_id` filter (which must lie within the scope, else
 * TeamOutsideScopeError), or every team of the scope.
 */
export const scopedTeams = (filters: Pick<EventFilters, 'team_id'>, scope: readonly string[]): string[] => {
  const requested = teamIdsOf(filters);
  if (requested === undefined) return [...new Set(scope)];
  const outside = requested.filter((team) => !scope.includes(team));
  if (outside.length > 0) throw new TeamOutsideScopeError(outside);
  return requested;
};

/** Filters a kind path can serve: each narrows the kinds (exclude_action too). */
const KIND_FILTERS = [
  'action',
  'exclude_action',
  'area',
  'method',
  'status',
  'target_type',
  'actor_type',
] as const;

/**
 * A path that could serve a filter set: its name, and the key values it reads where the filters
 * name them (undefined for `kind` and `email`, whose values come from the kind registry).
 */
export interface Candidate {
  path: PathName;
  values?: string[];
}

/**
 * The flag index's values (keys.ts FLAGS) holding every event an `impersonated` / `status`
 * filter pair can match, or undefined when those filters do not narrow to flagged events.
 */
export const flagValues = (filters: Pick<EventFilters, 'impersonated' | 'status'>): string[] | undefined => {
  const failed = filters.status === 'failure';
  if (filters.impersonated === 'true') {
    if (failed) return [FLAGS.both];
    return filters.status === undefined ? [FLAGS.impersonated, FLAGS.both] : [FLAGS.impersonated];
  }
  if (!failed) return undefined;
  return filters.impersonated === 'false' ? [FLAGS.failure] : [FLAGS.failure, FLAGS.both];
};

/**
 * The paths that can serve a filter set under a team scope, the tenant-wide time index always
 * among them. A scoped reader's teams are a candidate like any filter (the scope is evaluated on
 * every event either way). Throws TeamOutsideScopeError for a `team_id` outside the scope.
 */
export const candidatePaths = (filters: EventFilters, scope: TeamScope = null): Candidate[] => {
  const candidates: Candidate[] = [{ path: 'time', values: [''] }];
  const teams = scope === null ? teamIdsOf(filters) : scopedTeams(filters, scope);
  if (filters.actor_id !== undefined) candidates.push({ path: 'actor', values: listOf(filters.actor_id) });
  if (filters.actor_email !== undefined) candidates.push({ path: 'email' });
  if (filters.target_id !== undefined) candidates.push({ path: 'target', values: [filters.target_id] });
  if (teams !== undefined) candidates.push({ path: 'team', values: teams });
  if (KIND_FILTERS.some((f) => filters[f] !== undefined)) candidates.push({ path: 'kind' });
  const flags = flagValues(filters);
  if (flags !== undefined) candidates.push({ path: 'flag', values: flags });
  return candidates;
};

/** What the planner knows about a candidate path, from the registry, probes, or nothing. */
export interface PathEstimate {
  path: PathName;
  /** Partitions it reads (key values × shards). */
  partitions: number;
  /**
   * Share of the tenant's events (in the window) the path reads, 0–1; undefined when not
   * estimated (then it is assumed to be the most selective id path it competes with).
   */
  share?: number;
}

/**
 * The cost model, in index items (~800 B, 0.1 read unit): what reading one more partition costs a
 * page beyond its matching items — the Query's rounding up to 4 KB (≈ 2.5 items on average) and
 * the items read ahead of the page's end (measured by the bench: ≈ 5 more).
 */
export const QUERY_OVERHEAD_ITEMS = 8;
/** A path reading more partitions than this is not considered (time, at most 64, always is). */
export const MAX_PLAN_PARTITIONS = 400;

/**
 * The path that reads least for a page of `limit` matches. The matches are estimated as the
 * product of the estimated paths' shares (filters taken as independent), so path p reads about
 * `limit × share(p) ÷ matches` items to find a page, plus QUERY_OVERHEAD_ITEMS per partition. A
 * path without an estimate counts as reading nothing beyond its matches (an id the caller gave,
 * with no competitor worth a probe). Ties go to the earlier estimate.
 */
export const choosePath = (estimates: readonly PathEstimate[], limit: number): PathName => {
  const usable = estimates.filter((e) => e.path === 'time' || e.partitions <= MAX_PLAN_PARTITIONS);
  const shareOf = (e: PathEstimate) => Math.max(1e-9, e.share ?? 0);
  const matches = Math.max(
    1e-9,
    usable.filter((e) => e.path !== 'time').reduce((product, e) => product * shareOf(e), 1),
  );
  const cost = (e: PathEstimate) => (limit * shareOf(e)) / matches + e.partitions * QUERY_OVERHEAD_ITEMS;
  let best = usable[0] as PathEstimate;
  for (const e of usable.slice(1)) if (cost(e) < cost(best)) best = e;
  return best.path;
};

/**
 * Fingerprint of a filter set and the reader's team scope, bound into cursors so a cursor only
 * continues the query that made it, read with the same scope (a team admin's cursor is refused
 * to a key or to another set of teams). Without a scope it is the filters' alone.
 */
export const filtersFingerprint = (filters: EventFilters, scope: TeamScope = null): string => {
  const defined: Record<string, unknown> = Object.fromEntries(
    Object.entries(filters).filter(([, v]) => v !== undefined),
  );
  if (scope !== null) defined['@team_scope'] = [...new Set(scope)].sort();
  return createHash('sha256')
    .update(canonicalize(defined) ?? '{}')
    .digest('base64url')
    .slice(0, 22);
};
