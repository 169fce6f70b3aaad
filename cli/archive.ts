/**
 * `npm run archive -- <read|list|check|restage> …`: the operator's way to get a tenant's events
 * back from the cold-storage archive, for audits long after hot retention ended, and to repair it
 * when the archiver lost records (`check` compares it with the events table, `restage` stages
 * what it misses for the next compaction; the logic is shared/usecases/archive-reconcile.ts). `read` is all-or-nothing on
 * purpose: when part of the range sits in Glacier / Deep Archive it requests the restores, says how
 * long they take and exits 75 without writing a single event, because a partial answer handed to
 * an auditor looks complete. stdout carries only the NDJSON events (or the `list` table);
 * everything else goes to stderr, and never an event's content.
 *
 * `main(argv, io)` does the work and returns the exit code; the S3 client, streams and environment
 * come in through `io`, so tests run it without spawning a process.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';
import { localS3ClientConfig } from '#infra/local/s3.ts';
import {
  ArchiveInputError,
  ArchiveReader,
  isArchiveDate,
  RESTORE_TIERS,
  type RestoreTier,
  restoreEstimate,
} from '#shared/adapters/archive-reader.ts';
import { S3BlobWriter } from '#shared/adapters/object-store.ts';
import { DynamoSealStore } from '#shared/adapters/seal-store.ts';
import { ENV } from '#shared/config/env.ts';
import { ARCHIVE, ARCHIVE_BUCKET, ARCHIVE_STAGING_BUCKET } from '#shared/config/storage.ts';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import { isColdStorageClass } from '#shared/domain/archive.ts';
import { MAX_SHARDS } from '#shared/domain/keys.ts';
import { isTenantId } from '#shared/domain/tenant.ts';
import { checkArchive, type DayCheck, restageMissing } from '#shared/usecases/archive-reconcile.ts';
import type {
  ArchiveIds,
  ArchiveObject,
  BlobWriter,
  ObjectStatus,
  ReceivedEvents,
  StoredEvents,
} from '#shared/usecases/ports/archive.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2, restorePending: 75 } as const;

export const USAGE = `Usage: npm run archive -- <command> [options]

Reads a tenant's events back from the archive bucket (gzip NDJSON, one object per tenant, UTC day
of receipt and compaction run).

Commands:
  read     Write the tenant's archived events of the day range to stdout as NDJSON, in day order.
  list     Write the range's objects to stdout as a tab-separated table: day, storage class,
           status (readable | restored until <time> | restoring | archived), bytes, last modified, key.
  check    Compare, per day, the event ids the events table holds with the ids in the archive:
           a tab-separated table of day, state, stored, archived, missing, extra (archived but no
           longer stored: normal after expiry) and the first 20 missing ids.
           States: complete | missing | open (the day is not closed yet: its events may still be
           staged, not counted as missing) | needs-restore (an object is in Glacier / Deep
           Archive: the day cannot be checked until \`read\` has restored it).
  restage  Check, then stage the missing events of every closed day (read whole from the events
           table) in the staging bucket, ≤ 1,000 per object; the next compaction archives them,
           each once. Running it again overwrites the same objects.

Options:
  --tenant <id>            tenant id (tnt_…)                                          required
  --from <YYYY-MM-DD>      first UTC day of receipt                                   required
  --to <YYYY-MM-DD>        last UTC day of receipt (inclusive)                        required
  --bucket <name>          archive bucket (default: env ARCHIVE_BUCKET; with --local:
                           ${ARCHIVE_BUCKET.localName})
  --local                  use the local stack of \`npm start\` (s3rver endpoint from
                           .data/local.json, or $${ENV.dataDir}/local.json)
  -h, --help               print this text

check and restage:
  --table <name>           events table (default: env EVENTS_TABLE; with --local:
                           ${EVENTS_TABLE.localName})
  --shards <n>             index shards to read (default ${MAX_SHARDS}, every possible one; the
                           tenant's shard count or more is enough and reads less)
  --staging-bucket <name>  restage only: staging bucket (default: env ARCHIVE_STAGING_BUCKET;
                           with --local: ${ARCHIVE_STAGING_BUCKET.localName})
  Days close ${ARCHIVE.closeAfterHours} h after they end (env ${ENV.archiveCloseAfterHours} overrides, as for the compactor).

read only:
  --occurred-from <time>   keep events with occurred_at at or after this RFC 3339 time
  --occurred-to <time>     keep events with occurred_at at or before this RFC 3339 time
  --restore-tier <tier>    Standard (default), Bulk or Expedited (Expedited: Glacier only)
  --restore-days <n>       days a restored copy stays readable (default 7)

Days are the UTC days the service RECEIVED events on (received_at), not occurred_at: to select by
occurred_at, cover every day the events could have arrived on and add --occurred-from/--occurred-to.

When an object of the range is in Glacier Flexible Retrieval or Deep Archive without a restored
copy, read requests its restore (restores already under way are not requested again), prints how
long they take, writes NOTHING to stdout and exits 75: run the same command again after the time it
gives. Retrieval times (AWS): Glacier Expedited 1–5 minutes, Standard 3–5 hours, Bulk 5–12 hours;
Deep Archive Standard within 12 hours, Bulk within 48 hours.

Exit codes: 0 done, 1 failure (if read fails midway, stdout is INCOMPLETE; check: events are
missing, or a closed day needs a restore to be checked; restage: a day could not be checked),
2 usage error, 75 restores pending (run again later).

In AWS the default credential chain is used (profile, SSO, environment). Examples:
  npm run archive -- list --tenant tnt_… --from 2025-01-01 --to 2025-12-31 --bucket <ArchiveBucketName>
  npm run archive -- read --local --tenant tnt_… --from 2026-11-20 --to 2026-11-21 > events.ndjson
  npm run archive -- check --tenant tnt_… --from 2026-03-01 --to 2026-03-31 --table <EventsTableName> --bucket <ArchiveBucketName>
`;

/** What the CLI needs of the archive: the ArchiveReader's surface. */
export type ArchiveSource = Pick<ArchiveReader, 'listObjects' | 'status' | 'requestRestore' | 'events'>;

export interface ReaderTarget {
  readonly bucket: string;
  readonly local: boolean;
}

export interface ReconcileTarget {
  readonly local: boolean;
  readonly table: string;
  readonly bucket: string;
  /** restage only. */
  readonly stagingBucket: string | undefined;
}

/** What check and restage work with: the events table, the archive, and (restage) the staging bucket. */
export interface Reconciler {
  table: ReceivedEvents & StoredEvents;
  archive: ArchiveIds;
  staging: BlobWriter | undefined;
  close(): void;
}

export interface CliIo {
  /** Event lines and the list table; may return a promise to apply back-pressure. */
  stdout(text: string): void | Promise<void>;
  /** Progress and messages. */
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  openReader(target: ReaderTarget): Promise<{ reader: ArchiveSource; close(): void }>;
  openReconciler(target: ReconcileTarget): Promise<Reconciler>;
  now(): Date;
}

class UsageError extends Error {}

const COMMON_OPTIONS = {
  tenant: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  bucket: { type: 'string' },
  local: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const READ_OPTIONS = {
  ...COMMON_OPTIONS,
  'occurred-from': { type: 'string' },
  'occurred-to': { type: 'string' },
  'restore-tier': { type: 'string' },
  'restore-days': { type: 'string' },
} as const;

const CHECK_OPTIONS = {
  ...COMMON_OPTIONS,
  table: { type: 'string' },
  shards: { type: 'string' },
} as const;

const RESTAGE_OPTIONS = { ...CHECK_OPTIONS, 'staging-bucket': { type: 'string' } } as const;

const COMMAND_OPTIONS = {
  read: READ_OPTIONS,
  list: COMMON_OPTIONS,
  check: CHECK_OPTIONS,
  restage: RESTAGE_OPTIONS,
} as const;

type Command = keyof typeof COMMAND_OPTIONS;

const isCommand = (value: string): value is Command => Object.hasOwn(COMMAND_OPTIONS, value);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

interface Selection {
  tenant: string;
  from: string;
  to: string;
}

const required = (values: Record<string, unknown>, name: string): string => {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
};

const parseSelection = (values: Record<string, unknown>): Selection => {
  const tenant = required(values, 'tenant');
  if (!isTenantId(tenant)) {
    throw new UsageError('--tenant must be a tenant id: tnt_ followed by 26 lowercase letters or digits');
  }
  const from = required(values, 'from');
  const to = required(values, 'to');
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!isArchiveDate(value)) throw new UsageError(`--${name} must be a date YYYY-MM-DD, got ${value}`);
  }
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return { tenant, from, to };
};

const parseInstant = (values: Record<string, unknown>, name: string): number | undefined => {
  const value = values[name];
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--${name} must be an RFC 3339 time, e.g. 2025-03-01T00:00:00Z`);
  return ms;
};

/** A table or bucket name: the option, else the local stack's name with --local, else the environment. */
const resolveName = (
  values: Record<string, unknown>,
  option: string,
  definition: { envVar: string; localName: string },
  env: CliIo['env'],
): string => {
  const given = values[option];
  if (typeof given === 'string' && given !== '') return given;
  if (values.local === true) return definition.localName;
  const fromEnv = env[definition.envVar];
  if (fromEnv) return fromEnv;
  throw new UsageError(`no ${option}: pass --${option} <name> or set ${definition.envVar} (or use --local)`);
};

const resolveBucket = (values: Record<string, unknown>, env: CliIo['env']): string =>
  resolveName(values, 'bucket', ARCHIVE_BUCKET, env);

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
const mapLimited = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

const S3_CONCURRENCY = 8;

const describeStatus = (status: ObjectStatus): string => {
  if (status.state === 'readable' && status.restoredUntil) {
    return `restored until ${status.restoredUntil.toISOString()}`;
  }
  return status.state;
};

/** Status of each object; HeadObject only for cold storage classes (the listing settles the rest). */
const statusesOf = (reader: ArchiveSource, objects: readonly ArchiveObject[]): Promise<ObjectStatus[]> =>
  mapLimited(objects, S3_CONCURRENCY, (object) =>
    isColdStorageClass(object.storageClass)
      ? reader.status(object.key)
      : Promise.resolve<ObjectStatus>({ state: 'readable', storageClass: object.storageClass }),
  );

const list = async (reader: ArchiveSource, selection: Selection, io: CliIo): Promise<number> => {
  const objects = await reader.listObjects(selection.tenant, selection.from, selection.to);
  const statuses = await statusesOf(reader, objects);
  await io.stdout('date\tstorage_class\tstatus\tbytes\tlast_modified\tkey\n');
  for (const [index, object] of objects.entries()) {
    const status = statuses[index] as ObjectStatus;
    const row = [
      object.date,
      status.storageClass,
      describeStatus(status),
      String(object.size),
      object.lastModified?.toISOString() ?? '',
      object.key,
    ];
    await io.stdout(`${row.join('\t')}\n`);
  }
  const pending = statuses.filter((s) => s.state !== 'readable').length;
  io.stderr(
    `${objects.length} object(s), ${objects.reduce((sum, o) => sum + o.size, 0)} bytes; ` +
      `${pending} not readable without a restore (\`read\` requests them)\n`,
  );
  return EXIT.ok;
};

interface ReadOptions {
  occurredFrom: number | undefined;
  occurredTo: number | undefined;
  tier: RestoreTier;
  days: number;
}

const parseReadOptions = (values: Record<string, unknown>): ReadOptions => {
  const tier = values['restore-tier'] ?? 'Standard';
  if (!RESTORE_TIERS.includes(tier as RestoreTier)) {
    throw new UsageError(`--restore-tier must be one of ${RESTORE_TIERS.join(', ')}`);
  }
  const daysText = values['restore-days'] ?? '7';
  const days = typeof daysText === 'string' && /^\d+$/.test(daysText) ? Number(daysText) : 0;
  if (days < 1) throw new UsageError('--restore-days must be a whole number of days, at least 1');
  const occurredFrom = parseInstant(values, 'occurred-from');
  const occurredTo = parseInstant(values, 'occurred-to');
  if (occurredFrom !== undefined && occurredTo !== undefined && occurredFrom > occurredTo) {
    throw new UsageError('--occurred-from is after --occurred-to');
  }
  return { occurredFrom, occurredTo, tier: tier as RestoreTier, days };
};

const formatDuration = (minutes: number): string =>
  minutes < 60 ? `${minutes} minute(s)` : `${Math.round((minutes / 60) * 10) / 10} hour(s)`;

/** Requests the missing restores and explains when to come back. Nothing goes to stdout. */
const requestRestores = async (
  reader: ArchiveSource,
  pending: readonly { object: ArchiveObject; status: ObjectStatus }[],
  options: ReadOptions,
  io: CliIo,
): Promise<number> => {
  const toRequest = pending.filter((p) => p.status.state === 'archived');
  // Every estimate first: an impossible tier (Expedited from Deep Archive) fails before any request.
  const estimates = toRequest.map((p) => restoreEstimate(p.status.storageClass, options.tier));
  const outcomes = await mapLimited(toRequest, S3_CONCURRENCY, (p) =>
    reader.requestRestore(p.object.key, { tier: options.tier, days: options.days }),
  );
  io.stderr(`${pending.length} object(s) must be restored from cold storage before they can be read:\n`);
  for (const [index, p] of toRequest.entries()) {
    const estimate = estimates[index];
    const outcome = outcomes[index] === 'requested' ? 'restore requested' : 'restore already in progress';
    io.stderr(
      `  ${p.object.key}  ${p.status.storageClass}  ${outcome} (${options.tier}: ${estimate?.description})\n`,
    );
  }
  for (const p of pending.filter((q) => q.status.state === 'restoring')) {
    io.stderr(`  ${p.object.key}  ${p.status.storageClass}  restore in progress (requested earlier)\n`);
  }
  const requested = outcomes.filter((o) => o === 'requested').length;
  const longest = Math.max(0, ...estimates.map((e) => e.maxMinutes));
  const inProgress = pending.length - requested;
  const summary = [`${requested} restore(s) requested (${options.tier} tier)`, `${inProgress} in progress`];
  io.stderr(`Restores requested / in progress: ${summary.join(', ')}. Nothing was written to stdout.\n`);
  if (longest > 0) {
    const after = new Date(io.now().getTime() + longest * 60_000);
    io.stderr(
      `The requested restores take at most ${formatDuration(longest)}: re-run this command after ` +
        `${after.toISOString()}.\n`,
    );
  }
  if (inProgress > 0) {
    io.stderr(
      'Restores requested earlier finish within their tier’s time from their request (at most 12 hours ' +
        'from Glacier, 48 hours from Deep Archive): re-run this command then.\n',
    );
  }
  io.stderr(`Restored copies stay readable for ${options.days} day(s) after they are ready.\n`);
  return EXIT.restorePending;
};

const read = async (
  reader: ArchiveSource,
  selection: Selection,
  options: ReadOptions,
  io: CliIo,
): Promise<number> => {
  const objects = await reader.listObjects(selection.tenant, selection.from, selection.to);
  const bytes = objects.reduce((sum, o) => sum + o.size, 0);
  io.stderr(
    `${objects.length} archived object(s), ${bytes} bytes, days ${selection.from}..${selection.to}\n`,
  );
  const statuses = await statusesOf(reader, objects);
  const pending = objects
    .map((object, index) => ({ object, status: statuses[index] as ObjectStatus }))
    .filter((p) => p.status.state !== 'readable');
  if (pending.length > 0) return requestRestores(reader, pending, options, io);

  if (objects.length === 0) {
    io.stderr(`nothing archived for ${selection.tenant} on these days\n`);
    return EXIT.ok;
  }
  let read = 0;
  let written = 0;
  try {
    for (const [index, object] of objects.entries()) {
      io.stderr(`reading ${index + 1}/${objects.length} ${object.key}\n`);
      for await (const event of reader.events(object.key)) {
        read += 1;
        if (event.tenant_id !== selection.tenant) {
          throw new Error(`${object.key} holds an event of another tenant; stopping`);
        }
        if (options.occurredFrom !== undefined || options.occurredTo !== undefined) {
          const occurred = typeof event.occurred_at === 'string' ? Date.parse(event.occurred_at) : Number.NaN;
          if (Number.isNaN(occurred))
            throw new Error(`${object.key} holds an event without a valid occurred_at`);
          if (options.occurredFrom !== undefined && occurred < options.occurredFrom) continue;
          if (options.occurredTo !== undefined && occurred > options.occurredTo) continue;
        }
        await io.stdout(`${JSON.stringify(event)}\n`);
        written += 1;
      }
    }
  } catch (error) {
    io.stderr(`stopped after ${written} event(s) written: the output is INCOMPLETE\n`);
    throw error;
  }
  io.stderr(`done: ${written} event(s) written of ${read} read from ${objects.length} object(s)\n`);
  return EXIT.ok;
};

const SHOWN_MISSING = 20;

const parseShards = (values: Record<string, unknown>): number => {
  const text = values.shards ?? String(MAX_SHARDS);
  const shards = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : 0;
  if (shards < 1 || shards > MAX_SHARDS) {
    throw new UsageError(`--shards must be a whole number from 1 to ${MAX_SHARDS}`);
  }
  return shards;
};

/** The compactor's setting (its environment variable, else the deployed default). */
const closeAfterHours = (env: CliIo['env']): number => {
  const value = Number(env[ENV.archiveCloseAfterHours] ?? ARCHIVE.closeAfterHours);
  return Number.isFinite(value) ? value : ARCHIVE.closeAfterHours;
};

const missingColumn = (missing: readonly string[]): string =>
  missing.length <= SHOWN_MISSING
    ? missing.join(',')
    : `${missing.slice(0, SHOWN_MISSING).join(',')} (+${missing.length - SHOWN_MISSING} more)`;

/** The per-day table on stdout, a summary on stderr (ids and counts only). */
const reportChecks = async (checks: readonly DayCheck[], io: CliIo): Promise<void> => {
  await io.stdout('date\tstate\tstored\tarchived\tmissing\textra\tmissing_ids\n');
  for (const c of checks) {
    const archived = c.state === 'needs-restore' ? '-' : String(c.archived);
    const row = [c.day, c.state, String(c.stored), archived, String(c.missing.length), String(c.extra)];
    await io.stdout(`${[...row, missingColumn(c.missing)].join('\t')}\n`);
  }
  const count = (state: DayCheck['state']) => checks.filter((c) => c.state === state);
  const missing = count('missing');
  const open = count('open');
  const cold = count('needs-restore');
  io.stderr(
    `${checks.length} day(s): ${count('complete').length} complete, ${missing.length} missing ` +
      `${missing.reduce((sum, c) => sum + c.missing.length, 0)} event(s)\n`,
  );
  if (open.length > 0) {
    io.stderr(
      `${open.length} day(s) still open (${open.map((c) => c.day).join(', ')}): their events may still ` +
        `be staged for compaction, not counted as missing; check again once they close\n`,
    );
  }
  if (cold.length > 0) {
    io.stderr(
      `${cold.length} day(s) NOT CHECKED (${cold.map((c) => c.day).join(', ')}): ` +
        `${cold.reduce((sum, c) => sum + c.unreadable, 0)} object(s) in Glacier / Deep Archive need a ` +
        'restore; `read` the same days to request it, then check again\n',
    );
  }
};

const reconcile = async (
  command: 'check' | 'restage',
  reconciler: Reconciler,
  selection: Selection,
  shards: number,
  io: CliIo,
): Promise<number> => {
  const checks = await checkArchive(reconciler, {
    tenantId: selection.tenant,
    fromDate: selection.from,
    toDate: selection.to,
    shards,
    nowMs: io.now().getTime(),
    closeAfterHours: closeAfterHours(io.env),
  });
  await reportChecks(checks, io);
  const unchecked = checks.some((c) => c.state === 'needs-restore');
  if (command === 'check') {
    return unchecked || checks.some((c) => c.state === 'missing') ? EXIT.failure : EXIT.ok;
  }
  if (reconciler.staging === undefined) throw new Error('no staging bucket to restage into');
  const result = await restageMissing(
    { table: reconciler.table, staging: reconciler.staging },
    selection.tenant,
    checks,
  );
  await io.stdout('date\tevents\tkey\n');
  for (const object of result.objects) await io.stdout(`${object.day}\t${object.events}\t${object.key}\n`);
  io.stderr(
    `restaged ${result.objects.reduce((sum, o) => sum + o.events, 0)} event(s) in ${result.objects.length} ` +
      'object(s); the next compaction archives them\n',
  );
  if (result.gone > 0) {
    io.stderr(`${result.gone} missing event(s) were no longer in the events table (expired): not restaged\n`);
  }
  return unchecked ? EXIT.failure : EXIT.ok;
};

const errorText = (error: unknown): string =>
  error instanceof Error
    ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
    : String(error);

/** An endpoint (s3rver's, DynamoDB Local's) that `npm start` wrote to `<data dir>/local.json`. */
export const localEndpoint = async (
  dataDir: string,
  name: 's3Endpoint' | 'dynamoEndpoint',
): Promise<string> => {
  const path = resolve(dataDir, 'local.json');
  let endpoint: unknown;
  try {
    endpoint = (JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>)[name];
  } catch (error) {
    throw new Error(`cannot read ${path} (is \`npm start\` running?): ${errorText(error)}`);
  }
  if (typeof endpoint !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
    throw new Error(`${path} has no ${name} URL (is \`npm start\` running?)`);
  }
  return endpoint;
};

/** The s3rver endpoint `npm start` wrote to `<data dir>/local.json`. */
export const localS3Endpoint = (dataDir: string): Promise<string> => localEndpoint(dataDir, 's3Endpoint');

/** Real S3 (default credential chain) or the local s3rver, with its own settings. */
const openS3Reader = async (target: ReaderTarget, env: CliIo['env']) => {
  const client = target.local
    ? new S3Client(localS3ClientConfig(await localS3Endpoint(env[ENV.dataDir] ?? '.data')))
    : new S3Client({});
  return { reader: new ArchiveReader(client, target.bucket), close: () => client.destroy() };
};

/** The events table, the archive and the staging bucket, in AWS or on the local stack. */
const openDynamoReconciler = async (target: ReconcileTarget, env: CliIo['env']): Promise<Reconciler> => {
  const dataDir = env[ENV.dataDir] ?? '.data';
  const s3 = target.local
    ? new S3Client(localS3ClientConfig(await localEndpoint(dataDir, 's3Endpoint')))
    : new S3Client({});
  const dynamo = target.local
    ? new DynamoDBClient(localDynamoDbClientConfig(await localEndpoint(dataDir, 'dynamoEndpoint')))
    : new DynamoDBClient({ maxAttempts: 6 });
  return {
    table: new DynamoSealStore(DynamoDBDocumentClient.from(dynamo), target.table),
    archive: new ArchiveReader(s3, target.bucket),
    staging: target.stagingBucket === undefined ? undefined : new S3BlobWriter(s3, target.stagingBucket),
    close: () => {
      s3.destroy();
      dynamo.destroy();
    },
  };
};

const writeStdout = async (text: string): Promise<void> => {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
};

const processIo = (): CliIo => ({
  stdout: writeStdout,
  stderr: (text) => {
    process.stderr.write(text);
  },
  env: process.env,
  openReader: (target) => openS3Reader(target, process.env),
  openReconciler: (target) => openDynamoReconciler(target, process.env),
  now: () => new Date(),
});

export const main = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const command = argv[0];
  if (command === undefined) {
    io.stderr(USAGE);
    return EXIT.usage;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    await io.stdout(USAGE);
    return EXIT.ok;
  }
  let reader: { reader: ArchiveSource; close(): void } | undefined;
  let reconciler: Reconciler | undefined;
  try {
    if (!isCommand(command)) throw new UsageError(`unknown command ${command}`);
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      // Every command's options under one type; parseArgs still accepts only the command's own.
      options: COMMAND_OPTIONS[command] as typeof RESTAGE_OPTIONS & typeof READ_OPTIONS,
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      await io.stdout(USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const selection = parseSelection(values);
    if (command === 'check' || command === 'restage') {
      const shards = parseShards(values);
      const target: ReconcileTarget = {
        local: values.local === true,
        table: resolveName(values, 'table', EVENTS_TABLE, io.env),
        bucket: resolveBucket(values, io.env),
        stagingBucket:
          command === 'restage'
            ? resolveName(values, 'staging-bucket', ARCHIVE_STAGING_BUCKET, io.env)
            : undefined,
      };
      reconciler = await io.openReconciler(target);
      return await reconcile(command, reconciler, selection, shards, io);
    }
    const readOptions = command === 'read' ? parseReadOptions(values) : undefined;
    const bucket = resolveBucket(values, io.env);
    reader = await io.openReader({ bucket, local: values.local === true });
    return readOptions === undefined
      ? await list(reader.reader, selection, io)
      : await read(reader.reader, selection, readOptions, io);
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      error instanceof ArchiveInputError ||
      (error instanceof TypeError && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'));
    io.stderr(`archive ${command}: ${usage ? (error as Error).message : errorText(error)}\n`);
    if (usage) io.stderr('Run `npm run archive -- --help` for usage.\n');
    return usage ? EXIT.usage : EXIT.failure;
  } finally {
    reader?.close();
    reconciler?.close();
  }
};

const invokedDirectly = process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1]);
if (invokedDirectly) {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // The reader of our stdout went away (e.g. `| head`): stop, and say the output is cut short.
    process.stderr.write(`archive: stdout closed (${error.code ?? error.message}); output is incomplete\n`);
    process.exit(EXIT.failure);
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
