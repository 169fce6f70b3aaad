import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fromItem, toItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const ses = mockClient(SESv2Client);
let handler: typeof import('#functions/export-worker.ts').handler;

const EXPORT_ID = 'exp_01jd0000000000000000000000';
const NOW = Date.now();
const TOTAL = 2500;
const eventItems = Array.from({ length: TOTAL }, (_, i) => {
  const built = buildStoredEvent(
    {
      id: `e${String(i).padStart(6, '0')}`,
      action: 'auth.login',
      actor: { id: 'u1' },
      // Every other event in each of two teams (the team admin's export reads both).
      team_id: i % 2 === 0 ? 'team_a' : 'team_b',
      metadata: { i },
      occurred_at: new Date(NOW - 1000 - i).toISOString(),
    },
    { tenantId: TENANT, retentionDays: 90 },
    NOW,
    createRedactor(),
  );
  if (!built.ok) throw new Error('fixture');
  return toItem(built.event, 1);
});

/** The control table as a map, so the worker's conditional record writes behave as in DynamoDB. */
let control: Map<string, Record<string, unknown>>;
const keyOf = (k: Record<string, unknown>) => `${k.pk}|${k.sk}`;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EXPORTS_BUCKET', 'exports-test');
  vi.stubEnv('EXPORT_QUEUE_URL', 'https://sqs.test/123/export-jobs');
  vi.stubEnv('TRAILKEEPER_EXPORT_PART_BYTES', String(64 * 1024));
  vi.stubEnv('TRAILKEEPER_EMAIL_FROM', 'exports@trailkeeper.test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/export-worker.ts'));
});

beforeEach(() => {
  control = new Map();
  const tenant = {
    pk: `TENANT#${TENANT}`,
    sk: 'TENANT',
    id: TENANT,
    name: 'A',
    plan: 'pro',
    custom_retention_days: null,
    shards: 1,
  };
  const record = {
    pk: `TENANT#${TENANT}`,
    sk: `EXPORT#${EXPORT_ID}`,
    id: EXPORT_ID,
    tenant_id: TENANT,
    status: 'queued',
    format: 'ndjson',
    filters: {},
    window: { from: new Date(NOW - 86_400_000).toISOString(), to: new Date(NOW).toISOString() },
    notify_email: 'ada@example.com',
    requested_by: 'key_1',
    base_url: 'https://api.test',
    object_key: `tenant=${TENANT}/exports/${EXPORT_ID}.ndjson`,
    rows: 0,
    bytes: 0,
    error: null,
    created_at: 'c',
    started_at: null,
    completed_at: null,
    expires_at: 'e',
    checkpoint: null,
    version: 0,
  };
  control.set(keyOf(tenant), tenant);
  control.set(keyOf(record), record);
  ddb
    .on(GetCommand, { TableName: 'control-test' })
    .callsFake((input) => ({ Item: control.get(keyOf(input.Key)) }));
  ddb.on(PutCommand, { TableName: 'control-test' }).callsFake((input) => {
    const current = control.get(keyOf(input.Item));
    if (
      input.ConditionExpression === 'version = :version' &&
      current?.version !== input.ExpressionAttributeValues[':version']
    ) {
      throw Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' });
    }
    control.set(keyOf(input.Item), input.Item);
    return {};
  });
  ddb.on(PutCommand, { TableName: 'events-test' }).resolves({});
  ddb.on(QueryCommand).callsFake((input) => {
    const low = String(input.ExpressionAttributeValues[':low']);
    const high = String(input.ExpressionAttributeValues[':high']);
    // Newest first, from the window's start, strictly below the page's upper bound (a cursor
    // position, or the window's end).
    const rest = eventItems.filter(
      (item) => String(item.sk) >= low && (high.endsWith('$') || String(item.sk) < high),
    );
    const page = rest.slice(0, input.Limit);
    return { Items: page, LastEvaluatedKey: rest.length > input.Limit ? { pk: 'more' } : undefined };
  });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3.on(UploadPartCommand).callsFake((input) => {
    // The job lends a part's bytes only until the upload returns, then refills the same buffer
    // for the next part: keep what was sent, as S3 does, so the recorded calls show it.
    input.Body = Buffer.from(input.Body as Buffer);
    return { ETag: `"etag-${input.PartNumber}"` };
  });
  s3.on(CompleteMultipartUploadCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  ses.on(SendEmailCommand).resolves({ MessageId: 'mail-1' });
});

afterEach(() => {
  ddb.reset();
  s3.reset();
  sqs.reset();
  ses.reset();
  vi.useRealTimers();
});

const sqsEvent = (attempt = 1): SQSEvent =>
  ({
    Records: [
      {
        messageId: 'm1',
        body: JSON.stringify({ tenantId: TENANT, exportId: EXPORT_ID }),
        attributes: { ApproximateReceiveCount: String(attempt) },
      },
    ],
  }) as unknown as SQSEvent;
const context = (remainingMs: number) =>
  ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;
const record = () => control.get(`TENANT#${TENANT}|EXPORT#${EXPORT_ID}`) as Record<string, any>;

describe("export worker, a team admin's export", () => {
  it('reads only the byTeam partitions recorded on the export, every invocation, and audits the person', async () => {
    vi.stubEnv('TRAILKEEPER_EXPORT_TIME_RESERVE_MS', '60000');
    const queued = record();
    control.set(`TENANT#${TENANT}|EXPORT#${EXPORT_ID}`, {
      ...queued,
      notify_email: null,
      requested_by: 'user_ada',
      requester: {
        kind: 'person',
        id: 'user_ada',
        email: 'ada@example.com',
        role: 'team_admin',
        session_id: 'ses_1',
      },
      team_scope: ['team_a', 'team_b'],
    });
    // Each team's partition holds every other event (its team's), paged by ExclusiveStartKey as
    // DynamoDB does.
    ddb.on(QueryCommand).callsFake((input) => {
      const pk = String(input.ExpressionAttributeValues[':pk']);
      const parity = pk.endsWith('#team_a') ? 0 : pk.endsWith('#team_b') ? 1 : -1;
      const high = String(input.ExpressionAttributeValues[':high']);
      const after = input.ExclusiveStartKey?.sk as string | undefined;
      const rest = eventItems.filter(
        (item, i) =>
          i % 2 === parity &&
          (high.endsWith('$') || String(item.sk) < high) &&
          (after === undefined || String(item.sk) < after),
      );
      const page = rest.slice(0, input.Limit);
      const last = page.at(-1);
      return {
        Items: page,
        LastEvaluatedKey: rest.length > input.Limit && last ? { sk: last.sk } : undefined,
      };
    });
    let rounds = 0;
    do {
      await handler(sqsEvent(), context(1_000)); // checkpoints after every part: several invocations
      rounds += 1;
    } while (record().status === 'running' && rounds < 100);
    expect(record()).toMatchObject({ status: 'completed', rows: TOTAL });
    expect(rounds).toBeGreaterThan(1);
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(new Set(queries.map((q) => `${q.IndexName} ${q.ExpressionAttributeValues?.[':pk']}`))).toEqual(
      new Set([`byTeam ${TENANT}#0#team_a`, `byTeam ${TENANT}#0#team_b`]),
    );
    const audit = ddb.commandCalls(PutCommand, { TableName: 'events-test' })[0]?.args[0].input.Item;
    expect(fromItem(audit ?? {})).toMatchObject({
      action: 'audit_log.exported',
      actor: { id: 'user_ada', type: 'user', email: 'ada@example.com', role: 'team_admin' },
      metadata: { export_id: EXPORT_ID, viewer_session: 'ses_1' },
    });
  });
});

describe('export worker, a CSV export with chosen columns', () => {
  it('writes the columns recorded on the export, in every invocation, then the verification columns', async () => {
    vi.stubEnv('TRAILKEEPER_EXPORT_TIME_RESERVE_MS', '60000');
    const queued = record();
    control.set(`TENANT#${TENANT}|EXPORT#${EXPORT_ID}`, {
      ...queued,
      format: 'csv',
      object_key: `tenant=${TENANT}/exports/${EXPORT_ID}.csv`,
      notify_email: null,
      columns: ['action', 'actor_id', 'metadata_json'],
    });
    let rounds = 0;
    do {
      await handler(sqsEvent(), context(1_000)); // checkpoints after every part: several invocations
      rounds += 1;
    } while (record().status === 'running' && rounds < 100);
    expect(record()).toMatchObject({ status: 'completed', rows: TOTAL });
    expect(rounds).toBeGreaterThan(1);
    const body = s3
      .commandCalls(UploadPartCommand)
      .map((c) => Buffer.from(c.args[0].input.Body as Buffer).toString('utf8'))
      .join('');
    const lines = body
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe('action,actor_id,metadata_json,id,received_at,hash,event_json');
    expect(lines).toHaveLength(TOTAL + 1);
    expect(lines[1]?.startsWith('auth.login,u1,"{""i"":0}",e000000,')).toBe(true);
    const audit = ddb.commandCalls(PutCommand, { TableName: 'events-test' })[0]?.args[0].input.Item;
    expect(fromItem(audit ?? {}).metadata).toMatchObject({
      columns: ['action', 'actor_id', 'metadata_json'],
    });
  });
});

describe('export worker', () => {
  it('streams every event into a multipart upload, completes it, audits it and emails the link', async () => {
    expect(await handler(sqsEvent(), context(600_000))).toEqual({ batchItemFailures: [] });
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.map((p) => p.PartNumber)).toEqual(parts.map((_, i) => i + 1));
    const body = parts.map((p) => Buffer.from(p.Body as Buffer).toString('utf8')).join('');
    const lines = body.trim().split('\n');
    expect(lines).toHaveLength(TOTAL);
    expect(new Set(lines.map((l) => JSON.parse(l).id)).size).toBe(TOTAL);
    expect(
      s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts,
    ).toHaveLength(parts.length);
    expect(record()).toMatchObject({ status: 'completed', rows: TOTAL, checkpoint: null });
    expect(record().email_error).toBeUndefined();
    // The cut-off: the window's end (defaulted to the request time) less the sealing lag.
    expect(record().as_of).toBe(new Date(NOW - 960_000).toISOString());
    expect(ddb.commandCalls(PutCommand, { TableName: 'events-test' })[0]?.args[0].input.Item?.pk).toBe(
      `${TENANT}#tk_audit-export-${EXPORT_ID}`,
    );
    const mail = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(mail?.Destination?.ToAddresses).toEqual(['ada@example.com']);
    expect(Buffer.from(mail?.Content?.Raw?.Data ?? []).toString()).toContain(
      'Subject: Your audit log export is ready',
    );
    expect(sqs.calls()).toHaveLength(0);
  });

  it('checkpoints and re-enqueues itself when its time runs low, then resumes to the same file', async () => {
    vi.stubEnv('TRAILKEEPER_EXPORT_TIME_RESERVE_MS', '60000');
    await handler(sqsEvent(), context(1_000)); // below the reserve after the first part
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(record()).toMatchObject({ status: 'running' });
    expect(record().checkpoint.parts).toHaveLength(1);
    let rounds = 1;
    while (record().status === 'running' && rounds < 50) {
      await handler(sqsEvent(), context(1_000));
      rounds += 1;
    }
    expect(record()).toMatchObject({ status: 'completed', rows: TOTAL });
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(rounds).toBe(parts.length);
    const lines = parts
      .map((p) => Buffer.from(p.Body as Buffer).toString('utf8'))
      .join('')
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(
      eventItems.map((_, i) => `e${String(i).padStart(6, '0')}`),
    );
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
  });

  it('ignores a duplicate delivery of a finished export', async () => {
    control.set(`TENANT#${TENANT}|EXPORT#${EXPORT_ID}`, { ...record(), status: 'completed' });
    expect(await handler(sqsEvent(), context(600_000))).toEqual({ batchItemFailures: [] });
    expect(s3.calls()).toHaveLength(0);
  });

  it('asks SQS to retry a failed attempt, and marks the export failed on the last one', async () => {
    s3.on(UploadPartCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    expect(await handler(sqsEvent(1), context(600_000))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    expect(await handler(sqsEvent(5), context(600_000))).toEqual({ batchItemFailures: [] });
    expect(record()).toMatchObject({ status: 'failed', error: expect.stringContaining('InternalError') });
    expect(
      Buffer.from(ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Raw?.Data ?? []).toString(),
    ).toContain('Subject: Your audit log export failed');
  });

  it('records a failed email on the completed export and does not ask SQS to redo it', async () => {
    ses
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error('Daily message quota exceeded'), { name: 'LimitExceededException' }));

    expect(await handler(sqsEvent(), context(600_000))).toEqual({ batchItemFailures: [] });

    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(record()).toMatchObject({
      status: 'completed',
      rows: TOTAL,
      email_error: 'the notification email could not be sent (LimitExceededException)',
    });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(sqs.calls()).toHaveLength(0);
    // A redelivery anyway (at least once) finds it completed and touches nothing.
    expect(await handler(sqsEvent(2), context(600_000))).toEqual({ batchItemFailures: [] });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
  });

  it('records a failed email on a failed export too, without throwing', async () => {
    s3.on(UploadPartCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));

    expect(await handler(sqsEvent(5), context(600_000))).toEqual({ batchItemFailures: [] });

    expect(record()).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('InternalError'),
      email_error: 'the notification email could not be sent (ServiceUnavailable)',
    });
  });

  it("re-clamps a resumed export to the tenant's CURRENT retention, read again at each invocation", async () => {
    vi.stubEnv('TRAILKEEPER_EXPORT_TIME_RESERVE_MS', '60000');
    await handler(sqsEvent(), context(1_000)); // one part, then it re-enqueues itself
    const written = record().checkpoint.rows as number;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(1500);

    // Meanwhile the tenant cuts its retention to one day, one day after the events: only the
    // 1,501 newest events (occurred_at ≥ NOW − 2,500 ms) are still within it.
    const tenantKey = `TENANT#${TENANT}|TENANT`;
    control.set(tenantKey, { ...control.get(tenantKey), custom_retention_days: 1 });
    const resumedAt = NOW - 2_500 + 86_400_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(resumedAt);
    let rounds = 0;
    while (record().status === 'running' && rounds < 50) {
      await handler(sqsEvent(), context(1_000));
      rounds += 1;
    }

    const floor = new Date(NOW - 2_500).toISOString();
    expect(record()).toMatchObject({ status: 'completed', rows: 1_501 });
    expect(record().window.from).toBe(floor);
    const tenantReads = ddb
      .commandCalls(GetCommand, { TableName: 'control-test' })
      .filter((c) => c.args[0].input.Key?.sk === 'TENANT');
    expect(tenantReads.length).toBe(rounds + 1);
    const lows = ddb
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':low']);
    expect(lows[0]).toBe(new Date(NOW - 86_400_000).toISOString());
    expect(lows.slice(-1)).toEqual([floor]);
    const ids = s3
      .commandCalls(UploadPartCommand)
      .map((c) => Buffer.from(c.args[0].input.Body as Buffer).toString('utf8'))
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);
    expect(ids).toEqual(eventItems.slice(0, 1_501).map((_, i) => `e${String(i).padStart(6, '0')}`));
  });

  it('never throws when even the failure cannot be recorded: the job goes back to SQS (and its dead-letter queue)', async () => {
    ddb
      .on(PutCommand, { TableName: 'control-test' })
      .rejects(Object.assign(new Error('down'), { name: 'InternalServerError' }));

    expect(await handler(sqsEvent(5), context(600_000))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    expect(ses.calls()).toHaveLength(0);
  });
});
