import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import { flagOf } from '#shared/domain/keys.ts';
import { kindOf } from '#shared/domain/kinds.ts';
import {
  candidatePaths,
  choosePath,
  type EventFilters,
  filtersFingerprint,
  flagValues,
  inTeamScope,
  kindMatches,
  listQuerySchema,
  MAX_PLAN_PARTITIONS,
  matchesFilters,
  resolveWindow,
  TeamOutsideScopeError,
} from '#shared/domain/query.ts';

const window = { from: '2026-10-22T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
const filtersOf = (raw: Record<string, string>): EventFilters => {
  const { limit: _l, cursor: _c, ...filters } = listQuerySchema.parse(raw);
  return filters;
};
const paths = (raw: Record<string, string>, scope: readonly string[] | null = null) =>
  candidatePaths(filtersOf(raw), scope);

const event = {
  id: 'e1',
  tenant_id: 'tnt_a',
  action: 'secret.key.rotated',
  occurred_at: 'x',
  received_at: 'x',
  actor: { id: 'u1', email: 'Ada@X.io', type: 'api_key' },
  target: { id: 't1', type: 'secret' },
  team_id: 'team_b',
  area: 'secrets',
  method: 'update',
  status: 403,
  impersonated: false,
  expires_at: null,
  hash: 'h',
} satisfies StoredEvent;

describe('candidate paths', () => {
  it('always offers the tenant time index, and nothing else without filters', () => {
    expect(paths({})).toEqual([{ path: 'time', values: [''] }]);
  });

  it.each([
    [{ actor_id: 'u1' }, { path: 'actor', values: ['u1'] }],
    [{ actor_id: 'u1, u2,u1' }, { path: 'actor', values: ['u1', 'u2'] }],
    [{ actor_email: 'Ada@X.io' }, { path: 'email' }],
    [{ target_id: 't1' }, { path: 'target', values: ['t1'] }],
    [{ team_id: 'team_a,team_b' }, { path: 'team', values: ['team_a', 'team_b'] }],
    [{ impersonated: 'true' }, { path: 'flag', values: ['imp', 'imp+fail'] }],
    [{ action: 'secret.*' }, { path: 'kind' }],
    [{ target_type: 'doc,project' }, { path: 'kind' }],
    [{ actor_type: 'api_key' }, { path: 'kind' }],
    [{ status: '403' }, { path: 'kind' }],
    [{ area: 'billing' }, { path: 'kind' }],
    [{ method: 'POST' }, { path: 'kind' }],
    [{ exclude_action: 'audit_log.*' }, { path: 'kind' }],
  ])('offers %j a path of its own', (raw, candidate) => {
    expect(paths(raw)).toEqual([{ path: 'time', values: [''] }, candidate]);
  });

  it('offers nothing but time for "not impersonated" (only impersonated or failed events are flagged)', () => {
    expect(paths({ impersonated: 'false' })).toEqual([{ path: 'time', values: [''] }]);
  });

  it.each([
    [{ status: 'failure' }, ['fail', 'imp+fail']],
    [{ status: 'failure', impersonated: 'false' }, ['fail']],
    [{ status: 'failure', impersonated: 'true' }, ['imp+fail']],
    [{ status: 'success', impersonated: 'true' }, ['imp']],
    [{ status: '500', impersonated: 'true' }, ['imp']],
    [{ status: 'success' }, undefined],
    [{ status: 'success', impersonated: 'false' }, undefined],
  ])('reads %j from the flag partitions %j', (raw, values) => {
    expect(paths(raw).find((c) => c.path === 'flag')?.values).toEqual(values);
  });

  it('flags exactly the impersonated or failed events, each under the one value its filters read', () => {
    const cases = [
      [{ impersonated: false, status: 'success' }, undefined],
      [{ impersonated: false, status: 403 }, undefined],
      [{ impersonated: false, status: 'failure' }, 'fail'],
      [{ impersonated: true, status: 'success' }, 'imp'],
      [{ impersonated: true, status: 'failure' }, 'imp+fail'],
    ] as const;
    for (const [flagged, flag] of cases) {
      expect(flagOf(flagged)).toBe(flag);
      // Every filter pair that matches the event reads the partition it is in.
      for (const impersonated of [undefined, 'true', 'false'] as const) {
        for (const status of [undefined, 'success', 'failure', '403'] as const) {
          const filters = { ...(impersonated ? { impersonated } : {}), ...(status ? { status } : {}) };
          const values = flagValues(filters);
          const matches = matchesFilters({ ...event, ...flagged } as StoredEvent, filters);
          if (matches && values !== undefined) expect(values).toContain(flag);
          if (values !== undefined && flag === undefined) expect(matches).toBe(false);
        }
      }
    }
  });

  it('offers every filter that has a path, once', () => {
    expect(
      paths({ target_id: 't1', actor_id: 'u1', action: 'doc.*', status: '403', impersonated: 'true' }).map(
        (c) => c.path,
      ),
    ).toEqual(['time', 'actor', 'target', 'kind', 'flag']);
  });

  it("offers a team admin's teams like any filter, and only teams within the scope", () => {
    const scope = ['team_a', 'team_b'];
    expect(paths({}, scope)).toEqual([
      { path: 'time', values: [''] },
      { path: 'team', values: ['team_a', 'team_b'] },
    ]);
    expect(paths({ team_id: 'team_b' }, ['team_a', 'team_b', 'team_c'])).toContainEqual({
      path: 'team',
      values: ['team_b'],
    });
    expect(paths({}, [])).toContainEqual({ path: 'team', values: [] });
  });

  it('refuses a team_id filter naming a team outside the scope, alone or in a list', () => {
    const scope = ['team_a', 'team_b'];
    expect(() => paths({ team_id: 'team_z' }, scope)).toThrow(TeamOutsideScopeError);
    try {
      paths({ team_id: 'team_a,team_z,team_y' }, scope);
      expect.unreachable('a foreign team was planned');
    } catch (error) {
      expect(error).toBeInstanceOf(TeamOutsideScopeError);
      expect((error as TeamOutsideScopeError).teams).toEqual(['team_z', 'team_y']);
    }
  });
});

describe('choosing a path', () => {
  it('takes the path that reads the smallest share of the events', () => {
    expect(
      choosePath(
        [
          { path: 'time', partitions: 1, share: 1 },
          { path: 'kind', partitions: 2, share: 0.02 },
          { path: 'team', partitions: 1, share: 0.2 },
        ],
        100,
      ),
    ).toBe('kind');
    expect(
      choosePath(
        [
          { path: 'time', partitions: 1, share: 1 },
          { path: 'kind', partitions: 2, share: 0.3 },
          { path: 'team', partitions: 1, share: 0.05 },
        ],
        100,
      ),
    ).toBe('team');
  });

  it('reads the sparser of two paths even when the other is one partition: it skips more non-matches', async () => {
    // A busy actor (7.5 % of events) and failures (5 %, over 21 kinds): through the actor, 1 in
    // 20 is a failure; through the failures, 1 in 13 is the actor's.
    expect(
      choosePath(
        [
          { path: 'time', partitions: 1, share: 1 },
          { path: 'actor', partitions: 1, share: 0.075 },
          { path: 'kind', partitions: 21, share: 0.05 },
        ],
        100,
      ),
    ).toBe('kind');
  });

  it('weighs a wide fan-out against reading a few more items: `status=success` reads the time index', () => {
    // 95 % of the events, over 40 kinds × 4 shards: one time index read with 5 % discarded is cheaper.
    expect(
      choosePath(
        [
          { path: 'time', partitions: 4, share: 1 },
          { path: 'kind', partitions: 160, share: 0.95 },
        ],
        100,
      ),
    ).toBe('time');
    // A rare kind is worth its partitions.
    expect(
      choosePath(
        [
          { path: 'time', partitions: 4, share: 1 },
          { path: 'kind', partitions: 8, share: 0.01 },
        ],
        100,
      ),
    ).toBe('kind');
  });

  it('takes an id path nobody estimated over the time index, and a kind path with no kinds (it reads nothing)', () => {
    expect(
      choosePath(
        [
          { path: 'time', partitions: 1, share: 1 },
          { path: 'actor', partitions: 1 },
        ],
        100,
      ),
    ).toBe('actor');
    expect(
      choosePath(
        [
          { path: 'time', partitions: 1, share: 1 },
          { path: 'kind', partitions: 0, share: 0 },
        ],
        100,
      ),
    ).toBe('kind');
  });

  it(`never takes a path of more than ${MAX_PLAN_PARTITIONS} partitions (a team admin's 50 teams × 64 shards)`, () => {
    expect(
      choosePath(
        [
          { path: 'time', partitions: 64, share: 1 },
          { path: 'team', partitions: 3_200 },
        ],
        100,
      ),
    ).toBe('time');
  });
});

describe('what a filter means for one event', () => {
  it.each([
    [{ actor_id: 'u1' }, true],
    [{ actor_id: 'u2,u1' }, true],
    [{ actor_id: 'u2' }, false],
    [{ actor_email: 'ada@x.IO' }, true],
    [{ actor_email: 'bob@x.io' }, false],
    [{ actor_type: 'api_key' }, true],
    [{ actor_type: 'user,service' }, false],
    [{ target_id: 't1' }, true],
    [{ target_type: 'doc,secret' }, true],
    [{ target_type: 'doc' }, false],
    [{ team_id: 'team_a,team_b' }, true],
    [{ team_id: 'team_a' }, false],
    [{ area: 'secrets' }, true],
    [{ method: 'update' }, true],
    [{ method: 'delete' }, false],
    [{ status: '403' }, true],
    [{ status: 'failure' }, false],
    [{ impersonated: 'false' }, true],
    [{ impersonated: 'true' }, false],
    [{ action: 'secret.key.*' }, true],
    [{ action: 'secret.key' }, false],
    [{ action: 'auth.*,secret.key.rotated' }, true],
    [{ exclude_action: 'secret.*' }, false],
    [{ exclude_action: 'secret.read,audit_log.*' }, true],
  ])('%j → %s', (raw, expected) => {
    expect(matchesFilters(event, filtersOf(raw))).toBe(expected);
  });

  it('never matches an event without the field a filter names', () => {
    const bare = { ...event, actor: { id: 'u1' }, target: undefined, team_id: undefined, status: undefined };
    for (const raw of [
      { actor_type: 'user' },
      { target_type: 'doc' },
      { team_id: 't' },
      { status: 'success' },
    ] as Record<string, string>[])
      expect(matchesFilters(bare, filtersOf(raw))).toBe(false);
  });

  it('applies the team scope to every event, whatever else matches', () => {
    expect(matchesFilters(event, {}, ['team_b'])).toBe(true);
    expect(matchesFilters(event, {}, ['team_a'])).toBe(false);
    expect(matchesFilters({ ...event, team_id: undefined }, {}, ['team_a'])).toBe(false);
    expect(matchesFilters(event, {}, [])).toBe(false);
  });

  it('says whether an event is within a scope (an event without a team is in none)', () => {
    expect(inTeamScope({ team_id: 'team_a' }, ['team_a'])).toBe(true);
    expect(inTeamScope({ team_id: 'team_z' }, ['team_a'])).toBe(false);
    expect(inTeamScope({}, ['team_a'])).toBe(false);
    expect(inTeamScope({}, null)).toBe(true);
  });

  it('matches a kind exactly when every event of that kind matches the kind-field filters', () => {
    const kind = kindOf(event);
    for (const raw of [
      { action: 'secret.*' },
      { area: 'secrets', method: 'update' },
      { status: '403', actor_type: 'api_key,user' },
      { target_type: 'secret', exclude_action: 'auth.*' },
      { action: 'auth.*' },
      { status: 'failure' },
      { exclude_action: 'secret.key.*' },
    ] as Record<string, string>[]) {
      expect(kindMatches(kind, filtersOf(raw))).toBe(matchesFilters(event, filtersOf(raw)));
    }
  });
});

describe('filter syntax', () => {
  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '0x10' }, 'limit'],
    [{ limit: '1e2' }, 'limit'],
    [{ limit: '10.0' }, 'limit'],
    [{ action: 'Secret.*' }, 'action'],
    [{ action: 'secret*' }, 'action'],
    [{ from: 'last week' }, 'from'],
    [{ impersonated: 'yes' }, 'impersonated'],
    [{ bogus: '1' }, ''],
  ])('rejects %j', (raw, field) => {
    const result = listQuerySchema.safeParse(raw);
    expect(result.success).toBe(false);
    if (field !== '') expect(result.error?.issues[0]?.path[0]).toBe(field);
  });

  it.each([
    ['51 teams', Array.from({ length: 51 }, (_, i) => `t${i}`).join(',')],
    ['an empty entry', 'team_a,,team_b'],
    ['a trailing comma', 'team_a,'],
    ['a control character', 'team_a,te\u0001am'],
  ])('rejects a list with %s', (_name, teamId) => {
    const result = listQuerySchema.safeParse({ team_id: teamId });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe('team_id');
  });

  it.each([
    ['51 actors', { actor_id: Array.from({ length: 51 }, (_, i) => `u${i}`).join(',') }, 'actor_id'],
    ['an empty target type', { target_type: 'doc,,project' }, 'target_type'],
    ['an unknown actor type', { actor_type: 'user,robot' }, 'actor_type'],
  ])('rejects %s', (_name, raw, field) => {
    const result = listQuerySchema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });
  it('accepts the syntax of `action` and refuses anything else, and more than 20 entries', () => {
    expect(listQuerySchema.safeParse({ exclude_action: 'audit_log.*, auth.login' }).success).toBe(true);
    expect(listQuerySchema.safeParse({ exclude_action: 'Audit_Log' }).success).toBe(false);
    expect(listQuerySchema.safeParse({ exclude_action: '*' }).success).toBe(false);
    const many = Array.from({ length: 21 }, (_, i) => `a.b${i}`).join(',');
    expect(listQuerySchema.safeParse({ exclude_action: many }).success).toBe(false);
  });

  it('is bound into the fingerprint, so a cursor does not carry over to another exclusion', () => {
    const base = { action: ['member.*'] };
    expect(filtersFingerprint({ ...base, exclude_action: ['audit_log.*'] })).not.toBe(
      filtersFingerprint(base),
    );
    expect(filtersFingerprint({ ...base, exclude_action: ['audit_log.*'] })).not.toBe(
      filtersFingerprint({ ...base, exclude_action: ['audit_log.viewed'] }),
    );
  });
});

describe('time window', () => {
  it('defaults to the last 30 days', () => {
    expect(resolveWindow({}, Date.parse('2026-11-21T00:00:00Z'))).toEqual(window);
  });

  it('rejects a window that ends before it starts', () => {
    expect(resolveWindow({ from: '2026-11-21T00:00:00Z', to: '2026-11-20T00:00:00Z' }, 0)).toHaveProperty(
      'error',
    );
  });
});

describe('filters fingerprint', () => {
  it('ignores key order and differs for different filters', () => {
    expect(filtersFingerprint({ actor_id: 'a', team_id: 't' })).toBe(
      filtersFingerprint({ team_id: 't', actor_id: 'a' }),
    );
    expect(filtersFingerprint({ actor_id: 'a' })).not.toBe(filtersFingerprint({ actor_id: 'b' }));
  });

  it('binds the team scope: none, another, and the same in another order', () => {
    const filters = { action: ['member.*'] };
    const scoped = filtersFingerprint(filters, ['team_a', 'team_b']);
    expect(scoped).not.toBe(filtersFingerprint(filters));
    expect(scoped).not.toBe(filtersFingerprint(filters, ['team_a']));
    expect(scoped).not.toBe(filtersFingerprint(filters, ['team_a', 'team_c']));
    expect(scoped).toBe(filtersFingerprint(filters, ['team_b', 'team_a']));
    // An unscoped reader's fingerprint is the filters' alone (cursors made before scopes still open).
    expect(filtersFingerprint(filters, null)).toBe(filtersFingerprint(filters));
  });
});
