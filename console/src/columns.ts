/**
 * The table's columns: how each shows an event, which are shown by default, which the chooser
 * adds, the CSV columns each one exports as, and the chooser's memory (per tenant and person,
 * in localStorage). Pure except for `loadColumns`/`saveColumns`.
 */
import type { StoredEvent } from '../../client/index.ts';

export type ColumnId =
  | 'time'
  | 'user'
  | 'role'
  | 'method'
  | 'area'
  | 'action'
  | 'target_type'
  | 'status'
  | 'target_id'
  | 'team'
  | 'duration'
  | 'ip'
  | 'user_agent'
  | 'impersonated'
  | 'request';

/** The CSV export columns of the API (SPEC: CSV columns; `columns` on POST /v1/exports). */
export type CsvColumn =
  | 'timestamp'
  | 'actor_id'
  | 'actor_type'
  | 'actor_name'
  | 'actor_email'
  | 'action'
  | 'target_type'
  | 'target_id'
  | 'team_id'
  | 'ip'
  | 'user_agent'
  | 'status'
  | 'impersonated'
  | 'metadata_json'
  | 'actor_role'
  | 'area'
  | 'method'
  | 'duration_ms'
  | 'request_json';

export interface Column {
  readonly id: ColumnId;
  readonly label: string;
  readonly csv: readonly CsvColumn[];
  readonly text: (event: StoredEvent) => string;
}

/** Milliseconds under one second, seconds with one decimal above. */
export const formatDuration = (ms: number | undefined): string => {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
};

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export const formatTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : timeFormat.format(date);
};

/**
 * Bidirectional-text controls (U+202E and friends) can make a value read backwards
 * (`exe.txt` shown as `txt.exe`): an audit log shows them instead of obeying them.
 */
export const showControls = (text: string): string =>
  text.replace(
    /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase()}]`,
  );

const str = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

export const userText = (event: StoredEvent): string =>
  event.actor.email ?? event.actor.name ?? event.actor.id;

export const COLUMNS: readonly Column[] = [
  { id: 'time', label: 'Time', csv: ['timestamp'], text: (e) => formatTime(e.occurred_at) },
  { id: 'user', label: 'User', csv: ['actor_email', 'actor_id'], text: userText },
  { id: 'role', label: 'Role', csv: ['actor_role'], text: (e) => str(e.actor.role) },
  { id: 'method', label: 'Method', csv: ['method'], text: (e) => str(e.method) },
  { id: 'area', label: 'Area', csv: ['area'], text: (e) => str(e.area) },
  { id: 'action', label: 'Action', csv: ['action'], text: (e) => e.action },
  { id: 'target_type', label: 'Entity type', csv: ['target_type'], text: (e) => str(e.target?.type) },
  { id: 'status', label: 'Status', csv: ['status'], text: (e) => str(e.status) },
  { id: 'target_id', label: 'Entity id', csv: ['target_id'], text: (e) => str(e.target?.id) },
  { id: 'team', label: 'Team', csv: ['team_id'], text: (e) => str(e.team_id) },
  { id: 'duration', label: 'Duration', csv: ['duration_ms'], text: (e) => formatDuration(e.duration_ms) },
  { id: 'ip', label: 'IP', csv: ['ip'], text: (e) => str(e.context?.ip) },
  { id: 'user_agent', label: 'User agent', csv: ['user_agent'], text: (e) => str(e.context?.user_agent) },
  {
    id: 'impersonated',
    label: 'Impersonated',
    csv: ['impersonated'],
    text: (e) => (e.impersonated ? 'Yes' : 'No'),
  },
  {
    id: 'request',
    label: 'Request',
    csv: ['request_json'],
    text: (e) => (e.request === undefined ? '' : JSON.stringify(e.request)),
  },
];

export const DEFAULT_COLUMNS: readonly ColumnId[] = [
  'time',
  'user',
  'role',
  'method',
  'area',
  'action',
  'target_type',
  'status',
];

const byId = new Map(COLUMNS.map((column) => [column.id, column]));
export const columnById = (id: ColumnId): Column => byId.get(id) as Column;

/** The chosen columns in the table's fixed order (the order of COLUMNS). */
export const orderColumns = (ids: Iterable<ColumnId>): ColumnId[] => {
  const chosen = new Set(ids);
  return COLUMNS.filter((column) => chosen.has(column.id)).map((column) => column.id);
};

/** The CSV `columns` of an export of these table columns: each once, in the table's order. */
export const csvColumns = (ids: readonly ColumnId[]): CsvColumn[] => {
  const out: CsvColumn[] = [];
  for (const id of orderColumns(ids))
    for (const csv of columnById(id).csv) if (!out.includes(csv)) out.push(csv);
  return out;
};

export const columnsStorageKey = (tenantId: string, userId: string): string =>
  `trailkeeper:columns:${tenantId}:${userId}`;

export const loadColumns = (key: string): ColumnId[] => {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? 'null') as unknown;
    if (Array.isArray(stored)) {
      const ids = orderColumns(
        stored.filter((id): id is ColumnId => typeof id === 'string' && byId.has(id as ColumnId)),
      );
      if (ids.length > 0) return ids;
    }
  } catch {
    // Unreadable or blocked storage: the defaults.
  }
  return [...DEFAULT_COLUMNS];
};

export const saveColumns = (key: string, ids: readonly ColumnId[]): void => {
  try {
    localStorage.setItem(key, JSON.stringify(ids));
  } catch {
    // Storage full or blocked: the choice lasts for this page only.
  }
};
