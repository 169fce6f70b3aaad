/**
 * Event list queries: the filter schema of `GET /v1/events` (also reused by exports) and the
 * planner that picks the index serving a filter set. The most selective filter present becomes
 * the key condition; the others become conditions evaluated on top of that index. A team admin's
 * team scope is part of the key condition itself: their reads go through the `byTeam` partitions
 * of their teams only (merged newest-first), so no filter, cursor or id can reach another event.
 * Pure.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import type { EventIndexName } from '../config/tables.ts';
import { ACTION_PATTERN, type StoredEvent } from './event.ts';
import { ACCESS_PATTERNS, normaliseKeyValue, type QuerySource, sourcesFor } from './keys.ts';
import type { TeamScope } from './people.ts';

export const DEFAULT_WINDOW_DAYS = 30;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Entries of a `team_id` list (as many as a team admin's session may hold). */
export const MAX_TEAM_FILTER = 50;

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
 * `team_id`: one team or a comma-separated list (≤ MAX_TEAM_FILTER). Kept as the string sent (the
 * export record and its contract show it so); teamIdsOf() splits it.
 */
const teamList = z
  .string()
  .max(MAX_TEAM_FILTER * 257)
  .superRefine((raw, ctx) => {
    const teams = raw.split(',').map((t) => t.trim());
    if (teams.length > MAX_TEAM_FILTER)
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_TEAM_FILTER} teams` });
    else if (teams.some((t) => t.length > 256 || !FILTER_VALUE.test(t)))
      ctx.addIssue({
        code: 'custom',
        message:
          'each team must be 1–256 characters, not start or end with white space, and hold no control characters',
      });
  });

/** The teams of a `team_id` filter, without duplicates; undefined when there is none. */
export const teamIdsOf = (filters: Pick<EventFilters, 'team_id'>): string[] | undefined =>
  filters.team_id === undefined ? undefined : [...new Set(filters.team_id.split(',').map((t) => t.trim()))];

/** Filters shared by `GET /v1/events` and exports. */
export const eventFiltersSchema = z.strictObject({
  from: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  action: actionList.optional(),
  /** Actions left out (same syntax as `action`): always a condition, never the index. */
  exclude_action: actionList.optional(),
  actor_id: filterValue(256).optional(),
  actor_email: filterValue(320).optional(),
  target_id: filterValue(256).optional(),
  target_type: filterValue(128).optional(),
  team_id: teamList.optional(),
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
 * A condition evaluated on each event read through the chosen index. It compares the same key
 * values the indexes are built from (ACCESS_PATTERNS), so "filter by X" means one thing whether X
 * is served by an index or by a condition.
 */
export type Condition =
  | { kind: 'key'; index: EventIndexName; value: string | undefined }
  | { kind: 'keyIn'; index: EventIndexName; anyOf: string[] }
  | { kind: 'action'; anyOf: string[]; prefixes: string[] }
  /** `exclude_action`: the event's action is none of these (never an index: it picks nothing). */
  | { kind: 'notAction'; anyOf: string[]; prefixes: string[] };

export interface QueryPlan {
  sources: QuerySource[];
  conditions: Condition[];
  /** Inclusive window, RFC 3339 with milliseconds. */
  from: string;
  to: string;
  /**
   * Items one request may read (before conditions discard any) before it answers with what it has
   * (see mergeNewestFirst); unset: unbounded (exports, which checkpoint instead).
   */
  scanBudget?: number;
}

/** The work budget of one `GET /v1/events` page: items read (≈ 4 MB of index items). */
export const PAGE_SCAN_BUDGET = 5_000;

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

/** Keyed filters in the order the planner prefers them as the key condition (most selective first). */
const KEYED_BEFORE_TEAMS = [
  ['target_id', 'byTarget'],
  ['actor_id', 'byActor'],
  ['actor_email', 'byActorEmail'],
] as const satisfies readonly (readonly [keyof EventFilters, EventIndexName])[];

const KEYED_AFTER_ACTIONS = [
  ['target_type', 'byTargetType'],
  ['status', 'byStatus'],
  ['area', 'byArea'],
  ['method', 'byMethod'],
] as const satisfies readonly (readonly [keyof EventFilters, EventIndexName])[];

/** The partitions serving one entry of an action filter, and whether they need an action condition on top. */
const actionSources = (
  tenantId: string,
  shards: number,
  action: string,
): { sources: QuerySource[]; exact: boolean } => {
  if (!action.endsWith('.*'))
    return { sources: sourcesFor(tenantId, shards, 'byAction', action), exact: true };
  const segments = action.slice(0, -2).split('.');
  if (segments.length === 1)
    return { sources: sourcesFor(tenantId, shards, 'byActionCategory', segments[0] as string), exact: true };
  const group = `${segments[0]}.${segments[1]}`;
  // a.b.* is exactly the group a.b; a deeper prefix reads its group and keeps the matching actions.
  return { sources: sourcesFor(tenantId, shards, 'byActionGroup', group), exact: segments.length === 2 };
};

const actionCondition = (actions: readonly string[], kind: 'action' | 'notAction' = 'action'): Condition => ({
  kind,
  anyOf: actions.filter((a) => !a.endsWith('.*')),
  prefixes: actions.filter((a) => a.endsWith('.*')).map((a) => a.slice(0, -1)),
});

const actionMatches = (action: string, c: { anyOf: readonly string[]; prefixes: readonly string[] }) =>
  c.anyOf.includes(action) || c.prefixes.some((p) => action.startsWith(p));

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
 * The teams a scoped reader's plan reads: their `team_id` filter (which must lie within the
 * scope, else TeamOutsideScopeError), or every team of the scope.
 */
export const scopedTeams = (filters: Pick<EventFilters, 'team_id'>, scope: readonly string[]): string[] => {
  const requested = teamIdsOf(filters);
  if (requested === undefined) return [...new Set(scope)];
  const outside = requested.filter((team) => !scope.includes(team));
  if (outside.length > 0) throw new TeamOutsideScopeError(outside);
  return requested;
};

/**
 * Picks the index: target > actor > actor email > team(s) > action(s) > target type > status >
 * area > method > impersonated > time. A list of teams or actions fans out to the partitions of
 * each entry (merged newest-first). Every other filter becomes a condition on the chosen index;
 * `exclude_action` always does (it says what to leave out, never what to read).
 *
 * With a team `scope` (a team admin), the key condition is always the `byTeam` partitions of the
 * scope's teams (or of the `team_id` filter, which must lie within it): every other filter is a
 * condition on what those partitions hold, so nothing outside the teams is ever read.
 */
export const planQuery = (
  tenantId: string,
  shards: number,
  filters: EventFilters,
  window: TimeWindow,
  scope: TeamScope = null,
): QueryPlan => {
  const conditions: Condition[] = [];
  let sources: QuerySource[] | undefined;
  const keyed = (index: EventIndexName, value: string | undefined) => {
    if (sources === undefined && value !== undefined) sources = sourcesFor(tenantId, shards, index, value);
    else
      conditions.push({
        kind: 'key',
        index,
        value: value === undefined ? undefined : normaliseKeyValue(index, value),
      });
  };
  const teamSources = (teams: readonly string[]) =>
    teams.flatMap((team) => sourcesFor(tenantId, shards, 'byTeam', team));

  if (scope !== null) sources = teamSources(scopedTeams(filters, scope));
  for (const [param, index] of KEYED_BEFORE_TEAMS) {
    const value = filters[param];
    if (value !== undefined) keyed(index, value);
  }
  const teams = scope === null ? teamIdsOf(filters) : undefined;
  if (teams !== undefined) {
    if (sources === undefined) sources = teamSources(teams);
    else if (teams.length === 1) keyed('byTeam', teams[0]);
    else conditions.push({ kind: 'keyIn', index: 'byTeam', anyOf: teams });
  }
  if (filters.action !== undefined) {
    if (sources === undefined) {
      const planned = filters.action.map((a) => actionSources(tenantId, shards, a));
      sources = planned.flatMap((p) => p.sources);
      if (!planned.every((p) => p.exact)) conditions.push(actionCondition(filters.action));
    } else {
      conditions.push(actionCondition(filters.action));
    }
  }
  for (const [param, index] of KEYED_AFTER_ACTIONS) {
    const value = filters[param];
    if (value !== undefined) keyed(index, value);
  }
  // Only impersonated events are indexed; "not impersonated" is a condition.
  if (filters.impersonated !== undefined)
    keyed('byImpersonated', filters.impersonated === 'true' ? 'true' : undefined);
  // Leaving actions out never narrows what an index reads: always a residual condition.
  if (filters.exclude_action !== undefined)
    conditions.push(actionCondition(filters.exclude_action, 'notAction'));

  return {
    sources: sources ?? sourcesFor(tenantId, shards, 'byTenantTime', ''),
    conditions,
    from: window.from,
    to: window.to,
  };
};

/** Does an event satisfy every condition of a plan? */
export const matchesConditions = (event: StoredEvent, conditions: readonly Condition[]): boolean =>
  conditions.every((c) => {
    if (c.kind === 'key') return ACCESS_PATTERNS[c.index](event) === c.value;
    if (c.kind === 'keyIn') {
      const value = ACCESS_PATTERNS[c.index](event);
      return value !== undefined && c.anyOf.includes(value);
    }
    if (c.kind === 'notAction') return !actionMatches(event.action, c);
    return actionMatches(event.action, c);
  });

/** Is an event within a team scope? (null: the whole workspace; else only events of those teams.) */
export const inTeamScope = (event: Pick<StoredEvent, 'team_id'>, scope: TeamScope): boolean =>
  scope === null || (event.team_id !== undefined && scope.includes(event.team_id));

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
