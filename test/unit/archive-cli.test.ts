/**
 * The archive CLI's contract, run in-process against an in-memory archive: argument checking and
 * exit codes, bucket resolution, all-or-nothing reads (restores requested, nothing on stdout, 75),
 * that stdout carries only the events while stderr never carries their content, and check /
 * restage against an in-memory events table and staging bucket.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestoreTier } from '#shared/adapters/archive-reader.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import type { ArchivedEvent, ArchiveObject, ObjectStatus } from '#shared/usecases/ports/archive.ts';
import type { ArchiveSource, CliIo, ReaderTarget, Reconciler, ReconcileTarget } from '../../cli/archive.ts';
import { localS3Endpoint, main, USAGE } from '../../cli/archive.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const OTHER_TENANT = 'tnt_01jd0000000000000000000001';
const SECRET = 'do-not-log-me';
const NOW = new Date('2026-01-10T08:00:00.000Z');

const key = (date: string, hash: string) => `tenant=${TENANT}/date=${date}/events-${hash}.ndjson.gz`;
const event = (id: string, occurredAt: string, tenantId = TENANT): ArchivedEvent => ({
  id,
  tenant_id: tenantId,
  occurred_at: occurredAt,
  action: 'auth.login',
  metadata: { note: SECRET },
});

interface StoredObject {
  object: ArchiveObject;
  status: ObjectStatus;
  events: ArchivedEvent[];
}

/** An in-memory archive with the reader's surface, recording what the CLI asked of it. */
class FakeArchive implements ArchiveSource {
  readonly listed: [string, string, string][] = [];
  readonly headed: string[] = [];
  readonly restores: [string, { tier: RestoreTier; days: number }][] = [];
  readonly opened: string[] = [];
  failList: Error | undefined;

  constructor(private readonly stored: StoredObject[]) {}

  async listObjects(tenantId: string, fromDate: string, toDate: string): Promise<ArchiveObject[]> {
    this.listed.push([tenantId, fromDate, toDate]);
    if (this.failList) throw this.failList;
    return this.stored.map((s) => s.object).filter((o) => o.date >= fromDate && o.date <= toDate);
  }

  async status(objectKey: string): Promise<ObjectStatus> {
    this.headed.push(objectKey);
    return this.find(objectKey).status;
  }

  async requestRestore(objectKey: string, options: { tier: RestoreTier; days: number }) {
    this.restores.push([objectKey, options]);
    return this.find(objectKey).status.state === 'restoring' ? 'already-in-progress' : 'requested';
  }

  async *events(objectKey: string): AsyncGenerator<ArchivedEvent> {
    this.opened.push(objectKey);
    yield* this.find(objectKey).events;
  }

  private find(objectKey: string): StoredObject {
    const found = this.stored.find((s) => s.object.key === objectKey);
    if (!found) throw new Error(`no ${objectKey}`);
    return found;
  }
}

const stored = (
  date: string,
  hash: string,
  status: ObjectStatus,
  events: ArchivedEvent[] = [],
): StoredObject => ({
  object: { key: key(date, hash), date, size: 100, storageClass: status.storageClass, lastModified: NOW },
  status,
  events,
});

const readable = (storageClass = 'STANDARD'): ObjectStatus => ({ state: 'readable', storageClass });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  targets: ReaderTarget[];
  reconcileTargets: ReconcileTarget[];
  closed: number;
}

const run = async (
  argv: string[],
  archive = new FakeArchive([]),
  env: Record<string, string | undefined> = { ARCHIVE_BUCKET: 'env-bucket' },
  reconciler?: Omit<Reconciler, 'close'>,
): Promise<Run> => {
  const out = {
    stdout: '',
    stderr: '',
    targets: [] as ReaderTarget[],
    reconcileTargets: [] as ReconcileTarget[],
    closed: 0,
  };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env,
    openReader: async (target) => {
      out.targets.push(target);
      return {
        reader: archive,
        close: () => {
          out.closed += 1;
        },
      };
    },
    openReconciler: async (target) => {
      out.reconcileTargets.push(target);
      if (reconciler === undefined) throw new Error('this test opens no events table');
      return {
        ...reconciler,
        close: () => {
          out.closed += 1;
        },
      };
    },
    now: () => NOW,
  };
  const code = await main(argv, io);
  return { code, ...out };
};

const RANGE = ['--tenant', TENANT, '--from', '2025-01-01', '--to', '2025-01-31'];
const lines = (ndjson: string) =>
  ndjson
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ArchivedEvent);

describe('archive CLI usage', () => {
  it('prints the usage on stdout for --help and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['read', '--help'], ['list', '-h']]) {
      const result = await run(argv);

      expect(result.code).toBe(0);
      expect(result.stdout).toBe(USAGE);
      expect(result.targets).toEqual([]);
    }
  });

  it('prints the usage on stderr and exits 2 without a command', async () => {
    const result = await run([]);

    expect(result).toMatchObject({ code: 2, stdout: '', stderr: USAGE });
  });

  it.each([
    ['an unknown command', ['export', ...RANGE], 'unknown command export'],
    ['an unknown option', ['read', ...RANGE, '--format', 'csv'], "Unknown option '--format'"],
    [
      'a read-only option on list',
      ['list', ...RANGE, '--restore-tier', 'Bulk'],
      "Unknown option '--restore-tier'",
    ],
    ['a stray argument', ['read', ...RANGE, 'extra'], 'unexpected argument extra'],
    ['a missing tenant', ['read', '--from', '2025-01-01', '--to', '2025-01-02'], '--tenant is required'],
    ['a missing --to', ['read', '--tenant', TENANT, '--from', '2025-01-01'], '--to is required'],
    [
      'an option without its value',
      ['read', ...RANGE, '--bucket'],
      "Option '--bucket <value>' argument missing",
    ],
    [
      'a malformed tenant',
      ['list', '--tenant', 'tnt_x', '--from', '2025-01-01', '--to', '2025-01-02'],
      '--tenant must be',
    ],
    [
      'an impossible date',
      ['list', '--tenant', TENANT, '--from', '2025-02-30', '--to', '2025-03-01'],
      '--from must be a date',
    ],
    [
      'a reversed range',
      ['list', '--tenant', TENANT, '--from', '2025-02-02', '--to', '2025-02-01'],
      'is after --to',
    ],
    ['an unknown tier', ['read', ...RANGE, '--restore-tier', 'standard'], '--restore-tier must be one of'],
    ['zero restore days', ['read', ...RANGE, '--restore-days', '0'], '--restore-days must be'],
    ['fractional restore days', ['read', ...RANGE, '--restore-days', '1.5'], '--restore-days must be'],
    [
      'a date as occurred time',
      ['read', ...RANGE, '--occurred-from', '2025-01-01'],
      '--occurred-from must be an RFC 3339',
    ],
    [
      'a reversed occurred range',
      ['read', ...RANGE, '--occurred-from', '2025-01-02T00:00:00Z', '--occurred-to', '2025-01-01T00:00:00Z'],
      '--occurred-from is after --occurred-to',
    ],
  ])('rejects %s with exit 2 before touching the archive', async (_, argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('--help');
    expect(result.stdout).toBe('');
    expect(result.targets).toEqual([]);
  });

  it('exits 2 when no bucket is given anywhere', async () => {
    const result = await run(['list', ...RANGE], new FakeArchive([]), {});

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pass --bucket <name> or set ARCHIVE_BUCKET');
    expect(result.targets).toEqual([]);
  });
});

describe('archive CLI bucket', () => {
  it.each([
    ['env ARCHIVE_BUCKET', [], { bucket: 'env-bucket', local: false }],
    ['--bucket over the environment', ['--bucket', 'flag-bucket'], { bucket: 'flag-bucket', local: false }],
    ['the local archive bucket with --local', ['--local'], { bucket: 'trailkeeper-archive', local: true }],
    ['--bucket with --local', ['--local', '--bucket', 'other'], { bucket: 'other', local: true }],
  ])('uses %s', async (_, extra, target) => {
    const result = await run(['list', ...RANGE, ...extra]);

    expect(result.code).toBe(0);
    expect(result.targets).toEqual([target]);
    expect(result.closed).toBe(1);
  });
});

describe('archive CLI read', () => {
  it('writes every event of the range as NDJSON in day order, and nothing else on stdout', async () => {
    const archive = new FakeArchive([
      stored('2025-01-01', 'a', readable(), [
        event('e1', '2025-01-01T01:00:00Z'),
        event('e2', '2025-01-01T02:00:00Z'),
      ]),
      stored('2025-01-02', 'b', { state: 'readable', storageClass: 'GLACIER', restoredUntil: NOW }, [
        event('e3', '2024-12-31T23:00:00Z'),
      ]),
      stored('2025-02-01', 'c', readable(), [event('outside', '2025-02-01T00:00:00Z')]),
    ]);

    const result = await run(['read', ...RANGE], archive);

    expect(result.code).toBe(0);
    expect(lines(result.stdout).map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    expect(lines(result.stdout)[0]).toEqual(event('e1', '2025-01-01T01:00:00Z'));
    expect(archive.listed).toEqual([[TENANT, '2025-01-01', '2025-01-31']]);
    expect(archive.headed).toEqual([key('2025-01-02', 'b')]); // only the cold object needs a HeadObject
    expect(archive.restores).toEqual([]);
    expect(result.stderr).toContain('3 event(s) written of 3 read from 2 object(s)');
    expect(result.stderr).not.toContain(SECRET);
  });

  it('keeps only events whose occurred_at is inside the inclusive occurred range', async () => {
    const archive = new FakeArchive([
      stored('2025-01-05', 'a', readable(), [
        event('before', '2025-01-03T23:59:59.999Z'),
        event('first', '2025-01-04T00:00:00.000Z'),
        event('offset', '2025-01-04T12:00:00+02:00'),
        event('last', '2025-01-05T00:00:00.000Z'),
        event('after', '2025-01-05T00:00:00.001Z'),
      ]),
    ]);

    const result = await run(
      ['read', ...RANGE, '--occurred-from', '2025-01-04T00:00:00Z', '--occurred-to', '2025-01-05T00:00:00Z'],
      archive,
    );

    expect(result.code).toBe(0);
    expect(lines(result.stdout).map((e) => e.id)).toEqual(['first', 'offset', 'last']);
  });

  it('says so and exits 0 when nothing is archived in the range', async () => {
    const result = await run(['read', ...RANGE]);

    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toContain(`nothing archived for ${TENANT}`);
  });

  it('requests the missing restores once, writes nothing and exits 75 when part of the range is cold', async () => {
    const archive = new FakeArchive([
      stored('2025-01-01', 'a', readable(), [event('e1', '2025-01-01T01:00:00Z')]),
      stored('2025-01-02', 'b', { state: 'archived', storageClass: 'GLACIER' }, [
        event('e2', '2025-01-02T01:00:00Z'),
      ]),
      stored('2025-01-03', 'c', { state: 'restoring', storageClass: 'DEEP_ARCHIVE' }),
      stored('2025-01-04', 'd', { state: 'archived', storageClass: 'DEEP_ARCHIVE' }),
    ]);

    const result = await run(['read', ...RANGE, '--restore-tier', 'Bulk', '--restore-days', '3'], archive);

    expect(result.code).toBe(75);
    expect(result.stdout).toBe('');
    expect(archive.opened).toEqual([]);
    expect(archive.restores).toEqual([
      [key('2025-01-02', 'b'), { tier: 'Bulk', days: 3 }],
      [key('2025-01-04', 'd'), { tier: 'Bulk', days: 3 }],
    ]);
    expect(result.stderr).toContain(
      `${key('2025-01-02', 'b')}  GLACIER  restore requested (Bulk: 5–12 hours)`,
    );
    expect(result.stderr).toContain(
      `${key('2025-01-04', 'd')}  DEEP_ARCHIVE  restore requested (Bulk: within 48 hours)`,
    );
    expect(result.stderr).toContain(`${key('2025-01-03', 'c')}  DEEP_ARCHIVE  restore in progress`);
    expect(result.stderr).toContain('2 restore(s) requested (Bulk tier), 1 in progress');
    // The slowest requested restore (Deep Archive Bulk, 48 h) sets when to come back.
    expect(result.stderr).toContain('at most 48 hour(s): re-run this command after 2026-01-12T08:00:00.000Z');
    expect(result.stderr).toContain('readable for 3 day(s)');
  });

  it('uses the Standard tier and 7 days by default', async () => {
    const archive = new FakeArchive([
      stored('2025-01-02', 'b', { state: 'archived', storageClass: 'GLACIER' }),
    ]);

    const result = await run(['read', ...RANGE], archive);

    expect(result.code).toBe(75);
    expect(archive.restores).toEqual([[key('2025-01-02', 'b'), { tier: 'Standard', days: 7 }]]);
    expect(result.stderr).toContain('re-run this command after 2026-01-10T13:00:00.000Z');
  });

  it('requests nothing again while restores are only in progress', async () => {
    const archive = new FakeArchive([
      stored('2025-01-02', 'b', { state: 'restoring', storageClass: 'GLACIER' }),
    ]);

    const result = await run(['read', ...RANGE], archive);

    expect(result).toMatchObject({ code: 75, stdout: '' });
    expect(archive.restores).toEqual([]);
    expect(result.stderr).toContain('0 restore(s) requested (Standard tier), 1 in progress');
  });

  it('refuses Expedited for Deep Archive objects before requesting any restore', async () => {
    const archive = new FakeArchive([
      stored('2025-01-02', 'b', { state: 'archived', storageClass: 'GLACIER' }),
      stored('2025-01-03', 'c', { state: 'archived', storageClass: 'DEEP_ARCHIVE' }),
    ]);

    const result = await run(['read', ...RANGE, '--restore-tier', 'Expedited'], archive);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DEEP_ARCHIVE has no Expedited retrieval tier; use Standard or Bulk');
    expect(archive.restores).toEqual([]);
  });

  it('stops with exit 1 and says the output is incomplete when an object holds another tenant’s event', async () => {
    const archive = new FakeArchive([
      stored('2025-01-01', 'a', readable(), [
        event('e1', '2025-01-01T01:00:00Z'),
        event('foreign', '2025-01-01T02:00:00Z', OTHER_TENANT),
      ]),
    ]);

    const result = await run(['read', ...RANGE], archive);

    expect(result.code).toBe(1);
    expect(lines(result.stdout).map((e) => e.id)).toEqual(['e1']);
    expect(result.stderr).toContain('holds an event of another tenant');
    expect(result.stderr).toContain('INCOMPLETE');
    expect(result.stderr).not.toContain(SECRET);
  });

  it('exits 1 with the S3 error’s name when the archive cannot be read', async () => {
    const archive = new FakeArchive([]);
    archive.failList = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });

    const result = await run(['read', ...RANGE], archive);

    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain('archive read: AccessDenied: Access Denied');
    expect(result.closed).toBe(1);
  });
});

describe('archive CLI list', () => {
  it('writes a tab-separated table of the objects with storage class and restore status', async () => {
    const archive = new FakeArchive([
      stored('2025-01-01', 'a', readable('STANDARD_IA')),
      stored('2025-01-02', 'b', { state: 'archived', storageClass: 'GLACIER' }),
      stored('2025-01-03', 'c', { state: 'restoring', storageClass: 'DEEP_ARCHIVE' }),
      stored('2025-01-04', 'd', { state: 'readable', storageClass: 'GLACIER', restoredUntil: NOW }),
    ]);

    const result = await run(['list', ...RANGE], archive);

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'date\tstorage_class\tstatus\tbytes\tlast_modified\tkey',
      `2025-01-01\tSTANDARD_IA\treadable\t100\t${NOW.toISOString()}\t${key('2025-01-01', 'a')}`,
      `2025-01-02\tGLACIER\tarchived\t100\t${NOW.toISOString()}\t${key('2025-01-02', 'b')}`,
      `2025-01-03\tDEEP_ARCHIVE\trestoring\t100\t${NOW.toISOString()}\t${key('2025-01-03', 'c')}`,
      `2025-01-04\tGLACIER\trestored until ${NOW.toISOString()}\t100\t${NOW.toISOString()}\t${key('2025-01-04', 'd')}`,
      '',
    ]);
    expect(archive.restores).toEqual([]);
    expect(archive.headed).toEqual([key('2025-01-02', 'b'), key('2025-01-03', 'c'), key('2025-01-04', 'd')]);
    expect(result.stderr).toContain('4 object(s), 400 bytes; 2 not readable without a restore');
  });
});

describe('local endpoint file', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the s3rver endpoint that npm start wrote', async () => {
    dir = await mkdtemp(join(tmpdir(), 'archive-cli-'));
    await writeFile(join(dir, 'local.json'), JSON.stringify({ s3Endpoint: 'http://127.0.0.1:4569' }));

    await expect(localS3Endpoint(dir)).resolves.toBe('http://127.0.0.1:4569');
  });

  it('says npm start may not be running when the file is missing or has no endpoint', async () => {
    dir = await mkdtemp(join(tmpdir(), 'archive-cli-'));

    await expect(localS3Endpoint(dir)).rejects.toThrow(/local\.json \(is `npm start` running\?\)/);
    await writeFile(join(dir, 'local.json'), JSON.stringify({ s3Endpoint: 'file:///etc/passwd' }));
    await expect(localS3Endpoint(dir)).rejects.toThrow('has no s3Endpoint URL');
  });
});

/** The events table as check/restage read it: bySeal ids by receipt time, whole events by id. */
class FakeEventsTable {
  readonly shardsAsked: number[] = [];
  constructor(private readonly events: { id: string; received_at: string }[]) {}

  async receivedBetween(_tenantId: string, shards: number, start: string, end: string) {
    this.shardsAsked.push(shards);
    return this.events
      .filter((e) => e.received_at > start && e.received_at <= end)
      .map((e) => ({ ...e, hash: 'h' }));
  }

  async storedEvents(_tenantId: string, ids: readonly string[]) {
    const found = this.events.filter((e) => ids.includes(e.id));
    return new Map(
      found.map((e) => [
        e.id,
        { ...event(e.id, e.received_at), received_at: e.received_at } as unknown as StoredEvent,
      ]),
    );
  }
}

class FakeStaging {
  readonly puts: { key: string; ids: string[] }[] = [];
  async put(objectKey: string, body: Buffer): Promise<void> {
    const ids = gunzipSync(body)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id);
    this.puts.push({ key: objectKey, ids });
  }
}

const RECONCILE_ENV = {
  ARCHIVE_BUCKET: 'env-bucket',
  EVENTS_TABLE: 'env-table',
  ARCHIVE_STAGING_BUCKET: 'env-staging',
};
/** 2026-01-08 is closed at NOW (2026-01-10T08:00Z, 25 h after the day); 2026-01-09 is still open. */
const CLOSED_DAY = '2026-01-08';
const OPEN_DAY = '2026-01-09';
const DAYS = ['--tenant', TENANT, '--from', CLOSED_DAY, '--to', OPEN_DAY];

describe('archive CLI check', () => {
  it('names the missing events of a closed day and exits 1, not counting an open day', async () => {
    const table = new FakeEventsTable([
      { id: 'evt_1', received_at: `${CLOSED_DAY}T01:00:00.000Z` },
      { id: 'evt_2', received_at: `${CLOSED_DAY}T02:00:00.000Z` },
      { id: 'evt_3', received_at: `${OPEN_DAY}T02:00:00.000Z` },
    ]);
    const archive = new FakeArchive([
      stored(CLOSED_DAY, 'a', readable(), [event('evt_1', 'x'), event('evt_expired', 'x')]),
    ]);

    const result = await run(['check', ...DAYS], archive, RECONCILE_ENV, {
      table,
      archive,
      staging: undefined,
    });

    expect(result.code).toBe(1);
    expect(result.reconcileTargets).toEqual([
      { local: false, table: 'env-table', bucket: 'env-bucket', stagingBucket: undefined },
    ]);
    expect(table.shardsAsked).toEqual([64, 64]);
    expect(result.stdout.split('\n')).toEqual([
      'date\tstate\tstored\tarchived\tmissing\textra\tmissing_ids',
      `${CLOSED_DAY}\tmissing\t2\t2\t1\t1\tevt_2`,
      `${OPEN_DAY}\topen\t1\t0\t1\t0\tevt_3`,
      '',
    ]);
    expect(result.stderr).toContain('2 day(s): 0 complete, 1 missing 1 event(s)');
    expect(result.stderr).toContain(`1 day(s) still open (${OPEN_DAY})`);
    expect(result.stderr).not.toContain(SECRET);
    expect(result.closed).toBe(1);
  });

  it('exits 0 when every stored event of the closed days is archived', async () => {
    const table = new FakeEventsTable([{ id: 'evt_1', received_at: `${CLOSED_DAY}T01:00:00.000Z` }]);
    const archive = new FakeArchive([stored(CLOSED_DAY, 'a', readable(), [event('evt_1', 'x')])]);

    const result = await run(
      ['check', '--tenant', TENANT, '--from', CLOSED_DAY, '--to', CLOSED_DAY, '--shards', '2'],
      archive,
      RECONCILE_ENV,
      { table, archive, staging: undefined },
    );

    expect(result.code).toBe(0);
    expect(table.shardsAsked).toEqual([2]);
    expect(result.stdout).toContain(`${CLOSED_DAY}\tcomplete\t1\t1\t0\t0\t\n`);
  });

  it('shows the first 20 missing ids and how many more there are', async () => {
    const ids = Array.from({ length: 23 }, (_, i) => `evt_${String(i).padStart(2, '0')}`);
    const table = new FakeEventsTable(ids.map((id) => ({ id, received_at: `${CLOSED_DAY}T01:00:00.000Z` })));
    const archive = new FakeArchive([]);

    const result = await run(
      ['check', '--tenant', TENANT, '--from', CLOSED_DAY, '--to', CLOSED_DAY],
      archive,
      RECONCILE_ENV,
      {
        table,
        archive,
        staging: undefined,
      },
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`\t${ids.slice(0, 20).join(',')} (+3 more)\n`);
  });

  it('says a day in cold storage cannot be checked without a restore, and exits 1', async () => {
    const table = new FakeEventsTable([{ id: 'evt_1', received_at: `${CLOSED_DAY}T01:00:00.000Z` }]);
    const archive = new FakeArchive([
      stored(CLOSED_DAY, 'a', { state: 'archived', storageClass: 'DEEP_ARCHIVE' }, [event('evt_1', 'x')]),
    ]);

    const result = await run(
      ['check', '--tenant', TENANT, '--from', CLOSED_DAY, '--to', CLOSED_DAY],
      archive,
      RECONCILE_ENV,
      {
        table,
        archive,
        staging: undefined,
      },
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${CLOSED_DAY}\tneeds-restore\t1\t-\t0\t0\t`);
    expect(result.stderr).toContain(
      `1 day(s) NOT CHECKED (${CLOSED_DAY}): 1 object(s) in Glacier / Deep Archive`,
    );
    expect(archive.opened).toEqual([]);
    expect(archive.restores).toEqual([]);
  });

  it('refuses a bad shard count or a missing table name with exit 2, before opening anything', async () => {
    for (const [argv, message] of [
      [['check', ...DAYS, '--shards', '0'], '--shards must be a whole number from 1 to 64'],
      [['check', ...DAYS, '--shards', '65'], '--shards must be a whole number from 1 to 64'],
      [['check', ...DAYS], 'no table: pass --table <name> or set EVENTS_TABLE'],
      [
        ['restage', ...DAYS, '--table', 't'],
        'no staging-bucket: pass --staging-bucket <name> or set ARCHIVE_STAGING_BUCKET',
      ],
    ] as const) {
      const result = await run([...argv], new FakeArchive([]), { ARCHIVE_BUCKET: 'b' });

      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.reconcileTargets).toEqual([]);
    }
  });
});

describe('archive CLI restage', () => {
  it('stages the missing events of closed days into the staging bucket and lists the objects', async () => {
    const table = new FakeEventsTable([
      { id: 'evt_1', received_at: `${CLOSED_DAY}T01:00:00.000Z` },
      { id: 'evt_2', received_at: `${CLOSED_DAY}T02:00:00.000Z` },
      { id: 'evt_3', received_at: `${OPEN_DAY}T02:00:00.000Z` },
    ]);
    const archive = new FakeArchive([stored(CLOSED_DAY, 'a', readable(), [event('evt_1', 'x')])]);
    const staging = new FakeStaging();

    const result = await run(['restage', '--local', ...DAYS], archive, {}, { table, archive, staging });

    expect(result.code).toBe(0);
    expect(result.reconcileTargets).toEqual([
      {
        local: true,
        table: 'trailkeeper-events',
        bucket: 'trailkeeper-archive',
        stagingBucket: 'trailkeeper-archive-staging',
      },
    ]);
    expect(staging.puts).toHaveLength(1);
    expect(staging.puts[0]?.ids).toEqual(['evt_2']);
    expect(staging.puts[0]?.key).toMatch(
      new RegExp(`^tenant=${TENANT}/date=${CLOSED_DAY}/restage-[0-9a-f]{16}\\.ndjson\\.gz$`),
    );
    expect(result.stdout).toContain(`date\tevents\tkey\n${CLOSED_DAY}\t1\t${staging.puts[0]?.key}\n`);
    expect(result.stderr).toContain('restaged 1 event(s) in 1 object(s)');
    expect(result.stderr).not.toContain(SECRET);
  });
});
