import { describe, expect, it } from 'vitest';
import {
  archiveDay,
  archiveObjectKey,
  compareSequence,
  isDayClosed,
  parsePartition,
  partitionPrefix,
  quarantineKey,
  stagingKey,
} from '#shared/domain/archive.ts';
import { classifyChange, type EventChange } from '#shared/domain/stream.ts';

const TENANT = 'tnt_01jd0000000000000000000000';

describe('archive partitions', () => {
  it('partitions by tenant and the UTC day of receipt', () => {
    expect(archiveDay('2026-03-01T23:59:59.999Z')).toBe('2026-03-01');
    expect(archiveDay('2026-03-02T00:00:00.000Z')).toBe('2026-03-02');
    expect(partitionPrefix({ tenantId: TENANT, day: '2026-03-01' })).toBe(
      `tenant=${TENANT}/date=2026-03-01/`,
    );
  });

  it('never builds a key from an invalid tenant or day', () => {
    expect(() => partitionPrefix({ tenantId: '../other', day: '2026-03-01' })).toThrow();
    expect(() => partitionPrefix({ tenantId: TENANT, day: '2026-3-1' })).toThrow();
  });

  it('parses keys back, and only keys of the layout', () => {
    const partition = { tenantId: TENANT, day: '2026-03-01' };
    expect(parsePartition(stagingKey(partition, '42', ['a']))).toEqual(partition);
    expect(parsePartition(archiveObjectKey(partition, ['k']))).toEqual(partition);
    expect(parsePartition('quarantine/date=2026-03-01/x.json')).toBeNull();
    expect(parsePartition(`tenant=${TENANT}/other`)).toBeNull();
  });

  it('names a staged batch by its first sequence (sortable) and its events (retry-stable)', () => {
    const partition = { tenantId: TENANT, day: '2026-03-01' };
    const a = stagingKey(partition, '9', ['e1', 'e2']);
    expect(a).toBe(stagingKey(partition, '9', ['e1', 'e2']));
    expect(a).not.toBe(stagingKey(partition, '9', ['e1']));
    expect(a < stagingKey(partition, '10', ['e1', 'e2'])).toBe(true);
    expect(archiveObjectKey(partition, ['b', 'a'])).toBe(archiveObjectKey(partition, ['a', 'b']));
    expect(quarantineKey('2026-03-01', '7', 'x')).toMatch(
      /^quarantine\/date=2026-03-01\/0+7-[0-9a-f]{16}\.json$/,
    );
  });

  it('closes a day only after the stream can no longer deliver any of it', () => {
    const end = Date.parse('2026-03-02T00:00:00.000Z');
    expect(isDayClosed('2026-03-01', end + 25 * 3_600_000 - 1, 25)).toBe(false);
    expect(isDayClosed('2026-03-01', end + 25 * 3_600_000, 25)).toBe(true);
    expect(isDayClosed('2026-03-01', end, 0)).toBe(true);
  });

  it('compares stream sequence numbers as integers', () => {
    expect(compareSequence('9', '10')).toBe(-1);
    expect(compareSequence('100000000000000000000000001', '100000000000000000000000000')).toBe(1);
    expect(['10', '9', '100'].sort(compareSequence)).toEqual(['9', '10', '100']);
  });
});

describe('stream change classification', () => {
  const change = (eventName: string, fields: Partial<EventChange> = {}): EventChange => ({
    eventName,
    changedAttributes: null,
    byTtl: false,
    ...fields,
  });

  it('accepts inserts and TTL expiries', () => {
    expect(classifyChange(change('INSERT'))).toBe('insert');
    expect(classifyChange(change('REMOVE', { byTtl: true }))).toBe('expiry');
  });

  it('accepts a modification of the TTL attribute alone as a re-timing', () => {
    expect(classifyChange(change('MODIFY', { changedAttributes: ['expires_at'] }))).toBe('retiming');
    expect(classifyChange(change('MODIFY', { changedAttributes: [] }))).toBe('retiming');
  });

  it('flags every other change as tampering', () => {
    expect(classifyChange(change('REMOVE'))).toBe('tampering');
    expect(classifyChange(change('MODIFY', { changedAttributes: ['hash'] }))).toBe('tampering');
    expect(classifyChange(change('MODIFY', { changedAttributes: ['expires_at', 'note'] }))).toBe('tampering');
    expect(classifyChange(change('MODIFY', { changedAttributes: null, byTtl: true }))).toBe('tampering');
    expect(classifyChange(change('UNKNOWN', { byTtl: true }))).toBe('tampering');
  });
});
