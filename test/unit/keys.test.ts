import { describe, expect, it } from 'vitest';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import {
  eventKeys,
  eventSortKey,
  fnv1a,
  occurredAtOfSortKey,
  shardOf,
  sortKeyRange,
  sourcesFor,
} from '#shared/domain/keys.ts';
import { kindId, kindOf } from '#shared/domain/kinds.ts';

const event = {
  id: '01jd000000000000000000000a',
  tenant_id: 'tnt_a',
  action: 'secret.read',
  occurred_at: '2026-11-21T12:00:00.000Z',
  received_at: '2026-11-21T12:00:00.000Z',
  actor: { id: 'user_1', email: 'Ada@Example.com' },
  target: { type: 'secret', id: 'sec_9' },
  impersonated: false,
  expires_at: null,
  hash: 'h',
} satisfies StoredEvent;

describe('event key builder', () => {
  it('keys the item by tenant and id and sorts every index by time then id', () => {
    const keys = eventKeys(event, 1);
    expect(keys.pk).toBe('tnt_a#01jd000000000000000000000a');
    expect(keys.sk).toBe('2026-11-21T12:00:00.000Z#01jd000000000000000000000a');
  });

  it('builds one partition key per access pattern that applies, prefixed by tenant and shard', () => {
    const keys = eventKeys(event, 1);
    const idx = EVENTS_TABLE.indexes;
    expect(keys[idx.byTenantTime.partitionKey]).toBe('tnt_a#0');
    expect(keys[idx.byActor.partitionKey]).toBe('tnt_a#0#user_1');
    expect(keys[idx.byTarget.partitionKey]).toBe('tnt_a#0#sec_9');
    expect(keys[idx.byKind.partitionKey]).toBe(`tnt_a#0#${kindId(kindOf(event))}`);
    // Sparse: no team, neither impersonated nor failed.
    expect(keys[idx.byTeam.partitionKey]).toBeUndefined();
    expect(keys[idx.byFlag.partitionKey]).toBeUndefined();
    expect(eventKeys({ ...event, status: 'failure' }, 1)[idx.byFlag.partitionKey]).toBe('tnt_a#0#fail');
    expect(eventKeys({ ...event, impersonated: true }, 1)[idx.byFlag.partitionKey]).toBe('tnt_a#0#imp');
    expect(eventKeys({ ...event, impersonated: true, status: 'failure' }, 1)[idx.byFlag.partitionKey]).toBe(
      'tnt_a#0#imp+fail',
    );
    expect(eventKeys({ ...event, status: 500 }, 1)[idx.byFlag.partitionKey]).toBeUndefined();
    // One key per index that applies, plus the table key and the two sort keys: nothing else.
    expect(Object.keys(keys).sort()).toEqual(
      ['pk', 'sk', 'seal_sk', 'time_pk', 'actor_pk', 'target_pk', 'kind_pk', 'seal_pk'].sort(),
    );
  });

  it('names a kind by its low-cardinality fields, whatever else differs', () => {
    const kind = kindId(kindOf(event));
    expect(kind).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(kindId(kindOf({ ...event, actor: { id: 'user_2' }, target: { type: 'secret', id: 'x' } }))).toBe(
      kind,
    );
    for (const other of [
      { ...event, action: 'secret.written' },
      { ...event, status: 'failure' as const },
      { ...event, status: 500 },
      { ...event, area: 'secrets' },
      { ...event, method: 'read' },
      { ...event, target: { type: 'key', id: 'sec_9' } },
      { ...event, actor: { ...event.actor, type: 'api_key' as const } },
    ])
      expect(kindId(kindOf(other))).not.toBe(kind);
    // An absent field is not an empty one.
    expect(kindId({ action: 'a.b', area: '' })).not.toBe(kindId({ action: 'a.b' }));
  });

  it('spreads ids evenly over shards', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[shardOf(`event-${i}`, 8)] += 1;
    for (const c of counts) expect(c).toBeGreaterThan(9_000);
    expect(fnv1a('a')).toBe(0xe40c292c);
  });

  it('fans a query out over every shard of the tenant', () => {
    expect(sourcesFor('tnt_a', 3, 'byActor', 'user_1')).toEqual([
      { index: 'byActor', partitionKey: 'tnt_a#0#user_1' },
      { index: 'byActor', partitionKey: 'tnt_a#1#user_1' },
      { index: 'byActor', partitionKey: 'tnt_a#2#user_1' },
    ]);
  });

  it('bounds a time window inclusively on both ends', () => {
    const { low, high } = sortKeyRange('2026-11-21T00:00:00.000Z', '2026-11-21T12:00:00.000Z');
    const sk = eventKeys(event, 1).sk as string;
    expect(sk >= low && sk <= high).toBe(true);
    expect('2026-11-21T12:00:00.001Z#a' > high).toBe(true);
  });
});

describe('occurredAtOfSortKey', () => {
  it('reads the occurred_at back out of an event sort key', () => {
    const sk = eventSortKey(event.occurred_at, event.id);
    expect(occurredAtOfSortKey(sk)).toBe(event.occurred_at);
  });
});
