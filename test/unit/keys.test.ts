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
    expect(keys[idx.byActorEmail.partitionKey]).toBe('tnt_a#0#ada@example.com');
    expect(keys[idx.byAction.partitionKey]).toBe('tnt_a#0#secret.read');
    expect(keys[idx.byActionCategory.partitionKey]).toBe('tnt_a#0#secret');
    expect(keys[idx.byTarget.partitionKey]).toBe('tnt_a#0#sec_9');
    expect(keys[idx.byTargetType.partitionKey]).toBe('tnt_a#0#secret');
    expect(keys[idx.byTeam.partitionKey]).toBeUndefined();
  });

  it('spreads ids evenly over shards', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[shardOf(`event-${i}`, 8)] += 1;
    for (const c of counts) expect(c).toBeGreaterThan(9_000);
    expect(fnv1a('a')).toBe(0xe40c292c);
  });

  it('fans a query out over every shard of the tenant', () => {
    expect(sourcesFor('tnt_a', 3, 'byActorEmail', 'Ada@Example.com')).toEqual([
      { index: 'byActorEmail', partitionKey: 'tnt_a#0#ada@example.com' },
      { index: 'byActorEmail', partitionKey: 'tnt_a#1#ada@example.com' },
      { index: 'byActorEmail', partitionKey: 'tnt_a#2#ada@example.com' },
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
