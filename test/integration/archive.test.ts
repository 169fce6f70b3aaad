/**
 * The archive end to end, on a stack of its own (it restarts the stream poller and injects
 * failures): events ingested through the API reach the local stream, the real archiver stages
 * them in S3, the compactor (closing today at once: close-after −24 h) finalizes one object per
 * tenant and day, and the operator CLI reads them back — each event exactly once, also across a
 * poller restart, crashed invocations and client retries. When the archiver loses events (the
 * poller stopped), the CLI's `check` names them and `restage` puts them back for the compactor.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3ClientConfig } from '#infra/local/s3.ts';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { ARCHIVE_BUCKET, ARCHIVE_STAGING_BUCKET } from '#shared/config/storage.ts';
import type { CompactionResult } from '#shared/usecases/archive-compaction.ts';
import { runCli, stackClient } from './own-stack.ts';

const archiveCli = (args: string[], env: Record<string, string>) => runCli('cli/archive.ts', args, env);
const OPERATOR = 'tk_op_archive-integration-test-operator-key-000000';

let stack: LocalStack;
let s3: S3Client;
let dataDir: string;

const { call, ingest, newTenant: tenantWithKey } = stackClient(() => stack, OPERATOR);
const newTenant = (_name: string) => tenantWithKey(2, ['events:write', 'events:read']);

const keys = async (bucket: string, prefix = ''): Promise<string[]> => {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key as string));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
};

const archivedIds = async (bucket: string, prefix: string): Promise<string[]> => {
  const ids: string[] = [];
  for (const key of await keys(bucket, prefix)) {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = gunzipSync(Buffer.from(await (out.Body as any).transformToByteArray())).toString('utf8');
    ids.push(
      ...text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id as string),
    );
  }
  return ids;
};

const today = () => new Date().toISOString().slice(0, 10);
const range = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

beforeAll(async () => {
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    logLevel: 'ERROR',
    archiveCloseAfterHours: -24,
    scheduleEveryMs: { 'retention-worker': 0 },
  });
  s3 = new S3Client(localS3ClientConfig(stack.s3Endpoint));
  dataDir = await mkdtemp(join(tmpdir(), 'trailkeeper-archive-cli-'));
  await writeFile(
    join(dataDir, 'local.json'),
    JSON.stringify({ s3Endpoint: stack.s3Endpoint, dynamoEndpoint: stack.dynamoEndpoint }),
  );
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('archive', () => {
  it('archives every event exactly once, across a poller restart, crashes and client retries', async () => {
    const a = await newTenant('A');
    const b = await newTenant('B');
    const first = range('a1', 250);
    await ingest(a.key, first);
    await ingest(b.key, range('b', 40));
    await stack.archive.poller().idle(60_000);

    // The poller restarts and continues from its saved positions.
    await stack.archive.restartPoller();
    const second = range('a2', 150);
    await ingest(a.key, second);
    // Two crashed invocations: the batch is delivered again, nothing is lost.
    stack.archive.poller().failNext(2);
    const third = range('a3', 120);
    await ingest(a.key, third);
    // A client retry of acknowledged events adds nothing to the stream.
    await ingest(a.key, third.slice(0, 50));
    await stack.archive.poller().idle(60_000);
    expect(stack.archive.poller().stats().failures).toBeGreaterThanOrEqual(2);
    expect(stack.archive.poller().deadLetters()).toEqual([]);

    const staged = await keys(ARCHIVE_STAGING_BUCKET.localName, `tenant=${a.id}/`);
    expect(staged.length).toBeGreaterThan(1);

    const result = (await stack.runScheduled('archive-compactor')) as CompactionResult;
    expect(result.partitions.map((p) => p.partition.tenantId).sort()).toEqual([a.id, b.id].sort());
    const day = today();
    const finalA = await keys(ARCHIVE_BUCKET.localName, `tenant=${a.id}/date=${day}/`);
    expect(finalA).toHaveLength(1);
    expect(finalA[0]).toMatch(/\/events-[0-9a-f]{16}\.ndjson\.gz$/);
    // The tenant's own trail is archived like any event: its setup key's creation, once each.
    const sentAndSetup = async (tenantId: string) => {
      const ids = await archivedIds(ARCHIVE_BUCKET.localName, `tenant=${tenantId}/`);
      expect(ids.filter((id) => id.startsWith('tk_admin-key-created-'))).toHaveLength(1);
      return ids.filter((id) => !id.startsWith('tk_admin-key-created-')).sort();
    };
    expect(await sentAndSetup(a.id)).toEqual([...first, ...second, ...third].sort());
    expect(await sentAndSetup(b.id)).toEqual(range('b', 40));
    expect(await keys(ARCHIVE_STAGING_BUCKET.localName)).toEqual([]);

    // A second run has nothing to do and writes nothing.
    const again = (await stack.runScheduled('archive-compactor')) as CompactionResult;
    expect(again.partitions).toEqual([]);

    // Later events of the same day become a second object: still each event once.
    await ingest(a.key, range('a4', 30));
    await stack.archive.poller().idle(60_000);
    await stack.runScheduled('archive-compactor');
    const all = await archivedIds(ARCHIVE_BUCKET.localName, `tenant=${a.id}/`);
    expect(all).toHaveLength(new Set(all).size);
    expect(await sentAndSetup(a.id)).toEqual([...first, ...second, ...third, ...range('a4', 30)].sort());

    // The operator reads the range back with the CLI.
    const cli = await archiveCli(['read', '--local', '--tenant', a.id, '--from', day, '--to', day], {
      TRAILKEEPER_DATA_DIR: dataDir,
    });
    const lines = cli.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((e) => e.id).sort()).toEqual([...all].sort());
    const listed = await call('GET', `/v1/events/${first[0]}`, a.key);
    expect(lines.find((e) => e.id === first[0])).toEqual(listed.body);
  }, 180_000);

  it('lets the CLI refuse bad input without touching S3', async () => {
    const failed = await archiveCli(
      ['read', '--local', '--tenant', '../x', '--from', today(), '--to', today()],
      {
        TRAILKEEPER_DATA_DIR: dataDir,
      },
    ).catch((error: { code: number; stderr: string; stdout: string }) => error);
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stdout: string }).stdout).toBe('');
  });

  // Last: it stops the stream poller for good.
  it('finds events the archiver lost, restages them from the table, and the archive then holds each once', async () => {
    const c = await newTenant('C');
    const kept = range('c1', 30);
    await ingest(c.key, kept);
    await stack.archive.poller().idle(60_000);
    await stack.runScheduled('archive-compactor');
    // The archiver loses what comes next (in AWS: records left in its dead-letter queue past 24 h).
    await stack.archive.poller().stop();
    const lost = range('c2', 12);
    await ingest(c.key, lost);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const days = ['--local', '--tenant', c.id, '--from', yesterday, '--to', today(), '--shards', '2'];
    const env = { TRAILKEEPER_DATA_DIR: dataDir, TRAILKEEPER_ARCHIVE_CLOSE_AFTER_HOURS: '-24' };
    type CliFailure = { code: number; stdout: string; stderr: string };

    const before = (await archiveCli(['check', ...days], env).catch(
      (error: CliFailure) => error,
    )) as CliFailure;
    expect(before.code).toBe(1);
    const missingRow = before.stdout.split('\n').find((line) => line.split('\t')[1] === 'missing');
    // 42 sent (30 archived, 12 lost) and the setup key's trailkeeper.api_key.created, archived.
    expect(missingRow?.split('\t').slice(2, 6)).toEqual(['43', '31', '12', '0']);
    expect(missingRow?.split('\t')[6]?.split(',').sort()).toEqual(lost);

    const restage = await archiveCli(['restage', ...days], env);
    expect(restage.stderr).toContain('restaged 12 event(s) in 1 object(s)');
    const staged = await keys(ARCHIVE_STAGING_BUCKET.localName, `tenant=${c.id}/`);
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatch(/\/restage-[0-9a-f]{16}\.ndjson\.gz$/);
    // Restaging again (nothing compacted yet) overwrites the same object.
    await archiveCli(['restage', ...days], env);
    expect(await keys(ARCHIVE_STAGING_BUCKET.localName, `tenant=${c.id}/`)).toEqual(staged);

    await stack.runScheduled('archive-compactor');
    const after = await archiveCli(['check', ...days], env);
    expect(after.stdout.split('\n').filter((line) => line.split('\t')[1] === 'missing')).toEqual([]);
    expect(after.stdout).toContain('\tcomplete\t43\t43\t0\t0\t');
    const ids = await archivedIds(ARCHIVE_BUCKET.localName, `tenant=${c.id}/`);
    expect(ids).toHaveLength(new Set(ids).size);
    // The 42 sent and the setup key's trailkeeper.api_key.created.
    expect(ids.filter((id) => !id.startsWith('tk_admin-key-created-')).sort()).toEqual(
      [...kept, ...lost].sort(),
    );
    // The restaged events are the archiver's lines: the API's JSON of each event.
    const cli = await archiveCli(
      ['read', '--local', '--tenant', c.id, '--from', yesterday, '--to', today()],
      env,
    );
    const restaged = cli.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .find((e) => e.id === lost[0]);
    expect(restaged).toEqual((await call('GET', `/v1/events/${lost[0]}`, c.key)).body);
  }, 180_000);
});
