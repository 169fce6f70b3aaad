/**
 * The filter bar's state and its two translations: to and from the page's query string (so a
 * view is shareable and back/forward restore it) and to the API's query (`GET /v1/events` and
 * `POST /v1/exports` take the same filters). Pure: no DOM, no fetch.
 */
import type { ListEventsQuery } from '../../client/index.ts';

export const RANGE_PRESETS = {
  '1h': { label: 'Last hour', ms: 3_600_000 },
  '24h': { label: 'Last 24 hours', ms: 86_400_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000 },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000 },
} as const;
export type RangePreset = keyof typeof RANGE_PRESETS;
export type Range = RangePreset | 'custom';

export interface Filters {
  range: Range;
  /** Custom range bounds as `datetime-local` values (the reader's local time). */
  from: string;
  to: string;
  /** Exact actions, prefixes (`member.*`), or a comma-separated list of both. */
  action: string;
  /** An email (contains `@`), an actor id, or a comma-separated list of ids. */
  actor: string;
  /** `user`, `api_key`, `service`, `system`, `support`, or '' for any. */
  actor_type: string;
  target_type: string;
  target_id: string;
  /** One team, or a comma-separated list. */
  team: string;
  area: string;
  method: string;
  status: string;
  impersonated: '' | 'true' | 'false';
  /** Whether the log's own reads (`audit_log.*`) are listed. */
  showReads: boolean;
}

export const DEFAULT_FILTERS: Filters = {
  range: '24h',
  from: '',
  to: '',
  action: '',
  actor: '',
  actor_type: '',
  target_type: '',
  target_id: '',
  team: '',
  area: '',
  method: '',
  status: '',
  impersonated: '',
  showReads: false,
};

export const PAGE_SIZE = 100;
const TEXT_FIELDS = [
  'from',
  'to',
  'action',
  'actor',
  'actor_type',
  'target_type',
  'target_id',
  'team',
  'area',
  'method',
  'status',
] as const;

const isRange = (value: string | null): value is Range =>
  value === 'custom' || (value !== null && Object.hasOwn(RANGE_PRESETS, value));

/** Reads the filters from a query string (`?action=member.*&range=7d`); unknown values fall back to the defaults. */
export const filtersFromSearch = (search: string): Filters => {
  const params = new URLSearchParams(search);
  const filters: Filters = { ...DEFAULT_FILTERS };
  const range = params.get('range');
  if (isRange(range)) filters.range = range;
  for (const field of TEXT_FIELDS) filters[field] = (params.get(field) ?? '').trim();
  const impersonated = params.get('impersonated');
  if (impersonated === 'true' || impersonated === 'false') filters.impersonated = impersonated;
  filters.showReads = params.get('reads') === 'show';
  if (filters.range !== 'custom') {
    filters.from = '';
    filters.to = '';
  }
  return filters;
};

/** The query string of a view: only what differs from the defaults, so links stay short. */
export const searchFromFilters = (filters: Filters): string => {
  const params = new URLSearchParams();
  if (filters.range !== DEFAULT_FILTERS.range) params.set('range', filters.range);
  for (const field of TEXT_FIELDS) {
    if ((field === 'from' || field === 'to') && filters.range !== 'custom') continue;
    const value = filters[field].trim();
    if (value !== '') params.set(field, value);
  }
  if (filters.impersonated !== '') params.set('impersonated', filters.impersonated);
  if (filters.showReads) params.set('reads', 'show');
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
};

/** `a, b.*,,c` → `a,b.*,c`. */
export const normaliseList = (text: string): string =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(',');

/** A `datetime-local` value (local time) as an RFC 3339 instant; undefined when empty or invalid. */
export const localToIso = (value: string): string | undefined => {
  if (value === '') return undefined;
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
};

/** An instant as a `datetime-local` value in the reader's time zone (minutes precision). */
export const isoToLocal = (iso: string): string => {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
};

const LOG_READS = 'audit_log.*';

/**
 * The API query for the filters, its time window resolved against `now`. The log's own reads
 * are left out (`exclude_action=audit_log.*`) unless shown, or asked for by name.
 */
export const apiQuery = (filters: Filters, now: number): ListEventsQuery => {
  const query: ListEventsQuery = {};
  if (filters.range === 'custom') {
    const from = localToIso(filters.from);
    const to = localToIso(filters.to);
    if (from !== undefined) query.from = from;
    if (to !== undefined) query.to = to;
  } else {
    query.from = new Date(now - RANGE_PRESETS[filters.range].ms).toISOString();
    query.to = new Date(now).toISOString();
  }
  const action = normaliseList(filters.action);
  if (action !== '') query.action = action;
  const asksForReads = action.split(',').some((entry) => entry.startsWith('audit_log.'));
  if (!filters.showReads && !asksForReads) query.exclude_action = LOG_READS;
  const actor = filters.actor.trim();
  if (actor !== '') {
    if (actor.includes('@')) query.actor_email = actor;
    else query.actor_id = actor;
  }
  const actorType = filters.actor_type.trim();
  if (actorType !== '') query.actor_type = actorType;
  const targetType = normaliseList(filters.target_type);
  if (targetType !== '') query.target_type = targetType;
  const targetId = filters.target_id.trim();
  if (targetId !== '') query.target_id = targetId;
  const team = normaliseList(filters.team);
  if (team !== '') query.team_id = team;
  for (const field of ['area', 'method', 'status'] as const) {
    const value = filters[field].trim();
    if (value !== '') (query as Record<string, string>)[field] = value;
  }
  if (filters.impersonated !== '') query.impersonated = filters.impersonated;
  return query;
};

/** How many filters narrow the view (beyond the time range and the hidden reads). */
export const activeFilterCount = (filters: Filters): number =>
  [
    ...TEXT_FIELDS.filter((f) => f !== 'from' && f !== 'to').map((f) => filters[f]),
    filters.impersonated,
  ].filter((value) => value.trim() !== '').length;
