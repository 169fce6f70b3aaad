import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toItem as eventItem, fromItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent } from '#shared/domain/event.ts';
import { kindId } from '#shared/domain/kinds.ts';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

/** A person's authorizer context, as the authorizer builds it from a viewer session. */
const personContext = (overrides: Partial<AuthorizerContext> = {}): AuthorizerContext => ({
  kind: 'person',
  tenantId: TENANT,
  userId: 'user_ada',
  userEmail: 'ada@example.com',
  role: 'team_admin',
  teams: 'team_a,team_b',
  permissions: 'view export',
  sessionId: 'ses_1',
  via: 'session',
  retentionDays: 90,
  shards: 1,
  ...overrides,
});

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const ses = mockClient(SESv2Client);
let handler: typeof import('#functions/exports.ts').handler;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EXPORTS_BUCKET', 'exports-test');
  vi.stubEnv('EXPORT_QUEUE_URL', 'https://sqs.test/123/export-jobs');
  vi.stubEnv('TRAILKEEPER_PUBLIC_URL', 'https://audit.example.com/');
  vi.stubEnv('TRAILKEEPER_EMAIL_FROM', 'exports@trailkeeper.test');
  vi.stubEnv('TRAILKEEPER_SEAL_WATERMARK_LAG_MS', '90000');
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
  ses.reset();
  vi.useRealTimers();
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
  return eventItem(built.event, 1);
};

describe('POST /v1/exports handler', () => {
  it('writes a small export to S3 within the request and answers 201 completed', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item(1), item(2)] });
    // The kind registry knows the one kind of the tenant's events.
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({
      Items: [{ sk: `KIND#${kindId({ action: 'auth.login' })}`, action: 'auth.login', count: 2 }],
    });
    ddb.on(PutCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const result = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'csv', action: 'auth.login' }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body).toMatchObject({ status: 'completed', rows: 2, format: 'csv' });
    expect(body.download_url).toBe(`https://audit.example.com/v1/exports/${body.id}/download`);

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
      writes.some(
        (w) => w.TableName === 'events-test' && w.Item?.pk === `${TENANT}#tk_audit-export-${body.id}`,
      ),
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

describe('POST /v1/exports: chosen CSV columns', () => {
  it('writes the chosen columns then the verification columns, and keeps them on the export', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item(1)] });
    ddb.on(PutCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const columns = ['action', 'actor_role', 'duration_ms'];
    const result = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'csv', columns }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(201);
    expect(parse(result).columns).toEqual(columns);
    const file = String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body);
    expect(file.split('\r\n')[0]).toBe('\uFEFFaction,actor_role,duration_ms,id,received_at,hash,event_json');
    const saved = ddb.commandCalls(PutCommand, { TableName: 'control-test' })[0]?.args[0].input.Item;
    expect(saved?.columns).toEqual(columns);
  });

  it('records the columns of a queued export for the worker', async () => {
    let served = 0;
    ddb.on(QueryCommand).callsFake((input: { Limit: number }) => {
      const items = Array.from({ length: input.Limit }, (_, i) => item(served + i));
      served += input.Limit;
      return { Items: items, LastEvaluatedKey: { pk: 'more' } };
    });
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
    const result = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'csv', columns: ['area', 'action'] }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(202);
    const saved = ddb.commandCalls(PutCommand, { TableName: 'control-test' })[0]?.args[0].input.Item;
    expect(saved).toMatchObject({ status: 'queued', columns: ['area', 'action'] });
  });

  it('answers 400 naming the column for an unknown or repeated one, or columns with JSON, storing nothing', async () => {
    const send = (body: Record<string, unknown>) =>
      handler(apiEvent('POST /v1/exports', { body, auth: exporter }), lambdaContext);
    const unknown = await send({ format: 'csv', columns: ['action', 'password'] });
    expect(unknown.statusCode).toBe(400);
    expect(parse(unknown).errors.map((e: { field: string }) => e.field)).toEqual(['columns[1]']);
    const repeated = await send({ format: 'csv', columns: ['action', 'area', 'action'] });
    expect(parse(repeated).errors.map((e: { field: string }) => e.field)).toEqual(['columns[2]']);
    const json = await send({ format: 'json', columns: ['action'] });
    expect(json.statusCode).toBe(400);
    expect(parse(json).errors).toEqual([
      { field: 'columns', message: expect.stringMatching(/whole events/) },
    ]);
    expect(ddb.calls().length + s3.calls().length + sqs.calls().length).toBe(0);
  });
});

describe('POST /v1/exports: links, emails and retention', () => {
  const tenantItem = (extra: Record<string, unknown> = {}) => ({
    pk: `TENANT#${TENANT}`,
    sk: 'TENANT',
    id: TENANT,
    name: 'A',
    plan: 'pro',
    custom_retention_days: null,
    shards: 1,
    ...extra,
  });
  const smallExport = () => {
    ddb.on(QueryCommand).resolves({ Items: [item(1)] });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
  };
  const post = (body: unknown, headers: Record<string, string> = {}, auth = exporter) =>
    handler(apiEvent('POST /v1/exports', { body, auth, headers }), lambdaContext);

  it('builds download_url and the emailed link from the configured public URL, never from Host or X-Forwarded-Host', async () => {
    smallExport();
    ddb.on(GetCommand).resolves({ Item: tenantItem() });
    ses.on(SendEmailCommand).resolves({ MessageId: 'mail-1' });

    const result = await post(
      { format: 'json', notify_email: 'ada@example.com' },
      { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http' },
    );

    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body.download_url).toBe(`https://audit.example.com/v1/exports/${body.id}/download`);
    expect(body.email_error).toBeNull();
    const mail = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(mail).toMatchObject({
      FromEmailAddress: 'exports@trailkeeper.test',
      Destination: { ToAddresses: ['ada@example.com'] },
    });
    const text = Buffer.from(
      (
        Buffer.from(mail?.Content?.Raw?.Data ?? [])
          .toString()
          .split('\r\n\r\n')[1] ?? ''
      ).replace(/\r\n/g, ''),
      'base64',
    ).toString();
    expect(text).toContain(`https://audit.example.com/v1/exports/${body.id}/download`);
    expect(text).not.toContain('evil.test');
  });

  it('records a failed email on the export (a short reason, no addresses) and still answers 201 completed', async () => {
    smallExport();
    ddb.on(GetCommand).resolves({ Item: tenantItem() });
    ses.on(SendEmailCommand).rejects(
      Object.assign(new Error('Email address is not verified: ada@example.com'), {
        name: 'MessageRejected',
      }),
    );

    const result = await post({ format: 'csv', notify_email: 'ada@example.com' });

    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body).toMatchObject({
      status: 'completed',
      rows: 1,
      email_error: 'the notification email could not be sent (MessageRejected)',
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    const records = ddb.commandCalls(PutCommand, { TableName: 'control-test' }).map((c) => c.args[0].input);
    expect(records).toHaveLength(2);
    expect(records[0]?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(records[1]).toMatchObject({
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': 0 },
      Item: {
        sk: `EXPORT#${body.id}`,
        status: 'completed',
        version: 1,
        email_error: 'the notification email could not be sent (MessageRejected)',
      },
    });
    expect(JSON.stringify(records[1])).not.toContain('not verified');
  });

  it('counts each notify_email against the tenant hour with one conditional increment', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-11-21T12:34:56.000Z'));
    smallExport();
    ddb.on(GetCommand).resolves({ Item: tenantItem({ email_domains: ['example.com'] }) });
    ses.on(SendEmailCommand).resolves({ MessageId: 'mail-1' });

    const result = await post({ format: 'ndjson', notify_email: 'Ada@EXAMPLE.com' });

    expect(result.statusCode).toBe(201);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' },
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'control-test',
        Key: { pk: `TENANT#${TENANT}`, sk: 'EMAIL_QUOTA#2026-11-21T12' },
        UpdateExpression: 'SET #ttl = :ttl ADD #count :one',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':limit': 20,
          ':ttl': Date.parse('2026-11-22T13:00:00.000Z') / 1000,
        },
      },
    ]);
  });

  it('answers 429 naming notify_email once the hourly allowance is used, creating nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-11-21T12:59:00.000Z'));
    ddb.on(GetCommand).resolves({ Item: tenantItem() });
    ddb
      .on(UpdateCommand)
      .rejects(Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' }));

    const result = await post({ format: 'csv', notify_email: 'ada@example.com' });

    expect(result.statusCode).toBe(429);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(result.headers?.['retry-after']).toBe('60');
    expect(parse(result).detail).toContain('notify_email');
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(s3.calls().length + sqs.calls().length + ses.calls().length).toBe(0);
  });

  it("answers 400 naming notify_email for an address outside the tenant's allowed domains, counting and creating nothing", async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem({ email_domains: ['example.com', 'example.org'] }) });

    const outside = await post({ format: 'csv', notify_email: 'mallory@eu.example.com' });

    expect(outside.statusCode).toBe(400);
    expect(parse(outside).errors).toEqual([
      {
        field: 'notify_email',
        message:
          "must be an address at one of the workspace's allowed email domains (example.com, example.org)",
      },
    ]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(s3.calls().length + sqs.calls().length + ses.calls().length).toBe(0);
  });

  it('clamps a synchronous export to the retention the key carries, and records its cut-off', async () => {
    const now = Date.parse('2026-11-21T12:00:00.000Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(now);
    smallExport();

    const result = await post(
      { format: 'json', from: '2026-08-01T00:00:00Z' },
      {},
      keyContext('exports:write', { retentionDays: 30 }),
    );

    expect(result.statusCode).toBe(201);
    const floor = new Date(now - 30 * 86_400_000).toISOString();
    const query = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query?.ExpressionAttributeValues?.[':low']).toBe(floor);
    const body = parse(result);
    expect(body.filters).toMatchObject({ from: floor, to: new Date(now).toISOString() });
    // The cut-off: the read time less the sealing lag (90 s in this test's environment).
    expect(body.as_of).toBe(new Date(now - 90_000).toISOString());
  });

  it('does not read at all when the whole window is older than the retention', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-11-21T12:00:00.000Z'));
    smallExport();

    const result = await post(
      { format: 'ndjson', from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' },
      {},
      keyContext('exports:write', { retentionDays: 30 }),
    );

    expect(result.statusCode).toBe(201);
    expect(parse(result)).toMatchObject({ status: 'completed', rows: 0 });
    expect(ddb.commandCalls(QueryCommand, { TableName: 'events-test' })).toHaveLength(0);
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

  it('shows the email_error of an export whose email failed', async () => {
    ddb.on(GetCommand).resolves({
      Item: { ...record('completed'), email_error: 'the notification email could not be sent (Throttling)' },
    });
    const result = await handler(
      apiEvent('GET /v1/exports/{id}', { params: { id: exportId }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toMatchObject({
      status: 'completed',
      email_error: 'the notification email could not be sent (Throttling)',
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

  it('answers 200 with the presigned URL and its expiry as JSON when asked for JSON (the console)', async () => {
    ddb.on(GetCommand).resolves({ Item: record('completed') });
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('GET /v1/exports/{id}/download', {
        params: { id: exportId },
        auth: exporter,
        headers: { accept: 'application/json' },
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    const body = parse(result);
    expect(new URL(body.url).searchParams.get('X-Amz-Expires')).toBe('900');
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now() + 800_000);
    expect(ddb.commandCalls(PutCommand, { TableName: 'events-test' })).toHaveLength(1);
  });

  it('answers 404 to a team admin for an export a key made, presigning and auditing nothing', async () => {
    ddb.on(GetCommand).resolves({ Item: { ...record('completed'), requested_by: 'key_1' } });
    const result = await handler(
      apiEvent('GET /v1/exports/{id}/download', { params: { id: exportId }, auth: personContext() }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(404);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('writes audit_log.export_downloaded into the events table for the download', async () => {
    ddb.on(GetCommand).resolves({ Item: record('completed') });
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('GET /v1/exports/{id}/download', { params: { id: exportId }, auth: exporter }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(302);
    const put = ddb.commandCalls(PutCommand, { TableName: 'events-test' })[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(fromItem(put?.Item ?? {})).toMatchObject({
      action: 'audit_log.export_downloaded',
      actor: { id: exporter.keyId, type: 'api_key' },
      metadata: { export_id: exportId },
    });
  });
});

describe('POST /v1/exports for people', () => {
  it("reads a team admin's unfiltered export through the byTeam partitions of their teams and records requester and scope", async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(PutCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const result = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'json' }, auth: personContext() }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(201);
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(
      queries.map((q) => [q.IndexName, q.KeyConditionExpression, q.ExpressionAttributeValues?.[':pk']]),
    ).toEqual([
      ['byTeam', '#pk = :pk AND #sk BETWEEN :low AND :high', `${TENANT}#0#team_a`],
      ['byTeam', '#pk = :pk AND #sk BETWEEN :low AND :high', `${TENANT}#0#team_b`],
    ]);
    const created = ddb.commandCalls(PutCommand, { TableName: 'control-test' })[0]?.args[0].input.Item;
    expect(created).toMatchObject({
      requested_by: 'user_ada',
      requester: { kind: 'person', id: 'user_ada', role: 'team_admin', session_id: 'ses_1' },
      team_scope: ['team_a', 'team_b'],
    });
    const audit = ddb.commandCalls(PutCommand, { TableName: 'events-test' })[0]?.args[0].input.Item;
    expect(fromItem(audit ?? {})).toMatchObject({
      action: 'audit_log.exported',
      actor: { id: 'user_ada', type: 'user', role: 'team_admin' },
    });
  });

  it('answers 403 to a person whose role may view but not export, and 400 for another notify_email', async () => {
    const viewer = personContext({ role: 'auditor', teams: '', permissions: 'view' });
    const refused = await handler(
      apiEvent('POST /v1/exports', { body: { format: 'csv' }, auth: viewer }),
      lambdaContext,
    );
    expect(refused.statusCode).toBe(403);
    expect(parse(refused).detail).toContain('may not export');

    const other = await handler(
      apiEvent('POST /v1/exports', {
        body: { format: 'csv', notify_email: 'eve@example.com' },
        auth: personContext(),
      }),
      lambdaContext,
    );
    expect(other.statusCode).toBe(400);
    expect(parse(other).errors).toEqual([expect.objectContaining({ field: 'notify_email' })]);
    expect(ddb.calls()).toHaveLength(0);
  });
});
