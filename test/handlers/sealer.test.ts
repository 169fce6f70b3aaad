import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { KmsSigner } from '#shared/adapters/signer.ts';
import {
  digestHash,
  eventLeaf,
  publicKeyFromPem,
  type SignedDigest,
  signingPayload,
  verifyDigestSignature,
} from '#shared/domain/digest.ts';
import { merkleRoot } from '#shared/domain/merkle.ts';
import { scheduledEvent, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const kms = mockClient(KMSClient);
let handler: typeof import('#functions/sealer.ts').handler;
let dir: string;

const CREATED = '2026-03-01T00:00:00.000Z';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const LAG_MS = 960_000; // INTEGRITY.watermarkLagSeconds: the export worker's 900 s timeout + 60 s
const WATERMARK = new Date(NOW - LAG_MS).toISOString();
const context = { getRemainingTimeInMillis: () => 300_000 } as Context;

const hash = (i: number) => i.toString(16).padStart(64, '0');
/** The seal index: shard → items (seal_sk, hash), received within the morning. */
const index = (shard: number) =>
  Array.from({ length: 3 }, (_, i) => ({
    seal_sk: `2026-03-01T10:0${i}:00.000Z#e${shard}-${i}`,
    hash: hash(shard * 10 + i),
  }));

let tenant: Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealer-test-'));
  const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  await writeFile(join(dir, 'key.pem'), pem);
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('ARCHIVE_BUCKET', 'archive-test');
  vi.stubEnv('TRAILKEEPER_SIGNING_KEY_FILE', join(dir, 'key.pem'));
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  ({ handler } = await import('#functions/sealer.ts'));
});

afterAll(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  ddb.reset();
  s3.reset();
  tenant = {
    pk: `TENANT#${TENANT}`,
    sk: 'TENANT',
    id: TENANT,
    name: 'A',
    plan: 'pro',
    shards: 2,
    created_at: CREATED,
  };
  ddb
    .on(QueryCommand, { TableName: 'control-test', IndexName: 'tenants' })
    .resolves({ Items: [{ id: TENANT }] });
  ddb.on(GetCommand, { TableName: 'control-test' }).callsFake(() => ({ Item: tenant }));
  ddb.on(QueryCommand, { TableName: 'events-test' }).callsFake((input) => {
    const [, shard, hour] = String(input.ExpressionAttributeValues[':pk']).split('#');
    return { Items: hour === '2026-03-01T10' ? index(Number(shard)) : [] };
  });
  ddb.on(TransactWriteCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
});

describe('sealer', () => {
  it('seals the events received up to the watermark into one signed digest, stored in S3 then DynamoDB', async () => {
    expect(await handler(scheduledEvent(), context)).toEqual({
      tenants: 1,
      digests: 1,
      events: 6,
      pending: 0,
    });

    const queries = ddb.commandCalls(QueryCommand, { TableName: 'events-test' }).map((c) => c.args[0].input);
    // Every shard, every hour from the tenant's creation to the watermark (00 … 11).
    expect(queries).toHaveLength(2 * 12);
    expect(queries[0]).toMatchObject({
      IndexName: 'bySeal',
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
      ExpressionAttributeValues: {
        ':pk': `${TENANT}#0#2026-03-01T00`,
        ':low': '2026-03-01T00:00:00.001Z',
        ':high': `${WATERMARK}#\uffff`,
      },
      ProjectionExpression: '#sk, #hash',
    });

    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    // The sealed event hashes first (what proofs are built from), then the digest.
    expect(puts.map((p) => p.Key)).toEqual([
      `digests/tenant=${TENANT}/0000000001.leaves`,
      `digests/tenant=${TENANT}/0000000001.json`,
    ]);
    expect(puts[0]?.IfNoneMatch).toBe('*');
    const put = puts[1];
    expect(put).toMatchObject({
      Bucket: 'archive-test',
      Key: `digests/tenant=${TENANT}/0000000001.json`,
      ContentType: 'application/json',
      IfNoneMatch: '*',
    });
    const digest = JSON.parse(String(put?.Body)) as SignedDigest;
    // Leaves in received order across both shards.
    const order = [0, 1, 2].flatMap((i) => [0, 1].map((shard) => hash(shard * 10 + i)));
    expect(Buffer.from(puts[0]?.Body as Buffer).toString('hex')).toBe(order.join(''));
    expect(digest).toMatchObject({
      version: 1,
      tenant_id: TENANT,
      sequence: 1,
      interval: { start: CREATED, end: WATERMARK },
      event_count: 6,
      first_event: { id: 'e0-0', received_at: '2026-03-01T10:00:00.000Z' },
      last_event: { id: 'e1-2', received_at: '2026-03-01T10:02:00.000Z' },
      merkle_root: merkleRoot(order.map(eventLeaf)).toString('hex'),
      previous_digest_hash: null,
      signature_algorithm: 'ECDSA_SHA_256',
    });
    const { LocalSigner } = await import('#shared/adapters/signer.ts');
    const { readFile } = await import('node:fs/promises');
    const signer = LocalSigner.fromPem(await readFile(join(dir, 'key.pem'), 'utf8'));
    expect(verifyDigestSignature(digest, publicKeyFromPem((await signer.publicKey()).public_key_pem))).toBe(
      true,
    );

    const transaction = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems;
    expect(transaction?.[0]?.Put).toMatchObject({
      TableName: 'control-test',
      Item: { pk: `TENANT#${TENANT}`, sk: `DIGEST#${WATERMARK}`, sequence: 1, digest },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(transaction?.[1]?.Update).toMatchObject({
      Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' },
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#seal)',
      ExpressionAttributeValues: {
        ':seal': { sequence: 1, end: WATERMARK, digest_hash: digestHash(digest) },
      },
    });
  });

  it('chains the next digest to the last one, from where it ended', async () => {
    tenant.seal = { sequence: 7, end: '2026-03-01T09:30:00.000Z', digest_hash: 'a'.repeat(64) };
    await handler(scheduledEvent(), context);
    const digest = JSON.parse(String(s3.commandCalls(PutObjectCommand)[1]?.args[0].input.Body));
    expect(digest).toMatchObject({
      sequence: 8,
      previous_digest_hash: 'a'.repeat(64),
      interval: { start: '2026-03-01T09:30:00.000Z' },
    });
    const update = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1]?.Update;
    expect(update).toMatchObject({
      ConditionExpression: 'attribute_exists(pk) AND #seal.#sequence = :previous',
      ExpressionAttributeValues: { ':previous': 7 },
    });
  });

  it('writes nothing for a quiet tenant until a heartbeat is due', async () => {
    tenant.seal = { sequence: 3, end: '2026-03-01T11:00:00.000Z', digest_hash: 'b'.repeat(64) };
    ddb.on(QueryCommand, { TableName: 'events-test' }).resolves({ Items: [] });
    expect(await handler(scheduledEvent(), context)).toMatchObject({ digests: 0 });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    tenant.seal = { sequence: 3, end: '2026-02-28T10:00:00.000Z', digest_hash: 'b'.repeat(64) };
    expect(await handler(scheduledEvent(), context)).toMatchObject({ digests: 1, events: 0 });
  });

  it('adopts the digest a crashed run already wrote to S3 instead of signing a second one', async () => {
    const preconditionFailed = () =>
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
      });
    const objects = new Map<string, Buffer>();
    let existing: SignedDigest | undefined;
    // The crashed run stored the leaves and its own signed digest; both puts now fail their condition.
    s3.on(PutObjectCommand).callsFake((input) => {
      const body = Buffer.from(input.Body as string | Buffer);
      if (String(input.Key).endsWith('.json')) {
        existing = {
          ...JSON.parse(body.toString('utf8')),
          sealed_at: '2026-03-01T11:00:00.000Z',
          signature: 'earlier',
        };
        objects.set(input.Key, Buffer.from(JSON.stringify(existing)));
      } else objects.set(input.Key, body);
      throw preconditionFailed();
    });
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    s3.on(GetObjectCommand).callsFake((input) => ({
      Body: { transformToByteArray: async () => new Uint8Array(objects.get(input.Key) as Buffer) },
    }));
    await handler(scheduledEvent(), context);
    const saved = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Put?.Item;
    expect(saved?.digest).toEqual(existing);
  });
});

describe('KMS signer', () => {
  it('signs the raw payload with ECDSA_SHA_256 and yields signatures node:crypto verifies', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const arn = 'arn:aws:kms:us-east-1:123456789012:key/0000';
    kms.reset();
    kms.on(GetPublicKeyCommand).resolves({
      KeyId: arn,
      KeySpec: 'ECC_NIST_P256',
      PublicKey: pair.publicKey.export({ format: 'der', type: 'spki' }),
    });
    kms.on(SignCommand).callsFake((input) => ({
      Signature: sign('sha256', Buffer.from(input.Message), { key: pair.privateKey, dsaEncoding: 'der' }),
    }));
    const signer = new KmsSigner(new KMSClient({ region: 'us-east-1' }), 'alias/trailkeeper-digests');
    const body = {
      version: 1,
      tenant_id: TENANT,
      signature_algorithm: 'ECDSA_SHA_256',
    } as unknown as Parameters<typeof signingPayload>[0];
    const signature = await signer.sign(signingPayload(body));
    expect(kms.commandCalls(SignCommand)[0]?.args[0].input).toEqual({
      KeyId: arn,
      Message: signingPayload(body),
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(kms.commandCalls(GetPublicKeyCommand)[0]?.args[0].input).toEqual({
      KeyId: 'alias/trailkeeper-digests',
    });
    const info = await signer.publicKey();
    expect(info).toMatchObject({ key_id: arn, algorithm: 'ECDSA_SHA_256', curve: 'P-256' });
    const digest = {
      ...body,
      signature_algorithm: 'ECDSA_SHA_256',
      signature: signature.toString('base64'),
    } as SignedDigest;
    expect(verifyDigestSignature(digest, publicKeyFromPem(info.public_key_pem))).toBe(true);
  });
});
