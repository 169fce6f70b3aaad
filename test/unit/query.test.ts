import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import {
  type Condition,
  filtersFingerprint,
  inTeamScope,
  listQuerySchema,
  matchesConditions,
  planQuery,
  resolveWindow,
  TeamOutsideScopeError,
} from '#shared/domain/query.ts';

const window = { from: '2026-10-22T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
const plan = (raw: Record<string, string>, shards = 1, scope: readonly string[] | null = null) => {
  const { limit: _l, cursor: _c, ...filters } = listQuerySchema.parse(raw);
  return planQuery('tnt_a', shards, filters, window, scope);
};

describe('query planner', () => {
  it('serves a time-only query from the tenant time index', () => {
    expect(plan({})).toMatchObject({
      sources: [{ index: 'byTenantTime', partitionKey: 'tnt_a#0' }],
      conditions: [],
    });
  });

  it.each([
    [{ actor_id: 'u1' }, 'byActor', 'tnt_a#0#u1'],
    [{ actor_email: 'Ada@X.io' }, 'byActorEmail', 'tnt_a#0#ada@x.io'],
    [{ target_id: 't1' }, 'byTarget', 'tnt_a#0#t1'],
    [{ target_type: 'secret' }, 'byTargetType', 'tnt_a#0#secret'],
    [{ team_id: 'team_1' }, 'byTeam', 'tnt_a#0#team_1'],
    [{ action: 'member.removed' }, 'byAction', 'tnt_a#0#member.removed'],
    [{ action: 'secret.*' }, 'byActionCategory', 'tnt_a#0#secret'],
  ])('serves %j from an index key condition', (raw, index, partitionKey) => {
    const p = plan(raw);
    expect(p.sources).toEqual([{ index, partitionKey }]);
    expect(p.conditions).toEqual([]);
  });

  it('fans an action list out to one partition per action and shard', () => {
    const p = plan({ action: 'member.removed,secret.*' }, 2);
    expect(p.sources).toHaveLength(4);
    expect(p.conditions).toEqual([]);
  });

  it('serves a two-segment prefix from the action group index and a deeper one with a condition on it', () => {
    expect(plan({ action: 'secret.key.*' })).toMatchObject({
      sources: [{ index: 'byActionGroup', partitionKey: 'tnt_a#0#secret.key' }],
      conditions: [],
    });
    expect(plan({ action: 'secret.key.rsa.*' })).toMatchObject({
      sources: [{ index: 'byActionGroup', partitionKey: 'tnt_a#0#secret.key' }],
      conditions: [{ kind: 'action', anyOf: [], prefixes: ['secret.key.rsa.'] }],
    });
  });

  it.each([
    [{ area: 'billing' }, 'byArea', 'tnt_a#0#billing'],
    [{ method: 'POST' }, 'byMethod', 'tnt_a#0#POST'],
    [{ status: '403' }, 'byStatus', 'tnt_a#0#403'],
    [{ impersonated: 'true' }, 'byImpersonated', 'tnt_a#0#true'],
  ])('serves %j from its own index', (raw, index, partitionKey) => {
    expect(plan(raw)).toMatchObject({ sources: [{ index, partitionKey }], conditions: [] });
  });

  it('evaluates "not impersonated" as a condition on the time index', () => {
    expect(plan({ impersonated: 'false' })).toMatchObject({
      sources: [{ index: 'byTenantTime' }],
      conditions: [{ kind: 'key', index: 'byImpersonated', value: undefined }],
    });
  });

  it('keys on the most selective filter and evaluates the others as conditions', () => {
    const p = plan({
      target_id: 't1',
      target_type: 'doc',
      actor_id: 'u1',
      action: 'doc.*',
      status: '403',
      impersonated: 'true',
    });
    expect(p.sources).toEqual([{ index: 'byTarget', partitionKey: 'tnt_a#0#t1' }]);
    expect(p.conditions).toEqual([
      { kind: 'key', index: 'byActor', value: 'u1' },
      { kind: 'action', anyOf: [], prefixes: ['doc.'] },
      { kind: 'key', index: 'byTargetType', value: 'doc' },
      { kind: 'key', index: 'byStatus', value: '403' },
      { kind: 'key', index: 'byImpersonated', value: 'true' },
    ]);
  });

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
});

describe('query planner: team_id lists', () => {
  it('fans a list of teams out to one byTeam partition per team and shard', () => {
    expect(plan({ team_id: 'team_a,team_b' }, 2)).toEqual({
      sources: [
        { index: 'byTeam', partitionKey: 'tnt_a#0#team_a' },
        { index: 'byTeam', partitionKey: 'tnt_a#1#team_a' },
        { index: 'byTeam', partitionKey: 'tnt_a#0#team_b' },
        { index: 'byTeam', partitionKey: 'tnt_a#1#team_b' },
      ],
      conditions: [],
      ...window,
    });
  });

  it('reads each team once however often the list names it, and trims the entries', () => {
    expect(plan({ team_id: 'team_a, team_b,team_a' }).sources.map((s) => s.partitionKey)).toEqual([
      'tnt_a#0#team_a',
      'tnt_a#0#team_b',
    ]);
  });

  it('keys on a more selective filter and keeps the list as a condition', () => {
    expect(plan({ actor_id: 'u1', team_id: 'team_a,team_b' })).toMatchObject({
      sources: [{ index: 'byActor', partitionKey: 'tnt_a#0#u1' }],
      conditions: [{ kind: 'keyIn', index: 'byTeam', anyOf: ['team_a', 'team_b'] }],
    });
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

  it('accepts 50 teams', () => {
    const teams = Array.from({ length: 50 }, (_, i) => `t${i}`);
    expect(plan({ team_id: teams.join(',') }).sources).toHaveLength(50);
  });
});

describe('query planner: team scope', () => {
  const scope = ['team_a', 'team_b'];

  it('reads only the byTeam partitions of the scope when there is no other filter', () => {
    expect(plan({}, 2, scope)).toEqual({
      sources: [
        { index: 'byTeam', partitionKey: 'tnt_a#0#team_a' },
        { index: 'byTeam', partitionKey: 'tnt_a#1#team_a' },
        { index: 'byTeam', partitionKey: 'tnt_a#0#team_b' },
        { index: 'byTeam', partitionKey: 'tnt_a#1#team_b' },
      ],
      conditions: [],
      ...window,
    });
  });

  it.each([
    [{ target_id: 't1' }, { kind: 'key', index: 'byTarget', value: 't1' }],
    [{ actor_id: 'u1' }, { kind: 'key', index: 'byActor', value: 'u1' }],
    [{ actor_email: 'Ada@X.io' }, { kind: 'key', index: 'byActorEmail', value: 'ada@x.io' }],
    [{ action: 'member.removed' }, { kind: 'action', anyOf: ['member.removed'], prefixes: [] }],
    [{ action: 'secret.*' }, { kind: 'action', anyOf: [], prefixes: ['secret.'] }],
    [{ target_type: 'doc' }, { kind: 'key', index: 'byTargetType', value: 'doc' }],
    [{ status: '403' }, { kind: 'key', index: 'byStatus', value: '403' }],
    [{ area: 'billing' }, { kind: 'key', index: 'byArea', value: 'billing' }],
    [{ method: 'POST' }, { kind: 'key', index: 'byMethod', value: 'POST' }],
    [{ impersonated: 'true' }, { kind: 'key', index: 'byImpersonated', value: 'true' }],
  ])(
    'keeps the key condition on the teams for %j and evaluates the filter on what they hold',
    (raw, condition) => {
      const p = plan(raw, 1, scope);
      expect(p.sources).toEqual([
        { index: 'byTeam', partitionKey: 'tnt_a#0#team_a' },
        { index: 'byTeam', partitionKey: 'tnt_a#0#team_b' },
      ]);
      expect(p.conditions).toEqual([condition]);
    },
  );

  it('reads only the teams of a team_id filter within the scope (the intersection)', () => {
    expect(plan({ team_id: 'team_b' }, 1, ['team_a', 'team_b', 'team_c']).sources).toEqual([
      { index: 'byTeam', partitionKey: 'tnt_a#0#team_b' },
    ]);
    expect(plan({ team_id: 'team_c,team_a' }, 1, ['team_a', 'team_b', 'team_c']).sources).toEqual([
      { index: 'byTeam', partitionKey: 'tnt_a#0#team_c' },
      { index: 'byTeam', partitionKey: 'tnt_a#0#team_a' },
    ]);
  });

  it('refuses a team_id filter naming a team outside the scope, alone or in a list', () => {
    expect(() => plan({ team_id: 'team_z' }, 1, scope)).toThrow(TeamOutsideScopeError);
    try {
      plan({ team_id: 'team_a,team_z,team_y' }, 1, scope);
      expect.unreachable('a foreign team was planned');
    } catch (error) {
      expect(error).toBeInstanceOf(TeamOutsideScopeError);
      expect((error as TeamOutsideScopeError).teams).toEqual(['team_z', 'team_y']);
    }
  });

  it('never falls back to a tenant-wide index, even with an empty scope', () => {
    expect(plan({}, 1, []).sources).toEqual([]);
    expect(plan({ actor_id: 'u1' }, 1, []).sources).toEqual([]);
  });

  it('says whether an event is within a scope (an event without a team is in none)', () => {
    expect(inTeamScope({ team_id: 'team_a' }, scope)).toBe(true);
    expect(inTeamScope({ team_id: 'team_z' }, scope)).toBe(false);
    expect(inTeamScope({}, scope)).toBe(false);
    expect(inTeamScope({}, null)).toBe(true);
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

describe('conditions', () => {
  const event = {
    id: 'e1',
    tenant_id: 'tnt_a',
    action: 'secret.key.rotated',
    occurred_at: 'x',
    received_at: 'x',
    actor: { id: 'u1', email: 'Ada@X.io' },
    status: 403,
    impersonated: false,
    expires_at: null,
    hash: 'h',
  } satisfies StoredEvent;

  it('compares the same key values the indexes are built from', () => {
    expect(matchesConditions(event, [{ kind: 'key', index: 'byActorEmail', value: 'ada@x.io' }])).toBe(true);
    expect(matchesConditions(event, [{ kind: 'key', index: 'byStatus', value: '403' }])).toBe(true);
    expect(matchesConditions(event, [{ kind: 'key', index: 'byImpersonated', value: undefined }])).toBe(true);
    expect(matchesConditions(event, [{ kind: 'key', index: 'byTeam', value: 't' }])).toBe(false);
  });

  it('matches a list of key values, never an event without the value', () => {
    const inTeam = { ...event, team_id: 'team_b' };
    expect(matchesConditions(inTeam, [{ kind: 'keyIn', index: 'byTeam', anyOf: ['team_a', 'team_b'] }])).toBe(
      true,
    );
    expect(matchesConditions(inTeam, [{ kind: 'keyIn', index: 'byTeam', anyOf: ['team_a'] }])).toBe(false);
    expect(matchesConditions(event, [{ kind: 'keyIn', index: 'byTeam', anyOf: ['team_a'] }])).toBe(false);
  });

  it('matches actions exactly or by prefix', () => {
    expect(matchesConditions(event, [{ kind: 'action', anyOf: [], prefixes: ['secret.key.'] }])).toBe(true);
    expect(matchesConditions(event, [{ kind: 'action', anyOf: ['secret.key'], prefixes: ['auth.'] }])).toBe(
      false,
    );
  });
});

describe('query planner: exclude_action', () => {
  it('never picks an index: alone it reads the time index and leaves the actions out with a condition', () => {
    expect(plan({ exclude_action: 'audit_log.*' })).toMatchObject({
      sources: [{ index: 'byTenantTime', partitionKey: 'tnt_a#0' }],
      conditions: [{ kind: 'notAction', anyOf: [], prefixes: ['audit_log.'] }],
    });
  });

  it('lets `action` pick the index and filters the excluded actions on top of it', () => {
    const p = plan({ action: 'member.*', exclude_action: 'member.viewed,member.role.*' });
    expect(p.sources).toEqual([{ index: 'byActionCategory', partitionKey: 'tnt_a#0#member' }]);
    expect(p.conditions).toEqual([
      { kind: 'notAction', anyOf: ['member.viewed'], prefixes: ['member.role.'] },
    ]);
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

  it('keeps every event whose action is neither listed nor under a listed prefix', () => {
    const at = (action: string) =>
      ({
        id: 'e1',
        tenant_id: 'tnt_a',
        action,
        occurred_at: 'x',
        received_at: 'x',
        actor: { id: 'u1' },
        impersonated: false,
        expires_at: null,
        hash: 'h',
      }) satisfies StoredEvent;
    const exclude: Condition[] = [{ kind: 'notAction', anyOf: ['auth.login'], prefixes: ['audit_log.'] }];
    expect(matchesConditions(at('audit_log.viewed'), exclude)).toBe(false);
    expect(matchesConditions(at('auth.login'), exclude)).toBe(false);
    expect(matchesConditions(at('auth.logout'), exclude)).toBe(true);
    expect(matchesConditions(at('audit_logx.viewed'), exclude)).toBe(true);
  });
});
