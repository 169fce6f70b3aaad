/**
 * What a filter set means for one event (and for one event kind): the single definition, which
 * the event store evaluates on every event it reads, whatever index read it. Without zod (the
 * filter schema is in query.ts), so the store's bundles carry no validation code. Pure.
 */
import type { StoredEvent } from './event.ts';
import type { EventKind } from './kinds.ts';
import type { TeamScope } from './people.ts';
import type { EventFilters } from './query.ts';

/** The values of a list filter, trimmed and without duplicates; undefined when there is none. */
export const listOf = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : [...new Set(value.split(',').map((t) => t.trim()))];

const actionSpec = (actions: readonly string[]) => ({
  anyOf: actions.filter((a) => !a.endsWith('.*')),
  prefixes: actions.filter((a) => a.endsWith('.*')).map((a) => a.slice(0, -1)),
});

/** Is `action` one of `actions` (exact entries, or `x.*` prefixes)? */
export const actionMatches = (action: string, actions: readonly string[]): boolean => {
  const { anyOf, prefixes } = actionSpec(actions);
  return anyOf.includes(action) || prefixes.some((p) => action.startsWith(p));
};

/** Is an event within a team scope? (null: the whole workspace; else only events of those teams.) */
export const inTeamScope = (event: Pick<StoredEvent, 'team_id'>, scope: TeamScope): boolean =>
  scope === null || (event.team_id !== undefined && scope.includes(event.team_id));

/** The status of an event as filters compare it (`success`, `failure`, or the HTTP code). */
const statusOf = (event: Pick<StoredEvent, 'status'>): string | undefined =>
  event.status === undefined ? undefined : String(event.status);

const inList = (value: string | undefined, list: string | undefined): boolean =>
  list === undefined || (value !== undefined && (listOf(list) as string[]).includes(value));

/** Does a kind satisfy every kind-field filter (action, exclude_action, area, method, target type, status, actor type)? */
export const kindMatches = (kind: EventKind, filters: EventFilters): boolean =>
  (filters.action === undefined || actionMatches(kind.action, filters.action)) &&
  (filters.exclude_action === undefined || !actionMatches(kind.action, filters.exclude_action)) &&
  (filters.area === undefined || kind.area === filters.area) &&
  (filters.method === undefined || kind.method === filters.method) &&
  (filters.status === undefined || kind.status === filters.status) &&
  inList(kind.target_type, filters.target_type) &&
  inList(kind.actor_type, filters.actor_type);

/** Does an event satisfy every filter and lie within the team scope? The one meaning of a filter. */
export const matchesFilters = (event: StoredEvent, filters: EventFilters, scope: TeamScope = null): boolean =>
  inTeamScope(event, scope) &&
  (filters.action === undefined || actionMatches(event.action, filters.action)) &&
  (filters.exclude_action === undefined || !actionMatches(event.action, filters.exclude_action)) &&
  inList(event.actor.id, filters.actor_id) &&
  (filters.actor_email === undefined ||
    event.actor.email?.toLowerCase() === filters.actor_email.toLowerCase()) &&
  inList(event.actor.type, filters.actor_type) &&
  (filters.target_id === undefined || event.target?.id === filters.target_id) &&
  inList(event.target?.type, filters.target_type) &&
  inList(event.team_id, filters.team_id) &&
  (filters.area === undefined || event.area === filters.area) &&
  (filters.method === undefined || event.method === filters.method) &&
  (filters.status === undefined || statusOf(event) === filters.status) &&
  (filters.impersonated === undefined || (event.impersonated === true) === (filters.impersonated === 'true'));
