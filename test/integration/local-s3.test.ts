/**
 * The local S3's conditional writes (infra/local/s3-server.ts), against the real s3rver of the
 * global stack: a create-only write to an existing key answers 412 as AWS does, and so the
 * sealer's adoption path runs for real — a crashed run's digest object is found and adopted with
 * its signature, never replaced by a new one.
 */
import { generateKeyPairSync } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';
import { ensureBuckets, localS3ClientConfig } from '#infra/local/s3.ts';
import { DynamoControlStore } from '#shared/adapters/control-store.ts';
import { digestObjectKey, S3DynamoDigestStore } from '#shared/adapters/digest-store.ts';
import { DynamoSealStore } from '#shared/adapters/seal-store.ts';
import { LocalSigner } from '#shared/adapters/signer.ts';
import { ENV } from '#shared/config/env.ts';
import { ARCHIVE_BUCKET } from '#shared/config/storage.ts';
import type { SignedDigest } from '#shared/domain/digest.ts';
import { type SealDeps, sealTenant } from '#shared/usecases/seal.ts';
import { api, createTenant } from './client.ts';

const s3 = new S3Client(localS3ClientConfig(inject('s3Endpoint')));
const dynamo = new DynamoDBClient(localDynamoDbClientConfig(inject('dynamoEndpoint')));
const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
afterAll(() => {
  s3.destroy();
  dynamo.destroy();
});

const Bucket = 'trailkeeper-conditional-writes-test';

/** The HTTP status of a failed command (undefined when it succeeded). */
const statusOf = async (send: Promise<unknown>): Promise<number | undefined> =>
  send.then(
    () => undefined,
    (error: unknown) => (error instanceof S3ServiceException ? error.$metadata.httpStatusCode : -1),
  );

const read = async (Key: string, bucket = Bucket): Promise<string> => {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
  return (await out.Body?.transformToString()) ?? '';
};

describe('local S3 conditional writes (If-None-Match: *)', () => {
  it('creates a missing key and answers 412 PreconditionFailed for an existing one, keeping it', async () => {
    await ensureBuckets(inject('s3Endpoint'), [Bucket]);
    const Key = `digests/tenant=t1/${Date.now()}.json`;
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'first', IfNoneMatch: '*' }));

    const second = s3.send(new PutObjectCommand({ Bucket, Key, Body: 'second', IfNoneMatch: '*' }));

    await expect(second).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    expect(await read(Key)).toBe('first');
    // Without the header, a PUT still overwrites, as in AWS.
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'third' }));
    expect(await read(Key)).toBe('third');
  });

  it('answers 412 to CompleteMultipartUpload with If-None-Match when the key exists', async () => {
    await ensureBuckets(inject('s3Endpoint'), [Bucket]);
    const Key = `multipart-${Date.now()}.bin`;
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'existing' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'new' }));

    const status = await statusOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      ),
    );

    expect(status).toBe(412);
    expect(await read(Key)).toBe('existing');
  });

  it('lets exactly one of several racing create-only writes win', async () => {
    await ensureBuckets(inject('s3Endpoint'), [Bucket]);
    const Key = `race-${Date.now()}`;
    const statuses = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        statusOf(s3.send(new PutObjectCommand({ Bucket, Key, Body: `writer ${i}`, IfNoneMatch: '*' }))),
      ),
    );
    expect(statuses.filter((status) => status === undefined)).toHaveLength(1);
    // The losers are told 409 (a conditional write in progress) or 412 (the key exists), as in AWS.
    for (const status of statuses.filter((s) => s !== undefined)) expect([409, 412]).toContain(status);
  });
});

describe('sealer against the local S3', () => {
  it("adopts a crashed run's digest object with its signature instead of writing a new one", async () => {
    const env = inject('localEnv');
    const controlTable = env[ENV.controlTable] as string;
    const archiveBucket = env[ARCHIVE_BUCKET.envVar] as string;
    const tenant = await createTenant();
    const ingested = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { events: [1, 2, 3].map((i) => ({ action: 'document.shared', actor: { id: `u${i}` } })) },
    });
    expect(ingested.status).toBe(201);

    const signatures: string[] = [];
    const key = LocalSigner.fromPem(
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    );
    const signer = {
      keyId: () => key.keyId(),
      publicKey: () => key.publicKey(),
      sign: async (payload: Buffer) => {
        const signature = await key.sign(payload);
        signatures.push(signature.toString('base64'));
        return signature;
      },
    };
    const now = Date.now() + 1000; // both runs see the same watermark, hence the same interval
    const deps = (digests: S3DynamoDigestStore): SealDeps => ({
      control: new DynamoControlStore(documents, controlTable),
      events: new DynamoSealStore(documents, env[ENV.eventsTable] as string),
      digests,
      signer,
      now: () => now,
      watermarkLagMs: 0,
    });

    // A run that dies after writing the digest object, before the chain's transaction.
    const crashing = DynamoDBDocumentClient.from(
      new DynamoDBClient(localDynamoDbClientConfig(inject('dynamoEndpoint'))),
    );
    crashing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName?.startsWith('TransactWrite'))
          throw new Error('crashed before the transaction');
        return next(args);
      },
      { step: 'initialize', name: 'crashBeforeTransaction' },
    );
    const crashed = sealTenant(
      deps(new S3DynamoDigestStore(crashing, controlTable, s3, archiveBucket)),
      tenant.id,
      () => 60_000,
      0,
    );
    await expect(crashed).rejects.toThrow('crashed before the transaction');
    crashing.destroy();
    const orphan = JSON.parse(await read(digestObjectKey(tenant.id, 1), archiveBucket)) as SignedDigest;
    expect(orphan.signature).toBe(signatures[0]);

    // The next run signs its digest again, finds the object (412) and adopts the stored one.
    const store = new S3DynamoDigestStore(documents, controlTable, s3, archiveBucket);
    const result = await sealTenant(deps(store), tenant.id, () => 60_000, 0);

    // Its three events and the setup key's trailkeeper.api_key.created.
    expect(result).toEqual({ digests: 1, events: 4 });
    expect(signatures).toHaveLength(2);
    expect(signatures[1]).not.toBe(signatures[0]); // ECDSA: a new signature each time
    const [sealed] = await store.after(tenant.id, '', 10);
    expect(sealed).toEqual(orphan);
    expect(sealed?.signature).toBe(signatures[0]);
    expect(JSON.parse(await read(digestObjectKey(tenant.id, 1), archiveBucket))).toEqual(orphan);
  });
});
