/**
 * Reconciling the archive with the events table, on in-memory fakes: per-day comparison of stored
 * and archived ids, open and cold days, and restaging the missing events as the archiver stages
 * them (gzip NDJSON of the API's JSON, ≤ 1,000 per object, keys that a repeat overwrites).
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SealedEvent } from '#shared/domain/digest.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import {
  type CheckRange,
  checkArchive,
  daysBetween,
  RESTAGE_CHUNK,
  restageKey,
  restageMissing,
} from '#shared/usecases/archive-reconcile.ts';
import type {
  ArchivedEvent,
  ArchiveIds,
  ArchiveObject,
  ObjectStatus,
  ReceivedEvents,
  StoredEvents,
} from '#shared/usecases/ports/archive.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
/** 2025-01-03 closes at 2025-01-05T01:00Z (25 h after it ended); 2025-01-04 is still open. */
const NOW = Date.parse('2025-01-05T12:00:00.000Z');

const stored = (id: string, receivedAt: string): StoredEvent =>
  ({
    id,
    tenant_id: TENANT,
    received_at: receivedAt,
    action: 'auth.login',
    hash: `h-${id}`,
  }) as unknown as StoredEvent;

/** The events table: the bySeal view (received in (start, end]) and whole events by id. */
class FakeTable implements ReceivedEvents, StoredEvents {
  readonly queries: [string, number, string, string][] = [];
  readonly gets: string[][] = [];
  constructor(private readonly events: StoredEvent[]) {}

  async receivedBetween(
    tenantId: string,
    shards: number,
    start: string,
    end: string,
  ): Promise<SealedEvent[]> {
    this.queries.push([tenantId, shards, start, end]);
    return this.events
      .filter((e) => e.received_at > start && e.received_at <= end)
      .map((e) => ({ id: e.id, received_at: e.received_at, hash: e.hash }));
  }

  async storedEvents(_tenantId: string, ids: readonly string[]): Promise<Map<string, StoredEvent>> {
    this.gets.push([...ids]);
    return new Map(this.events.filter((e) => ids.includes(e.id)).map((e) => [e.id, e]));
  }
}

class FakeArchive implements ArchiveIds {
  constructor(private readonly objects: { object: ArchiveObject; status: ObjectStatus; ids: string[] }[]) {}

  async listObjects(_tenantId: string, from: string, to: string): Promise<ArchiveObject[]> {
    return this.objects.map((o) => o.object).filter((o) => o.date >= from && o.date <= to);
  }

  async status(key: string): Promise<ObjectStatus> {
    return this.find(key).status;
  }

  async *events(key: string): AsyncGenerator<ArchivedEvent> {
    for (const id of this.find(key).ids) yield { id, tenant_id: TENANT };
  }

  private find(key: string) {
    const found = this.objects.find((o) => o.object.key === key);
    if (!found) throw new Error(`no ${key}`);
    return found;
  }
}

const archived = (
  date: string,
  ids: string[],
  storageClass = 'STANDARD',
  state: ObjectStatus['state'] = 'readable',
) => ({
  object: {
    key: `tenant=${TENANT}/date=${date}/events-${date}.ndjson.gz`,
    date,
    size: 10,
    storageClass,
    lastModified: undefined,
  },
  status: { state, storageClass } as ObjectStatus,
  ids,
});

const range = (fromDate: string, toDate: string): CheckRange => ({
  tenantId: TENANT,
  fromDate,
  toDate,
  shards: 4,
  nowMs: NOW,
  closeAfterHours: 25,
});

class MemoryStaging {
  readonly objects = new Map<string, { lines: Record<string, unknown>[]; contentType: string }>();
  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    const lines = gunzipSync(body).toString('utf8').trim().split('\n');
    this.objects.set(key, { lines: lines.map((l) => JSON.parse(l)), contentType });
  }
}

describe('daysBetween', () => {
  it('lists every UTC day of the range, across a month end', () => {
    expect(daysBetween('2025-01-30', '2025-02-02')).toEqual([
      '2025-01-30',
      '2025-01-31',
      '2025-02-01',
      '2025-02-02',
    ]);
  });
});

describe('checkArchive', () => {
  it('queries each whole day of receipt and reports stored, archived, missing and extra ids', async () => {
    const table = new FakeTable([
      stored('e1', '2025-01-01T00:00:00.000Z'),
      stored('e2', '2025-01-01T12:00:00.000Z'),
      stored('e3', '2025-01-01T23:59:59.999Z'),
      stored('e4', '2025-01-02T00:00:00.000Z'),
    ]);
    const archive = new FakeArchive([
      archived('2025-01-01', ['e1', 'expired']),
      archived('2025-01-02', ['e4']),
    ]);

    const checks = await checkArchive({ table, archive }, range('2025-01-01', '2025-01-02'));

    expect(table.queries).toEqual([
      [TENANT, 4, '2024-12-31T23:59:59.999Z', '2025-01-01T23:59:59.999Z'],
      [TENANT, 4, '2025-01-01T23:59:59.999Z', '2025-01-02T23:59:59.999Z'],
    ]);
    expect(checks).toEqual([
      {
        day: '2025-01-01',
        state: 'missing',
        stored: 3,
        archived: 2,
        missing: ['e2', 'e3'],
        extra: 1,
        unreadable: 0,
      },
      { day: '2025-01-02', state: 'complete', stored: 1, archived: 1, missing: [], extra: 0, unreadable: 0 },
    ]);
  });

  it('does not count events of a day that is still open as missing', async () => {
    const table = new FakeTable([stored('late', '2025-01-04T10:00:00.000Z')]);

    const [check] = await checkArchive(
      { table, archive: new FakeArchive([]) },
      range('2025-01-04', '2025-01-04'),
    );

    expect(check).toMatchObject({ day: '2025-01-04', state: 'open', stored: 1, missing: ['late'] });
  });

  it('reports a day with an object in cold storage as needing a restore, without reading it', async () => {
    const table = new FakeTable([stored('e1', '2025-01-01T01:00:00.000Z')]);
    const archive = new FakeArchive([
      archived('2025-01-01', ['e1'], 'DEEP_ARCHIVE', 'archived'),
      archived('2025-01-02', ['e9'], 'GLACIER', 'readable'),
    ]);

    const checks = await checkArchive({ table, archive }, range('2025-01-01', '2025-01-02'));

    expect(checks[0]).toEqual({
      day: '2025-01-01',
      state: 'needs-restore',
      stored: 1,
      archived: 0,
      missing: [],
      extra: 0,
      unreadable: 1,
    });
    expect(checks[1]).toMatchObject({ state: 'complete', archived: 1, extra: 1 });
  });
});

describe('restageMissing', () => {
  it('stages the missing events of closed days as gzip NDJSON in their partition, skipping gone ones', async () => {
    const e2 = stored('e2', '2025-01-01T12:00:00.000Z');
    const table = new FakeTable([e2]);
    const staging = new MemoryStaging();
    const checks = [
      {
        day: '2025-01-01',
        state: 'missing' as const,
        stored: 3,
        archived: 1,
        missing: ['e2', 'expired'],
        extra: 0,
        unreadable: 0,
      },
      {
        day: '2025-01-04',
        state: 'open' as const,
        stored: 1,
        archived: 0,
        missing: ['late'],
        extra: 0,
        unreadable: 0,
      },
    ];

    const result = await restageMissing({ table, staging }, TENANT, checks);

    const key = restageKey({ tenantId: TENANT, day: '2025-01-01' }, ['e2']);
    expect(key).toMatch(new RegExp(`^tenant=${TENANT}/date=2025-01-01/restage-[0-9a-f]{16}\\.ndjson\\.gz$`));
    expect(result).toEqual({ objects: [{ day: '2025-01-01', key, events: 1 }], gone: 1 });
    expect(table.gets).toEqual([['e2', 'expired']]);
    expect(staging.objects.get(key)).toEqual({
      lines: [JSON.parse(JSON.stringify(e2))],
      contentType: 'application/gzip',
    });
  });

  it('splits a day into objects of at most 1,000 events, with the same keys on a repeat', async () => {
    const events = Array.from({ length: RESTAGE_CHUNK + 5 }, (_, i) =>
      stored(`e${String(i).padStart(4, '0')}`, '2025-01-02T03:00:00.000Z'),
    );
    const table = new FakeTable(events);
    const staging = new MemoryStaging();
    const checks = [
      {
        day: '2025-01-02',
        state: 'missing' as const,
        stored: events.length,
        archived: 0,
        missing: events.map((e) => e.id),
        extra: 0,
        unreadable: 0,
      },
    ];

    const first = await restageMissing({ table, staging }, TENANT, checks);
    const second = await restageMissing({ table, staging }, TENANT, checks);

    expect(first.objects.map((o) => o.events)).toEqual([RESTAGE_CHUNK, 5]);
    expect(second.objects).toEqual(first.objects);
    expect(staging.objects.size).toBe(2);
    const ids = [...staging.objects.values()].flatMap((o) => o.lines.map((l) => l.id));
    expect(ids).toEqual(events.map((e) => e.id));
  });
});
