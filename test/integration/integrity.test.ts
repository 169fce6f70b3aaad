/**
 * Tamper evidence end to end, on a stack of its own with a short sealing watermark (the sealer
 * and the integrity scan are invoked by the test): events are sealed into signed, chained
 * digests; every event gets an inclusion proof that leads to its digest's signed root; events
 * written around a seal land in exactly one digest; the scan finds a tampered event.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import {
  chainProblems,
  eventLeaf,
  publicKeyFromPem,
  type SignedDigest,
  verifyDigestSignature,
} from '#shared/domain/digest.ts';
import { verifyInclusion } from '#shared/domain/merkle.ts';
import type { ScanResult } from '#shared/usecases/integrity-scan.ts';
import { runCli, stackClient } from './own-stack.ts';

const OPERATOR = 'tk_op_integrity-integration-test-operator-key-00000';
const LAG_MS = 1500;

let stack: LocalStack;
let dynamo: DynamoDBClient;

const client = stackClient(() => stack, OPERATOR);
const { call } = client;
const newTenant = (shards = 2) => client.newTenant(shards, ['events:write', 'events:read', 'exports:write']);
const ingest = (key: string, ids: string[]) => client.ingest(key, ids, 'secret.key.rotated');

/** Waits out the watermark, then seals. */
const seal = async () => {
  await sleep(LAG_MS + 50);
  return stack.runScheduled('sealer');
};

const digestsOf = async (key: string): Promise<SignedDigest[]> => {
  const res = await call('GET', `/v1/integrity/digests?from=2000-01-01T00:00:00Z`, key);
  expect(res.status).toBe(200);
  return res.body.data;
};

const verifyCli = (args: string[], env: Record<string, string> = {}) => runCli('cli/verify.ts', args, env);

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

beforeAll(async () => {
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    logLevel: 'ERROR',
    sealWatermarkLagMs: LAG_MS,
    scheduleEveryMs: { 'retention-worker': 0 },
  });
  dynamo = new DynamoDBClient(localDynamoDbClientConfig(stack.dynamoEndpoint));
}, 120_000);

afterAll(async () => {
  dynamo?.destroy();
  await stack?.stop();
});

describe('integrity', () => {
  it('publishes the public key without authentication', async () => {
    const res = await call('GET', '/v1/integrity/public-key');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      algorithm: 'ECDSA_SHA_256',
      curve: 'P-256',
      key_id: expect.stringMatching(/^local:/),
    });
    expect(createPublicKey(res.body.public_key_pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('seals events into signed, chained digests, and proves each event into exactly one', async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const first = ids('a', 150);
    await ingest(tenant.key, first.slice(0, 100));
    await ingest(tenant.key, first.slice(100));
    await ingest(other.key, ids('o', 3));
    await seal();

    // A write just before a seal (inside the watermark) and a retry of a sealed event after it.
    const late = ids('late', 5);
    await ingest(tenant.key, late);
    await stack.runScheduled('sealer'); // the watermark excludes `late` from this run
    // A client retry: a replay (200), not a new event.
    const retry = await call('POST', '/v1/events', tenant.key, {
      events: first
        .slice(0, 10)
        .map((id) => ({ id, action: 'secret.key.rotated', actor: { id: 'u1' }, metadata: { id } })),
    });
    expect(retry.status).toBe(200);
    await seal();

    const digests = await digestsOf(tenant.key);
    const { public_key_pem } = (await call('GET', '/v1/integrity/public-key')).body;
    const key = publicKeyFromPem(public_key_pem);
    expect(digests.map((d) => d.sequence)).toEqual(digests.map((_, i) => i + 1));
    expect(digests.every((d) => verifyDigestSignature(d, key))).toBe(true);
    expect(chainProblems(digests)).toEqual([]);
    expect(digests[0]?.previous_digest_hash).toBeNull();
    expect(digests.reduce((n, d) => n + d.event_count, 0)).toBe(first.length + late.length + 1);
    // The other tenant's digests are its own.
    expect((await digestsOf(other.key)).map((d) => d.event_count)).toEqual([4]);

    const sequences = new Map<string, number>();
    for (const id of [...first, ...late]) {
      const res = await call('GET', `/v1/events/${id}/proof`, tenant.key);
      expect(res.status, id).toBe(200);
      const proof = res.body;
      const root = Buffer.from(proof.digest.merkle_root, 'hex');
      const path = proof.audit_path.map((h: string) => Buffer.from(h, 'hex'));
      expect(
        verifyInclusion(eventLeaf(proof.event_hash), proof.leaf_index, proof.tree_size, path, root),
      ).toBe(true);
      expect(digests.find((d) => d.sequence === proof.digest.sequence)).toEqual(proof.digest);
      expect(path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(proof.tree_size)));
      sequences.set(id, proof.digest.sequence);
    }
    const firstSequence = sequences.get(first[0] as string);
    expect(first.every((id) => sequences.get(id) === firstSequence)).toBe(true);
    expect(late.every((id) => (sequences.get(id) ?? 0) > (firstSequence ?? 0))).toBe(true);
  });

  it('answers 404 for an event not sealed yet, and for another tenant', async () => {
    const tenant = await newTenant(1);
    const other = await newTenant(1);
    await ingest(tenant.key, ['fresh']);
    const unsealed = await call('GET', '/v1/events/fresh/proof', tenant.key);
    expect(unsealed.status).toBe(404);
    expect(unsealed.headers.get('content-type')).toContain('application/problem+json');
    await seal();
    expect((await call('GET', '/v1/events/fresh/proof', tenant.key)).status).toBe(200);
    expect((await call('GET', '/v1/events/fresh/proof', other.key)).status).toBe(404);
    const bad = await call('GET', '/v1/integrity/digests?from=yesterday', tenant.key);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('from');
    expect((await call('GET', '/v1/integrity/digests')).status).toBe(401);
  });

  it('finds a stored event that no longer matches its sealed hash', async () => {
    const tenant = await newTenant(1);
    await ingest(tenant.key, ids('s', 20));
    await seal();
    const clean = (await stack.runScheduled('integrity-scan')) as ScanResult;
    expect(clean.findings).toEqual([]);
    expect(clean.events).toBeGreaterThanOrEqual(20);

    await ingest(tenant.key, ids('t', 5));
    await seal();
    // Someone with table access rewrites an event's hash after it was sealed.
    await dynamo.send(
      new UpdateItemCommand({
        TableName: EVENTS_TABLE.localName,
        Key: { pk: { S: `${tenant.id}#t-2` } },
        UpdateExpression: 'SET #hash = :hash',
        ExpressionAttributeNames: { '#hash': 'hash' },
        ExpressionAttributeValues: { ':hash': { S: 'f'.repeat(64) } },
      }),
    );
    const scan = (await stack.runScheduled('integrity-scan')) as ScanResult;
    expect(scan.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          tenantId: tenant.id,
          problem: 'event t-2: stored but not sealed in this interval (inserted or altered)',
        }),
        expect.objectContaining({
          tenantId: tenant.id,
          problem: 'event t-2: stored content does not match its sealed hash',
        }),
      ]),
    );
    // The proof of the altered event fails; its neighbours' proofs rest on the sealed leaves.
    expect((await call('GET', '/v1/events/t-2/proof', tenant.key)).status).toBe(409);
    expect((await call('GET', '/v1/events/t-1/proof', tenant.key)).status).toBe(200);
  });

  it('lets an auditor verify an export offline, and catches each kind of tampering in it', async () => {
    const tenant = await newTenant(2);
    await ingest(tenant.key, ids('x', 100));
    await seal();
    await ingest(tenant.key, ids('y', 40));
    await seal(); // two digests: x-… in the first, y-… in the second
    const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-verify-'));
    try {
      const files: Record<string, string> = {};
      const records: Record<string, string> = {};
      for (const format of ['ndjson', 'csv', 'json'] as const) {
        const created = await call('POST', '/v1/exports', tenant.key, {
          format,
          from: '2026-01-01T00:00:00Z',
        });
        expect(created.status).toBe(201);
        // The export's record: its cut-off, window and row count, for the verifier.
        records[format] = join(dir, `export-record.${format}.json`);
        await writeFile(records[format] as string, JSON.stringify(created.body));
        const redirect = await fetch(`${stack.url}/v1/exports/${created.body.id}/download`, {
          headers: { authorization: `Bearer ${tenant.key}` },
          redirect: 'manual',
        });
        // The file exactly as an auditor downloads it (CSV with its BOM).
        const file = await fetch(redirect.headers.get('location') ?? '');
        files[format] = join(dir, `export.${format}`);
        await writeFile(files[format] as string, Buffer.from(await file.arrayBuffer()));
      }
      const digests = join(dir, 'digests.json');
      await writeFile(
        digests,
        JSON.stringify(
          (await call('GET', '/v1/integrity/digests?from=2000-01-01T00:00:00Z', tenant.key)).body,
        ),
      );
      const key = join(dir, 'public-key.json');
      await writeFile(key, JSON.stringify((await call('GET', '/v1/integrity/public-key')).body));

      const verify = (events: string, record = records.ndjson as string) =>
        verifyCli(['--events', events, '--record', record, '--digests', digests, '--public-key', key]).then(
          (out) => ({ code: 0, stdout: out.stdout }),
          (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
        );
      for (const format of ['ndjson', 'csv', 'json']) {
        const result = await verify(files[format] as string, records[format]);
        expect(result.stdout, format).toContain('Trailkeeper integrity verification: PASSED');
        // The later exports also hold the earlier ones' audit_log.exported events, not sealed yet.
        expect(result.stdout, format).toMatch(/: 141 of 14[1-5] event\(s\) proven/);
        expect(result.code, format).toBe(0);
      }

      const lines = (await readFile(files.ndjson as string, 'utf8')).trim().split('\n');
      const tampered = async (name: string, content: string[]) => {
        const path = join(dir, `${name}.ndjson`);
        await writeFile(path, `${content.join('\n')}\n`);
        return verify(path);
      };
      const edited = await tampered(
        'edited',
        lines.map((line) => (line.includes('"x-7"') ? line.replace('"u1"', '"u2"') : line)),
      );
      expect(edited.code).toBe(1);
      expect(edited.stdout).toContain('event x-7');
      expect(edited.stdout).toContain('hash mismatch');
      const removed = await tampered(
        'removed',
        lines.filter((line) => !line.includes('"x-50"')),
      );
      expect(removed.code).toBe(1);
      expect(removed.stdout).toMatch(/of \d+ events present/);
      expect(removed.stdout).toContain('the record says 141 rows, the file holds 140');
      const forged = JSON.parse(lines[0] as string);
      const inserted = await tampered('inserted', [...lines, JSON.stringify({ ...forged, id: 'forged' })]);
      expect(inserted.code).toBe(1);

      // Tampering with the digests themselves.
      const page = JSON.parse(await readFile(digests, 'utf8')) as { data: SignedDigest[] };
      expect(page.data.map((d) => d.sequence)).toEqual([1, 2]);
      const [d1, d2] = page.data as [SignedDigest, SignedDigest];
      const withDigests = async (name: string, data: unknown[]) => {
        const path = join(dir, `${name}.json`);
        await writeFile(path, JSON.stringify({ data }));
        return verifyCli([
          ...['--events', files.ndjson as string, '--record', records.ndjson as string],
          ...['--digests', path, '--public-key', key],
        ]).then(
          (out) => ({ code: 0, stdout: out.stdout }),
          (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
        );
      };
      const edited2 = await withDigests('edited-digest', [d1, { ...d2, event_count: d2.event_count - 1 }]);
      expect(edited2.code).toBe(1);
      expect(edited2.stdout).toContain('digest 2: signature invalid');
      const broken = await withDigests('broken-chain', [d1, { ...d2, previous_digest_hash: 'f'.repeat(64) }]);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain('previous_digest_hash does not match digest 1');
      const reordered = await withDigests('reordered', [
        { ...d2, sequence: 1 },
        { ...d1, sequence: 2 },
      ]);
      expect(reordered.code).toBe(1);
      // Without digest 1, its events are sealed by nothing the auditor was given: a warning
      // (a later digest may anchor a later period), a failure under --strict.
      const dropped = await withDigests('dropped', [d2]);
      expect(dropped.stdout).toMatch(/warning/i);
      const strict = await verifyCli([
        '--events',
        files.ndjson as string,
        '--record',
        records.ndjson as string,
        '--digests',
        join(dir, 'dropped.json'),
        '--public-key',
        key,
        '--strict',
      ]).then(
        () => 0,
        (error: { code: number }) => error.code,
      );
      expect(strict).toBe(1);
      const { generateKeyPairSync, sign } = await import('node:crypto');
      const { signingPayload } = await import('#shared/domain/digest.ts');
      const impostor = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const { signature: _s, ...body } = d2;
      const replaced = {
        ...body,
        merkle_root: '0'.repeat(64),
        signature: sign('sha256', signingPayload(body as never), {
          key: impostor.privateKey,
          dsaEncoding: 'der',
        }).toString('base64'),
      };
      const swapped = await withDigests('replaced', [d1, replaced]);
      expect(swapped.code).toBe(1);
      expect(swapped.stdout).toContain('digest 2: signature invalid');

      // Straight from the API, with every inclusion proof.
      const online = await verifyCli(
        [
          '--api',
          stack.url,
          '--from',
          '2026-01-01T00:00:00Z',
          '--to',
          new Date().toISOString(),
          '--partial',
          '--proofs',
        ],
        {
          TRAILKEEPER_API_KEY: tenant.key,
        },
      );
      expect(online.stdout).toContain('Trailkeeper integrity verification: PASSED');
      expect(online.stdout).not.toContain(tenant.key);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
