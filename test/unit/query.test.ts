import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import {
  filtersFingerprint,
  listQuerySchema,
  matchesConditions,
  planQuery,
  resolveWindow,
} from '#shared/domain/query.ts';

const window = { from: '2026-10-22T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
const plan = (raw: Record<string, string>, shards = 1) => {
  const { limit: _l, cursor: _c, ...filters } = listQuerySchema.parse(raw);
  return planQuery('tnt_a', shards, filters, window);
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

  it('matches actions exactly or by prefix', () => {
    expect(matchesConditions(event, [{ kind: 'action', anyOf: [], prefixes: ['secret.key.'] }])).toBe(true);
    expect(matchesConditions(event, [{ kind: 'action', anyOf: ['secret.key'], prefixes: ['auth.'] }])).toBe(
      false,
    );
  });
});
