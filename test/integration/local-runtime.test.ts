/**
 * The local runtime started by global-setup.ts: the gateway answers like API Gateway, DynamoDB
 * Local holds the tables of tables.ts (indexes, stream, TTL), s3rver answers, and the real
 * handlers reach the stores through the environment the stack set.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localDynamoDbClientConfig, parseJavaMajor, startDynamoDbLocal } from '#infra/local/dynamodb.ts';
import { ensureBuckets, localS3ClientConfig } from '#infra/local/s3.ts';
import { createTableInput, ensureTables } from '#infra/local/tables.ts';
import { ENV } from '#shared/config/env.ts';
import { EVENTS_TABLE, TABLES, type TableDefinition } from '#shared/config/tables.ts';
import { createTenant } from './client.ts';

const baseUrl = inject('baseUrl');
const operatorKey = inject('operatorKey');

describe('local gateway', () => {
  it('answers an unknown path with 404 problem+json', async () => {
    const response = await fetch(`${baseUrl}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toEqual({
      type: '/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: 'No route for /v1/nothing-here.',
    });
  });

  it('answers a known path with the wrong method with 405 problem+json', async () => {
    const response = await fetch(`${baseUrl}/v1/events`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('allow')).toBe('POST, GET');
    expect(await response.json()).toMatchObject({ type: '/problems/method-not-allowed', status: 405 });
  });

  it('answers an authorized route without Authorization with 401 problem+json', async () => {
    const response = await fetch(`${baseUrl}/v1/events`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: '/problems/unauthorized', status: 401 });
  });

  it('serves GET /health without credentials', async () => {
    const response = await fetch(`${baseUrl}/health`);
    expect(response.status).toBe(200);
  });

  it('lets the real handlers reach DynamoDB Local through the environment', async () => {
    const headers = { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${baseUrl}/v1/tenants`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Local runtime check' }),
    });
    expect(created.status).toBe(201);
    const tenant = (await created.json()) as { id: string };
    const read = await fetch(`${baseUrl}/v1/tenants/${encodeURIComponent(tenant.id)}`, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: tenant.id, name: 'Local runtime check' });
  });
});

describe('public URL', () => {
  /** A POST with exactly these headers (fetch would not send a Host of our choosing). */
  const rawPost = (path: string, headers: Record<string, string>, body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(path, baseUrl);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it("is the gateway's own URL in the handlers' environment", () => {
    expect(inject('localEnv')[ENV.publicUrl]).toBe(baseUrl);
  });

  it('builds download links from the local stack URL, whatever Host and X-Forwarded-Host say', async () => {
    const tenant = await createTenant();
    const response = await rawPost(
      '/v1/exports',
      {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        authorization: `Bearer ${tenant.key}`,
        'content-type': 'application/json',
      },
      JSON.stringify({ format: 'json' }),
    );
    expect(response.status).toBe(201);
    const created = JSON.parse(response.body) as { id: string; status: string; download_url: string };
    expect(created.status).toBe('completed');
    expect(created.download_url).toBe(`${baseUrl}/v1/exports/${created.id}/download`);
    expect(response.body).not.toContain('evil.example');
  });
});

describe('local DynamoDB', () => {
  const client = new DynamoDBClient(localDynamoDbClientConfig(inject('dynamoEndpoint')));
  afterAll(() => client.destroy());

  for (const definition of TABLES as readonly TableDefinition[]) {
    it(`has table ${definition.localName} with the indexes, stream and TTL of tables.ts`, async () => {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: definition.localName }));
      expect(Table?.KeySchema?.[0]).toEqual({ AttributeName: definition.partitionKey, KeyType: 'HASH' });
      const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
        name: index.IndexName,
        keys: index.KeySchema?.map((key) => key.AttributeName),
        projection: index.Projection?.NonKeyAttributes ?? [],
        type: index.Projection?.ProjectionType,
      }));
      const expected = Object.values(definition.indexes).map((index) => ({
        name: index.name,
        keys: [index.partitionKey, index.sortKey],
        projection: [...index.projection],
        type: index.projection.length === 0 ? 'KEYS_ONLY' : 'INCLUDE',
      }));
      expect(indexes).toEqual(expect.arrayContaining(expected));
      expect(indexes).toHaveLength(expected.length);
      expect(Table?.StreamSpecification?.StreamEnabled ?? false).toBe(definition.stream !== undefined);

      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: definition.localName }));
      if (definition.ttlAttribute === undefined) {
        expect(ttl.TimeToLiveDescription?.TimeToLiveStatus ?? 'DISABLED').toBe('DISABLED');
      } else {
        expect(ttl.TimeToLiveDescription).toEqual({
          TimeToLiveStatus: 'ENABLED',
          AttributeName: definition.ttlAttribute,
        });
      }
    });
  }
});

describe('table provisioning', () => {
  const client = new DynamoDBClient(localDynamoDbClientConfig(inject('dynamoEndpoint')));
  afterAll(() => client.destroy());

  it('derives one attribute definition per distinct key attribute', () => {
    const input = createTableInput(EVENTS_TABLE);
    const names = input.AttributeDefinitions?.map((attribute) => attribute.AttributeName) ?? [];
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['pk', 'sk', 'time_pk', 'actor_pk', 'team_pk']));
    expect(input.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('is idempotent on existing tables', async () => {
    expect(await ensureTables(client)).toEqual([]);
  });

  it('adds an index that the definition gained since the table was created', async () => {
    const base: TableDefinition = {
      id: 'Scratch',
      envVar: 'SCRATCH_TABLE',
      localName: `scratch-${Date.now()}`,
      partitionKey: 'pk',
      indexes: {},
    };
    expect(await ensureTables(client, [base])).toEqual([base.localName]);
    const grown = {
      ...base,
      indexes: { byColour: { name: 'byColour', partitionKey: 'colour', sortKey: 'sk', projection: ['doc'] } },
    };
    expect(await ensureTables(client, [grown])).toEqual([]);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: base.localName }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['byColour']);
  });

  it('keeps data across a DynamoDB Local restart when given a data directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trailkeeper-ddb-test-'));
    try {
      const first = await startDynamoDbLocal({ dataDir });
      const firstClient = new DynamoDBClient(localDynamoDbClientConfig(first.endpoint));
      expect(await ensureTables(firstClient)).toHaveLength(TABLES.length);
      const Item = { pk: { S: 'TENANT#t1' }, sk: { S: 'PROFILE' } };
      await firstClient.send(new PutItemCommand({ TableName: 'trailkeeper-control', Item }));
      firstClient.destroy();
      await first.stop();

      const second = await startDynamoDbLocal({ dataDir });
      const secondClient = new DynamoDBClient(localDynamoDbClientConfig(second.endpoint));
      try {
        expect(await ensureTables(secondClient)).toEqual([]);
        const read = await secondClient.send(
          new GetItemCommand({ TableName: 'trailkeeper-control', Key: Item }),
        );
        expect(read.Item).toEqual(Item);
      } finally {
        secondClient.destroy();
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Java version check', () => {
  it('reads modern and legacy `java -version` output', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajor('command not found')).toBeUndefined();
  });
});

describe('local S3', () => {
  const endpoint = inject('s3Endpoint');
  const client = new S3Client(localS3ClientConfig(endpoint));
  afterAll(() => client.destroy());

  it('answers ListBuckets', async () => {
    const result = await client.send(new ListBucketsCommand({}));
    expect(result.$metadata.httpStatusCode).toBe(200);
  });

  it('stores bodies byte for byte and pages ListObjectsV2 (the two s3rver traps)', async () => {
    const Bucket = 'trailkeeper-local-runtime-test';
    await ensureBuckets(endpoint, [Bucket]);
    await ensureBuckets(endpoint, [Bucket]); // idempotent
    const body = '{"line":1}\n{"line":2}\n';
    await client.send(new PutObjectCommand({ Bucket, Key: 'a.ndjson', Body: body }));
    await client.send(new PutObjectCommand({ Bucket, Key: 'b.ndjson', Body: Buffer.from(body) }));

    const read = await client.send(new GetObjectCommand({ Bucket, Key: 'a.ndjson' }));
    expect(await read.Body?.transformToString()).toBe(body);
    const page = await client.send(new ListObjectsV2Command({ Bucket, MaxKeys: 1 }));
    expect(page.IsTruncated).toBe(true);
    expect(page.Contents?.map((object) => object.Key)).toEqual(['a.ndjson']);
    const next = await client.send(
      new ListObjectsV2Command({ Bucket, MaxKeys: 1, ContinuationToken: page.NextContinuationToken }),
    );
    expect(next.Contents?.map((object) => object.Key)).toEqual(['b.ndjson']);
  });
});
