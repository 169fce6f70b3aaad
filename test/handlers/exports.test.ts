import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
let handler: typeof import('#functions/exports.ts').handler;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EXPORTS_BUCKET', 'exports-test');
  vi.stubEnv('EXPORT_QUEUE_URL', 'https://sqs.test/123/export-jobs');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/exports.ts'));
});

afterEach(() => {
  ddb.reset();
  s3.reset();
  sqs.reset();
});

const exporter = keyContext('exports:write');
const NOW = Date.now();
const item = (i: number) => {
  const built = buildStoredEvent(
    {
      id: `e${String(i).padStart(6, '0')}`,
      action: 'auth.login',
      actor: { id: 'u1' },
      occurred_at: new Date(NOW - 1000 - i).toISOString(),
    },
    { tenantId: TENANT, retentionDays: 90 },
    NOW,
    createRedactor(),
  );
  if (!built.ok) throw new Error('fixture');
  return toItem(built.event, 1);
};

describe('POST /v1/exports handler', () => {
  it('writes a small export to S3 within the request and answers 201 completed', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item(1), item(2)] });
    ddb.on(PutCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const result = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'csv', action: 'auth.login' }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body).toMatchObject({ status: 'completed', rows: 2, format: 'csv' });
    expect(body.download_url).toBe(`https://api.test/v1/exports/${body.id}/download`);

    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Bucket: 'exports-test',
      Key: `tenant=${TENANT}/exports/${body.id}.csv`,
      ContentType: 'text/csv; charset=utf-8',
    });
    expect(String(put?.Body).split('\r\n')).toHaveLength(4); // header, 2 rows, trailing empty
    const writes = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(writes.find((w) => w.TableName === 'control-test')?.Item).toMatchObject({
      sk: `EXPORT#${body.id}`,
      status: 'completed',
    });
    expect(
      writes.some((w) => w.TableName === 'events-test' && w.Item?.pk === `${TENANT}#audit-export-${body.id}`),
    ).toBe(true);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('queues an export of more than 10,000 rows and answers 202', async () => {
    let served = 0;
    ddb.on(QueryCommand).callsFake((input: { Limit: number }) => {
      const items = Array.from({ length: input.Limit }, (_, i) => item(served + i));
      served += input.Limit;
      return { Items: items, LastEvaluatedKey: { pk: 'more' } };
    });
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
    const result = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'ndjson' }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(202);
    const body = parse(result);
    expect(body).toMatchObject({ status: 'queued', rows: 0, download_url: null });
    expect(served).toBeGreaterThan(10_000);
    const message = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(message?.QueueUrl).toBe('https://sqs.test/123/export-jobs');
    expect(JSON.parse(message?.MessageBody ?? '{}')).toEqual({ tenantId: TENANT, exportId: body.id });
    expect(s3.calls()).toHaveLength(0);
  });

  it('rejects a bad format and a key without exports:write, storing nothing', async () => {
    const bad = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'xlsx' }, auth: exporter }),
      lambdaContext,
    );
    expect(bad.statusCode).toBe(400);
    expect(parse(bad).errors[0].field).toBe('format');
    const reader = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'csv' }, auth: keyContext('events:read') }),
      lambdaContext,
    );
    expect(reader.statusCode).toBe(403);
    expect(ddb.calls().length + s3.calls().length + sqs.calls().length).toBe(0);
  });
});

describe('GET /v1/exports/{id}/download handler', () => {
  const exportId = 'exp_01jd0000000000000000000000';
  const record = (status: string) => ({
    pk: `TENANT#${TENANT}`,
    sk: `EXPORT#${exportId}`,
    id: exportId,
    tenant_id: TENANT,
    status,
    format: 'json',
    filters: {},
    window: { from: 'a', to: 'b' },
    object_key: `tenant=${TENANT}/exports/${exportId}.json`,
    base_url: 'https://api.test',
    expires_at: new Date(NOW + 86_400_000).toISOString(),
    checkpoint: null,
    version: 1,
  });

  it("redirects to a fresh presigned URL for the tenant's own completed export", async () => {
    ddb.on(GetCommand).resolves({ Item: record('completed') });
    const result = await handler(
      apiEvent('GET /v1/exports/{id}/download', { params: { id: exportId }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(302);
    const location = new URL(String(result.headers?.location));
    expect(location.pathname).toContain(`/tenant%3D${TENANT}/exports/${exportId}.json`);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({
      pk: `TENANT#${TENANT}`,
      sk: `EXPORT#${exportId}`,
    });
  });

  it('answers 409 while the export runs and 404 for an unknown or malformed id', async () => {
    ddb.on(GetCommand).resolves({ Item: record('running') });
    const running = await handler(
      apiEvent('GET /v1/exports/{id}/download', { params: { id: exportId }, auth: exporter }),
      lambdaContext,
    );
    expect(running.statusCode).toBe(409);
    ddb.on(GetCommand).resolves({});
    const missing = await handler(
      apiEvent('GET /v1/exports/{id}', { params: { id: exportId }, auth: exporter }),
      lambdaContext,
    );
    expect(missing.statusCode).toBe(404);
    const malformed = await handler(
      apiEvent('GET /v1/exports/{id}', { params: { id: '../x' }, auth: exporter }),
      lambdaContext,
    );
    expect(malformed.statusCode).toBe(404);
  });
});
