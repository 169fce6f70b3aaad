/**
 * Part — integrity. Issue 6: "sealing and verifying scale linearly; verification rate (events/s)
 * and proof size at 1 M events (≈ 20 hashes)". Builds N realistic events (bench/lib/events.ts,
 * ~1 KB each) as the service stores them, seals them the way the sealer does (leaf order, at
 * most 65,536 per digest, signed with a P-256 key, chained), writes the export file an auditor
 * would download (NDJSON) plus the digests and the public key, and runs the real verifier CLI
 * (`cli/verify.ts`) on them in a fresh Node process, sampling its RSS. Separately: the Merkle
 * root over 1 M leaves (sealing cost, linear), and the inclusion proof of a leaf in a 1 M-leaf
 * tree and in a 65,536-leaf digest (the API's proofs) — hashes and bytes.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INTEGRITY } from '#shared/config/integrity.ts';
import {
  buildDigestBody,
  digestHash,
  eventLeaf,
  type SealedEvent,
  type SignedDigest,
  signingPayload,
} from '#shared/domain/digest.ts';
import { inclusionProof, merkleRoot } from '#shared/domain/merkle.ts';
import type { BenchContext } from '../lib/context.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from '../lib/events.ts';
import type { BenchPart, Headline, PartResult } from '../lib/part.ts';
import { round } from '../lib/stats.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TENANT = 'tnt_01jd0000000000000000000000';
const MIB = 2 ** 20;

const sha = (i: number): Buffer => createHash('sha256').update(String(i)).digest();

/** Writes N events (NDJSON, newest first as exports are) and their signed digests; returns sizes. */
const buildLog = async (dir: string, n: number, onProgress: (done: number) => void) => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const next = eventGenerator({
    seed: 6,
    population: HOT_DAY_POPULATION,
    occurredAt: (i) => Date.parse('2026-11-01T00:00:00.000Z') + i * 10,
    idOf: (i) => `evt-${String(i).padStart(8, '0')}`,
  });
  const start = Date.parse('2026-11-01T00:00:00.000Z');
  const out = createWriteStream(join(dir, 'events.ndjson'));
  const sealed: SealedEvent[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    // Received in order, 10 ms apart; occurred just before.
    const event = storedEvent(next(i), TENANT, start + i * 10 + 5, null);
    const line = `${JSON.stringify(event)}\n`;
    bytes += line.length;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    sealed.push({ id: event.id, received_at: event.received_at, hash: event.hash });
    if (i % 50_000 === 0) onProgress(i);
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );

  const digests: SignedDigest[] = [];
  let previousEnd = new Date(start - 1).toISOString();
  for (let i = 0; i < sealed.length; i += INTEGRITY.maxLeavesPerDigest) {
    const events = sealed.slice(i, i + INTEGRITY.maxLeavesPerDigest);
    const end = (events.at(-1) as SealedEvent).received_at;
    const previous = digests.at(-1);
    const body = buildDigestBody({
      tenantId: TENANT,
      sequence: digests.length + 1,
      start: previousEnd,
      end,
      events,
      previousDigestHash: previous === undefined ? null : digestHash(previous),
      sealedAt: end,
      signingKeyId: 'local:bench',
    });
    const signature = sign('sha256', signingPayload(body), { key: pair.privateKey, dsaEncoding: 'der' });
    digests.push({ ...body, signature: signature.toString('base64') });
    previousEnd = end;
  }
  await writeFile(join(dir, 'digests.json'), JSON.stringify({ data: digests, next: null }));
  await writeFile(
    join(dir, 'public-key.pem'),
    pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  );
  return { bytes, digests: digests.length };
};

/** Runs the verifier CLI like an auditor; returns wall time, exit code and peak RSS (VmHWM). */
const runVerifier = (
  dir: string,
): Promise<{ ms: number; code: number; peakRssMib: number; stdout: string }> =>
  new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(
      process.execPath,
      // `node --import tsx` (not the tsx CLI, which runs the script in a child): the RSS sampled is the verifier's.
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'cli/verify.ts'),
        '--events',
        join(dir, 'events.ndjson'),
        '--digests',
        join(dir, 'digests.json'),
        '--public-key',
        join(dir, 'public-key.pem'),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let stdout = '';
    let peakKb = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const sample = setInterval(() => {
      readFile(`/proc/${child.pid}/status`, 'utf8').then(
        (status) => {
          const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
          peakKb = Math.max(peakKb, kb);
        },
        () => {},
      );
    }, 200);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sample);
      resolve({
        ms: performance.now() - startedAt,
        code: code ?? -1,
        peakRssMib: round(peakKb / 1024, 0),
        stdout,
      });
    });
  });

const time = <T>(fn: () => T): { value: T; ms: number } => {
  const startedAt = performance.now();
  const value = fn();
  return { value, ms: performance.now() - startedAt };
};

export const integrityPart: BenchPart = {
  name: 'integrity',
  title: 'Integrity: sealing, verification rate, proof size',
  needsStack: false,
  async run(ctx: BenchContext): Promise<PartResult> {
    const n = ctx.quick ? 100_000 : 1_000_000;

    // Sealing cost: the Merkle root over 1 M leaves, and over half of them (linear?).
    const leaves = Array.from({ length: 1_000_000 }, (_, i) => eventLeaf(sha(i).toString('hex')));
    const half = time(() => merkleRoot(leaves.slice(0, 500_000)));
    const full = time(() => merkleRoot(leaves));
    const proof1m = inclusionProof(leaves, 777_777);
    const digestLeaves = leaves.slice(0, INTEGRITY.maxLeavesPerDigest);
    const proofDigest = time(() => inclusionProof(digestLeaves, 12_345));
    const proofBytes = (hashes: readonly Buffer[]) =>
      JSON.stringify(hashes.map((h) => h.toString('hex'))).length;

    const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-bench-verify-'));
    try {
      ctx.progress.step(`building ${n.toLocaleString('en-US')} stored events and their digests`);
      const log = await buildLog(dir, n, (done) => ctx.progress.tick(done, n, 'events'));
      ctx.progress.step('running the verifier CLI on the export');
      const verified = await runVerifier(dir);
      const ok = verified.code === 0 && verified.stdout.includes('PASSED');
      const rate = ok ? Math.round(n / (verified.ms / 1000)) : null;
      const headlines: Headline[] = [
        {
          key: 'verify_events_per_s',
          value: rate,
          note: `verifier CLI on a ${n.toLocaleString('en-US')}-event NDJSON export (${round(log.bytes / MIB, 0)} MiB, ${log.digests} digests), end to end incl. parsing, one process`,
        },
        {
          key: 'proof_hashes_at_1m',
          value: proof1m.length,
          target: '≈ 20',
          met: proof1m.length <= 20,
          note: `inclusion proof of a leaf in a 1,000,000-leaf RFC 6962 tree: ${proof1m.length} hashes, ${proofBytes(proof1m)} bytes as JSON hex`,
        },
      ];
      return {
        headlines,
        figures: {
          verify_peak_rss_mib: verified.peakRssMib,
          seal_leaves_per_s: Math.round(1_000_000 / (full.ms / 1000)),
          proof_hashes_per_digest: proofDigest.value.length,
        },
        details: {
          events: n,
          export_bytes: log.bytes,
          digests: log.digests,
          verifier: {
            ms: round(verified.ms, 0),
            exit_code: verified.code,
            peak_rss_mib: verified.peakRssMib,
          },
          merkle_root_ms: { leaves_500k: round(half.ms, 0), leaves_1m: round(full.ms, 0) },
          proof_at_1m: { hashes: proof1m.length, bytes_json: proofBytes(proof1m) },
          proof_at_digest_cap: {
            leaves: INTEGRITY.maxLeavesPerDigest,
            hashes: proofDigest.value.length,
            ms: round(proofDigest.ms, 1),
          },
        },
        tables: [
          {
            title: 'Integrity',
            columns: ['measure', 'value'],
            rows: [
              ['events verified (CLI, end to end)', n],
              ['verification rate, events/s', rate],
              ['verifier peak RSS, MiB', verified.peakRssMib],
              ['Merkle root, 500k leaves, ms', round(half.ms, 0)],
              ['Merkle root, 1M leaves, ms', round(full.ms, 0)],
              ['proof at 1M leaves, hashes', proof1m.length],
              ['proof at 1M leaves, bytes (JSON)', proofBytes(proof1m)],
              [`proof in a ${INTEGRITY.maxLeavesPerDigest}-leaf digest, hashes`, proofDigest.value.length],
              ['building that proof, ms', round(proofDigest.ms, 1)],
            ],
            notes: [
              ok ? 'the verifier passed the untouched export' : `the verifier FAILED (exit ${verified.code})`,
            ],
          },
        ],
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
