/**
 * The README's "Verifying, as an auditor", followed literally: its `sh` block runs with bash, curl,
 * jq and `npm run verify` against a stack of its own (short sealing watermark, the sealer invoked by
 * the test), in a scratch folder inside the repository as an auditor's shell would be. Between
 * taking the export and fetching the digests, more events arrive and are sealed — the digest
 * sealed after the export covers events the export cannot hold — and the flow must still end in
 * PASSED; a file tampered with afterwards must not.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import type { SignedDigest } from '#shared/domain/digest.ts';
import { stackClient } from './own-stack.ts';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;
const README = join(REPO, 'README.md');
const OPERATOR = 'tk_op_auditor-flow-integration-test-operator-key-00';
const LAG_MS = 1500;

let stack: LocalStack;
let scratch: string;
const client = stackClient(() => stack, OPERATOR);

/** Waits out the watermark, then seals. */
const seal = async () => {
  await sleep(LAG_MS + 50);
  return stack.runScheduled('sealer');
};

/** The one `sh` block of the README section whose heading starts with `heading`. */
const blockOf = (markdown: string, heading: string): string => {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{2,4} /.test(line) && line.includes(heading));
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^#{2,4} /.test(line));
  const section = (end === -1 ? rest : rest.slice(0, end)).join('\n');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  expect(blocks).toHaveLength(1);
  return blocks[0] as string;
};

/** The README's offline `npm run verify` command line. */
const verifyLine = (script: string): string => {
  const line = script.split('\n').find((l) => l.startsWith('npm run verify'));
  if (line === undefined) throw new Error('no npm run verify command');
  return line;
};

/** Runs shell text with bash in the scratch folder, as the auditor would; resolves with the exit code. */
const sh = async (script: string, env: Record<string, string>) => {
  try {
    const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: scratch,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
};

beforeAll(async () => {
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    logLevel: 'ERROR',
    sealWatermarkLagMs: LAG_MS,
    scheduleEveryMs: { 'retention-worker': 0 },
  });
  // Inside the repository (gitignored), so `npm run verify` finds the package from there.
  await mkdir(join(REPO, '.test-data'), { recursive: true });
  scratch = await mkdtemp(join(REPO, '.test-data', 'auditor-'));
}, 120_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  await stack?.stop();
});

describe('README: verifying, as an auditor', () => {
  it('ends in PASSED for an untouched export taken before a later seal, and in FAILED once it is tampered with', async () => {
    const tenant = await client.newTenant(2, ['events:write', 'events:read', 'exports:write']);
    const env = { URL: stack.url, KEY: tenant.key };
    await client.ingest(
      tenant.key,
      Array.from({ length: 60 }, (_, i) => `sealed-${i}`),
    );
    await seal();
    // Received before the export, sealed only after it, with events the export cannot hold.
    await client.ingest(
      tenant.key,
      Array.from({ length: 10 }, (_, i) => `open-${i}`),
    );

    const block = blockOf(await readFile(README, 'utf8'), 'Verifying, as an auditor');
    const lines = block.split('\n');
    const digestsAt = lines.findIndex((line) => line.startsWith('from='));
    const apiAt = lines.findIndex((line) => line.startsWith('# …or straight from the API'));
    expect(digestsAt).toBeGreaterThan(0);
    expect(apiAt).toBeGreaterThan(digestsAt);
    const takeExport = lines.slice(0, digestsAt).join('\n');
    const fetchAndVerify = lines.slice(digestsAt, apiAt).join('\n');
    const fromTheApi = lines.slice(apiAt).join('\n');

    // 1. The export, its record and its file.
    const exported = await sh(takeExport, env);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const record = JSON.parse(await readFile(join(scratch, 'export-record.json'), 'utf8'));
    expect(record).toMatchObject({ status: 'completed', rows: 71, as_of: expect.any(String) });
    const file = await readFile(join(scratch, 'export.ndjson'), 'utf8');
    expect(file.trim().split('\n')).toHaveLength(71);

    // Meanwhile the tenant's trail goes on (the export's own audit event, new events) and is
    // sealed: that digest covers the open-… events of the file and others it cannot hold.
    await client.ingest(
      tenant.key,
      Array.from({ length: 10 }, (_, i) => `after-${i}`),
    );
    await seal();

    // 1 (continued) and 2: every page of digests, the public key, the offline verification.
    const verified = await sh(fetchAndVerify, env);
    const digests = (await readFile(join(scratch, 'digests.json'), 'utf8'))
      .trim()
      .split('\n')
      .flatMap((page) => (JSON.parse(page) as { data: SignedDigest[] }).data);
    expect(digests.map((d) => d.event_count)).toEqual([61, 10 + 1 + 1 + 10]);
    expect((digests.at(-1)?.interval.end ?? '') > record.as_of).toBe(true);
    expect(verified.stdout).toContain('Trailkeeper integrity verification: PASSED');
    expect(verified.stdout).toContain("(the export record's as_of)");
    expect(verified.stdout).toContain('61 of 71 event(s) proven');
    expect(verified.stdout).toContain('10 of 22 events present (missing include its last event');
    expect(verified.code).toBe(0);
    // Without the cut-off, the interval sealed after the export is required whole: what the
    // verifier used to answer for this untouched file.
    const withoutCutoff = await sh(`${verifyLine(fetchAndVerify)} --complete`, env);
    expect(withoutCutoff.stdout).toContain('Trailkeeper integrity verification: FAILED');
    expect(withoutCutoff.code).toBe(1);

    // The same command on a file with one event removed fails, naming the row count.
    await writeFile(join(scratch, 'export.ndjson'), `${file.trim().split('\n').slice(0, -1).join('\n')}\n`);
    const tampered = await sh(verifyLine(fetchAndVerify), env);
    expect(tampered.stdout).toContain('Trailkeeper integrity verification: FAILED');
    expect(tampered.stdout).toContain('the record says 71 rows, the file holds 70');
    expect(tampered.code).toBe(1);

    // Straight from the API, with every inclusion proof.
    const online = await sh(fromTheApi, env);
    expect(online.stdout).toContain('Trailkeeper integrity verification: PASSED');
    expect(`${online.stdout}${online.stderr}`).not.toContain(tenant.key);
    expect(online.code).toBe(0);
  }, 180_000);
});
