/**
 * The console's pure logic, without a browser: filters to and from the URL and to the API query,
 * the export's CSV columns for the chosen table columns, durations, and bidi controls shown.
 */
import { describe, expect, it } from 'vitest';
import {
  csvColumns,
  DEFAULT_COLUMNS,
  formatDuration,
  orderColumns,
  showControls,
} from '../../console/src/columns.ts';
import {
  apiQuery,
  DEFAULT_FILTERS,
  filtersFromSearch,
  searchFromFilters,
} from '../../console/src/filters.ts';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');

describe('console filters', () => {
  it('opens on the last 24 hours without the log’s own reads, and keeps the default URL empty', () => {
    expect(filtersFromSearch('')).toEqual(DEFAULT_FILTERS);
    expect(searchFromFilters(DEFAULT_FILTERS)).toBe('');
    expect(apiQuery(DEFAULT_FILTERS, NOW)).toEqual({
      from: '2026-12-06T12:00:00.000Z',
      to: '2026-12-07T12:00:00.000Z',
      exclude_action: 'audit_log.*',
    });
  });

  it('round-trips every filter through the query string', () => {
    const filters = {
      ...DEFAULT_FILTERS,
      range: '7d' as const,
      action: 'member.*,secret.read',
      actor: 'ann@example.com',
      target_type: 'invoice',
      target_id: 'inv_1',
      team: 't1,t2',
      area: 'billing',
      method: 'POST',
      status: '403',
      impersonated: 'true' as const,
      showReads: true,
    };
    expect(filtersFromSearch(searchFromFilters(filters))).toEqual(filters);
  });

  it('sends an actor with @ as actor_email, else as actor_id, and normalises lists', () => {
    const byEmail = apiQuery({ ...DEFAULT_FILTERS, actor: ' ann@example.com ', action: ' a.b , c.* ,' }, NOW);
    expect(byEmail).toMatchObject({ actor_email: 'ann@example.com', action: 'a.b,c.*' });
    expect(byEmail.actor_id).toBeUndefined();
    expect(apiQuery({ ...DEFAULT_FILTERS, actor: 'u_1' }, NOW)).toMatchObject({ actor_id: 'u_1' });
  });

  it('sends the actor type and a list of target types, and keeps the actor type in the URL', () => {
    const filters = { ...DEFAULT_FILTERS, actor_type: 'api_key', target_type: ' doc , project ,' };
    expect(apiQuery(filters, NOW)).toMatchObject({ actor_type: 'api_key', target_type: 'doc,project' });
    expect(filtersFromSearch(searchFromFilters(filters)).actor_type).toBe('api_key');
    expect(apiQuery(DEFAULT_FILTERS, NOW).actor_type).toBeUndefined();
  });

  it('lists the log’s reads when shown or asked for by name', () => {
    expect(apiQuery({ ...DEFAULT_FILTERS, showReads: true }, NOW).exclude_action).toBeUndefined();
    expect(apiQuery({ ...DEFAULT_FILTERS, action: 'audit_log.viewed' }, NOW).exclude_action).toBeUndefined();
  });

  it('resolves a custom range from local datetime values, and ignores unknown URL values', () => {
    const query = apiQuery({ ...DEFAULT_FILTERS, range: 'custom', from: '2026-12-01T08:00', to: '' }, NOW);
    expect(query.from).toBe(new Date('2026-12-01T08:00').toISOString());
    expect(query.to).toBeUndefined();
    expect(filtersFromSearch('?range=99y&impersonated=maybe')).toEqual(DEFAULT_FILTERS);
  });
});

describe('console columns', () => {
  it('exports the chosen table columns as the CSV columns, each once, in table order', () => {
    expect(csvColumns(DEFAULT_COLUMNS)).toEqual([
      'timestamp',
      'actor_email',
      'actor_id',
      'actor_role',
      'method',
      'area',
      'action',
      'target_type',
      'status',
    ]);
    expect(
      csvColumns(['request', 'time', 'team', 'duration', 'impersonated', 'ip', 'user_agent', 'target_id']),
    ).toEqual([
      'timestamp',
      'target_id',
      'team_id',
      'duration_ms',
      'ip',
      'user_agent',
      'impersonated',
      'request_json',
    ]);
    expect(orderColumns(['status', 'time'])).toEqual(['time', 'status']);
  });

  it('shows durations in ms under a second, else seconds with one decimal', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1000)).toBe('1.0 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(undefined)).toBe('');
  });

  it('shows bidirectional controls instead of obeying them', () => {
    expect(showControls('invoice\u202Efdp.exe')).toBe('invoice[U+202E]fdp.exe');
    expect(showControls('a\u2066b\u200Fc')).toBe('a[U+2066]b[U+200F]c');
  });
});
