/**
 * Event list queries: the filter schema of `GET /v1/events` (also reused by exports) and the
 * planner that picks the index serving a filter set. The most selective filter present becomes
 * the key condition; the others become conditions evaluated on top of that index. Pure.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import type { EventIndexName } from '../config/tables.ts';
import { ACTION_PATTERN } from './event.ts';
import { actionCategory, type QuerySource, sourcesFor } from './keys.ts';

export const DEFAULT_WINDOW_DAYS = 30;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

const PREFIX_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*$/;

const filterValue = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

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

/** Filters shared by `GET /v1/events` and exports. */
export const eventFiltersSchema = z.strictObject({
  from: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  action: actionList.optional(),
  actor_id: filterValue(256).optional(),
  actor_email: filterValue(320).optional(),
  target_id: filterValue(256).optional(),
  target_type: filterValue(128).optional(),
  team_id: filterValue(256).optional(),
  area: filterValue(128).optional(),
  method: filterValue(64).optional(),
  status: filterValue(16).optional(),
  impersonated: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

export type EventFilters = z.infer<typeof eventFiltersSchema>;

export const listQuerySchema = eventFiltersSchema.extend({
  limit: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`)
    .default(DEFAULT_LIMIT),
  cursor: z.string().min(1).max(4096).optional(),
});

export type ListQuery = z.infer<typeof listQuerySchema>;

/** A condition evaluated on the item after the key condition. */
export type Condition =
  | { attr: string; equals: string | boolean }
  | { attr: 'action'; anyOf: string[]; prefixes: string[] };

export interface QueryPlan {
  sources: QuerySource[];
  conditions: Condition[];
  /** Inclusive window, RFC 3339 with milliseconds. */
  from: string;
  to: string;
}

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

const splitActions = (actions: readonly string[]) => ({
  exact: actions.filter((a) => !a.endsWith('.*')),
  prefixes: actions.filter((a) => a.endsWith('.*')).map((a) => a.slice(0, -1)),
});

/**
 * Picks the index: target > actor > actor email > team > action(s) > target type > time.
 * Action lists fan out to one partition set per action (exact) or per category (prefix).
 */
export const planQuery = (
  tenantId: string,
  shards: number,
  filters: EventFilters,
  window: TimeWindow,
): QueryPlan => {
  const conditions: Condition[] = [];
  let sources: QuerySource[] | undefined;
  const use = (index: EventIndexName, value: string) => {
    sources = sourcesFor(tenantId, shards, index, value);
  };
  const eq = (attr: string, value: string | boolean | undefined) => {
    if (value !== undefined) conditions.push({ attr, equals: value });
  };
  const actions = filters.action === undefined ? undefined : splitActions(filters.action);

  const keyed: [EventIndexName, string, string | undefined][] = [
    ['byTarget', 'target_id', filters.target_id],
    ['byActor', 'actor_id', filters.actor_id],
    ['byActorEmail', 'actor_email', filters.actor_email?.toLowerCase()],
    ['byTeam', 'team_id', filters.team_id],
  ];
  for (const [index, attr, value] of keyed) {
    if (value === undefined) continue;
    if (sources === undefined) use(index, value);
    else eq(attr, value);
  }

  if (actions !== undefined) {
    const onlyTopLevelPrefixes = actions.prefixes.every((p) => p.split('.').length === 2);
    if (sources === undefined) {
      const exactSources = actions.exact.flatMap((a) => sourcesFor(tenantId, shards, 'byAction', a));
      const categories = [...new Set(actions.prefixes.map(actionCategory))];
      const prefixSources = categories.flatMap((c) => sourcesFor(tenantId, shards, 'byActionCategory', c));
      sources = [...exactSources, ...prefixSources];
      // A deeper prefix (secret.key.*) reads its category and keeps only the matching actions.
      if (!onlyTopLevelPrefixes)
        conditions.push({ attr: 'action', anyOf: actions.exact, prefixes: actions.prefixes });
    } else {
      conditions.push({ attr: 'action', anyOf: actions.exact, prefixes: actions.prefixes });
    }
  }

  if (filters.target_type !== undefined) {
    if (sources === undefined) use('byTargetType', filters.target_type);
    else eq('target_type', filters.target_type);
  }
  eq('area', filters.area);
  eq('method', filters.method);
  eq('status', filters.status);
  eq('impersonated', filters.impersonated === undefined ? undefined : filters.impersonated === 'true');

  return {
    sources: sources ?? sourcesFor(tenantId, shards, 'byTenantTime', ''),
    conditions,
    from: window.from,
    to: window.to,
  };
};

/** Fingerprint of a filter set, bound into cursors so a cursor only continues the query that made it. */
export const filtersFingerprint = (filters: EventFilters): string => {
  const defined = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
  return createHash('sha256')
    .update(canonicalize(defined) ?? '{}')
    .digest('base64url')
    .slice(0, 22);
};
