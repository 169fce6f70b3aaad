/**
 * The local SQS and SES endpoints (infra/local/fake-sqs.ts, fake-ses.ts) driven through the AWS
 * SDK clients the adapters use. The queue's delivery semantics are tested on a second queue in
 * this process, with a test consumer; the stack's own queue (delivering to the real export worker)
 * and SES are reached through the environment the stack gave the handlers, as the handlers do.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeSes } from '#infra/local/fake-ses.ts';
import {
  type FakeSqs,
  lambdaConsumer,
  md5Hex,
  type QueueConsumer,
  startFakeSqs,
} from '#infra/local/fake-sqs.ts';
import { localS3ClientConfig } from '#infra/local/s3.ts';
import { SesMailer } from '#shared/adapters/mailer.ts';
import { S3ObjectStore } from '#shared/adapters/object-store.ts';
import { ENV } from '#shared/config/env.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { EXPORT_QUEUE, EXPORTS_BUCKET } from '#shared/config/storage.ts';

const localEnv = inject('localEnv');
const outboxDir = inject('outboxDir');
const exportQueueUrl = inject('exportQueueUrl');

const CLIENT = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
} as const;

/** Runs `fn` with the stack's environment in process.env, as the handlers see it. */
const withLocalEnv = async <T>(fn: () => Promise<T>): Promise<T> => {
  const previous = Object.fromEntries(Object.keys(localEnv).map((name) => [name, process.env[name]]));
  Object.assign(process.env, localEnv);
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise with its resolve function, to hold a consumer until the test lets it go. */
const gate = () => {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};

describe('local SQS (a queue of its own, with a test consumer)', () => {
  let queue: FakeSqs | undefined;
  let sqs: SQSClient | undefined;
  const start = async (consumer: QueueConsumer, options: { concurrency?: number } = {}) => {
    queue = await startFakeSqs({
      consumer,
      queueName: 'test-jobs',
      retryDelayMs: 50,
      maxReceiveCount: 3,
      ...options,
    });
    sqs = new SQSClient({ ...CLIENT, endpoint: queue.endpoint });
    return { queue, sqs };
  };
  afterEach(async () => {
    sqs?.destroy();
    await queue?.stop(100);
    queue = undefined;
  });

  it('accepts SendMessage from the SDK (which checks the MD5) and delivers it after answering', async () => {
    const held = gate();
    const events: SQSEvent[] = [];
    const { queue, sqs } = await start(async (event) => {
      events.push(event);
      await held.opened;
    });
    const MessageBody = JSON.stringify({ tenantId: 't1', exportId: 'e1', note: 'héllo 😀' });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody,
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'export' } },
      }),
    );
    expect(sent.MD5OfMessageBody).toBe(md5Hex(MessageBody));
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);

    // The consumer is still held, yet SendMessage answered: delivery is not part of the request.
    while (events.length === 0) await sleep(5);
    expect(queue.stats()).toMatchObject({ sent: 1, delivered: 1, inFlight: 1, succeeded: 0 });
    held.open();
    await queue.idle();
    expect(queue.stats()).toMatchObject({ sent: 1, delivered: 1, succeeded: 1, queued: 0, inFlight: 0 });

    const record = events[0]?.Records[0] as SQSRecord;
    expect(events[0]?.Records).toHaveLength(1);
    expect(record).toMatchObject({
      messageId: sent.MessageId,
      body: MessageBody,
      md5OfBody: sent.MD5OfMessageBody,
      md5OfMessageAttributes: sent.MD5OfMessageAttributes,
      messageAttributes: { kind: { dataType: 'String', stringValue: 'export' } },
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test-jobs',
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(record.receiptHandle).not.toBe('');
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(record.attributes.SentTimestamp),
    );
  });

  it('answers GetQueueUrl, and QueueDoesNotExist for another queue', async () => {
    const { queue, sqs } = await start(async () => {});
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'test-jobs' }))).QueueUrl).toBe(queue.url);
    const other = `${queue.endpoint}/000000000000/nope`;
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: other, MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    expect(queue.stats().sent).toBe(0);
  });

  it('runs at most `concurrency` invocations at a time', async () => {
    const held = gate();
    let running = 0;
    let most = 0;
    const { queue, sqs } = await start(async () => {
      running += 1;
      most = Math.max(most, running);
      await held.opened;
      running -= 1;
    });
    for (let i = 0; i < 5; i++)
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: `m${i}` }));
    while (queue.stats().inFlight < 2) await sleep(5);
    await sleep(50);
    expect(queue.stats()).toMatchObject({ inFlight: 2, queued: 3 });
    held.open();
    await queue.idle();
    expect(most).toBe(2);
    expect(queue.stats()).toMatchObject({ sent: 5, delivered: 5, succeeded: 5 });
  });

  it('redelivers a failed message with a higher receive count, then dead-letters it', async () => {
    const seen: Array<{ body: string; count: string; at: number }> = [];
    const { queue, sqs } = await start(async (event) => {
      const record = event.Records[0] as SQSRecord;
      seen.push({ body: record.body, count: record.attributes.ApproximateReceiveCount, at: Date.now() });
      if (record.body === 'throws') throw new Error('boom');
      if (record.body === 'reports') return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
      if (record.body === 'recovers' && record.attributes.ApproximateReceiveCount === '1')
        throw new Error('once');
      return { batchItemFailures: [] };
    });
    const ids: Record<string, string | undefined> = {};
    for (const body of ['throws', 'reports', 'recovers']) {
      ids[body] = (
        await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }))
      ).MessageId;
    }
    await queue.idle();

    const countsOf = (body: string) => seen.filter((s) => s.body === body).map((s) => s.count);
    expect(countsOf('throws')).toEqual(['1', '2', '3']);
    expect(countsOf('reports')).toEqual(['1', '2', '3']);
    expect(countsOf('recovers')).toEqual(['1', '2']);
    const times = seen.filter((s) => s.body === 'throws').map((s) => s.at);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(45); // the retry delay (50 ms)

    expect(queue.stats()).toMatchObject({
      sent: 3,
      delivered: 8,
      redelivered: 5,
      succeeded: 1,
      deadLettered: 2,
    });
    const dead = queue.deadLetters();
    expect(dead.map((d) => d.messageId).sort()).toEqual([ids.throws, ids.reports].sort());
    expect(dead.find((d) => d.body === 'throws')).toMatchObject({ receiveCount: 3, reason: 'Error: boom' });
    expect(dead.find((d) => d.body === 'reports')?.reason).toMatch(/batchItemFailures/);
  });

  it('invokes a Lambda handler module with an SQS event and a context counting down from its timeout', async () => {
    const calls: Array<{ records: number; remainingMs: number; name: string }> = [];
    const consumer = lambdaConsumer('export-worker', MANIFEST.exportWorker, async () => ({
      handler: async (event: SQSEvent, context: Context) => {
        calls.push({
          records: event.Records.length,
          remainingMs: context.getRemainingTimeInMillis(),
          name: context.functionName,
        });
        return { batchItemFailures: [] };
      },
    }));
    const { queue, sqs } = await start(consumer);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{}' }));
    await queue.idle();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.records).toBe(1);
    expect(calls[0]?.name).toBe('trailkeeper-export-worker');
    expect(calls[0]?.remainingMs).toBeGreaterThan(MANIFEST.exportWorker.timeoutSeconds * 1000 - 5000);
    expect(calls[0]?.remainingMs).toBeLessThanOrEqual(MANIFEST.exportWorker.timeoutSeconds * 1000);
  });
});

describe('local SQS of the stack (delivering to the real export worker)', () => {
  const hooks = new URL(exportQueueUrl).origin;

  it('is where EXPORT_QUEUE_URL and AWS_ENDPOINT_URL_SQS point', () => {
    expect(localEnv[EXPORT_QUEUE.envVar]).toBe(exportQueueUrl);
    expect(new URL(exportQueueUrl).pathname).toBe(`/000000000000/${EXPORT_QUEUE.localName}`);
    expect(localEnv.AWS_ENDPOINT_URL_SQS).toBe(hooks);
  });

  it('is reached by an SQS client configured by the environment alone, and runs the worker', async () => {
    await withLocalEnv(async () => {
      const sqs = new SQSClient({});
      try {
        // GetQueueUrl carries no queue URL: only AWS_ENDPOINT_URL_SQS can have routed it here.
        expect((await sqs.send(new GetQueueUrlCommand({ QueueName: EXPORT_QUEUE.localName }))).QueueUrl).toBe(
          exportQueueUrl,
        );
        // A job for an export that does not exist: the worker looks it up in DynamoDB and skips it.
        const job = { tenantId: `tnt_probe_${randomUUID()}`, exportId: `exp_probe_${randomUUID()}` };
        const sent = await sqs.send(
          new SendMessageCommand({ QueueUrl: exportQueueUrl, MessageBody: JSON.stringify(job) }),
        );
        const idle = await fetch(`${hooks}/_local/queue/idle?timeoutMs=30000`);
        expect(idle.status).toBe(200);
        const stats = (await idle.json()) as { sent: number; succeeded: number };
        expect(stats.sent).toBeGreaterThanOrEqual(1);
        expect(stats.succeeded).toBeGreaterThanOrEqual(1);
        const dead = (await (await fetch(`${hooks}/_local/queue/dead-letters`)).json()) as Array<{
          messageId: string;
        }>;
        expect(dead.map((d) => d.messageId)).not.toContain(sent.MessageId);
      } finally {
        sqs.destroy();
      }
    });
  });
});

describe('local SES', () => {
  const raw = Buffer.concat([
    Buffer.from('From: Trailkeeper <no-reply@trailkeeper.local>\r\nTo: a@example.com\r\nSubject: t\r\n\r\n'),
    Buffer.from([0xc3, 0xa9, 0x0d, 0x0a, 0xff, 0x00, 0x2e, 0x0d, 0x0a]),
  ]);

  describe('of its own', () => {
    let dir = '';
    let ses: Awaited<ReturnType<typeof startFakeSes>> | undefined;
    let client: SESv2Client | undefined;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'trailkeeper-outbox-test-'));
      ses = await startFakeSes({ outboxDir: join(dir, 'outbox') });
      client = new SESv2Client({ ...CLIENT, endpoint: ses.endpoint });
    });
    afterAll(async () => {
      client?.destroy();
      await ses?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('writes a raw message byte for byte to <outbox>/<timestamp>-<messageId>.eml', async () => {
      const out = await client?.send(
        new SendEmailCommand({
          Destination: { ToAddresses: ['a@example.com'] },
          Content: { Raw: { Data: raw } },
        }),
      );
      expect(out?.MessageId).toMatch(/^0100/);
      const files = await readdir(join(dir, 'outbox'));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d-]+Z-${out?.MessageId}\\.eml$`));
      expect(await readFile(join(dir, 'outbox', files[0] as string))).toEqual(raw);
      expect(ses?.sent()).toBe(1);
    });

    it('answers BadRequestException without raw content or recipients', async () => {
      const simple = { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } };
      await expect(
        client?.send(
          new SendEmailCommand({ Destination: { ToAddresses: ['a@example.com'] }, Content: simple }),
        ),
      ).rejects.toMatchObject({ name: 'BadRequestException', $metadata: { httpStatusCode: 400 } });
      await expect(
        client?.send(
          new SendEmailCommand({ Destination: { ToAddresses: [] }, Content: { Raw: { Data: raw } } }),
        ),
      ).rejects.toMatchObject({ name: 'BadRequestException' });
      await expect(
        client?.send(new SendEmailCommand({ Content: { Raw: { Data: raw } } })),
      ).rejects.toMatchObject({
        name: 'BadRequestException',
      });
      expect(ses?.sent()).toBe(1);
    });
  });

  it("of the stack receives the mailer's email through AWS_ENDPOINT_URL_SESV2 into outboxDir", async () => {
    const subject = `local fakes ${randomUUID()}`;
    const messageId = await withLocalEnv(async () => {
      const client = new SESv2Client({});
      try {
        return await new SesMailer(client).send({
          from: localEnv[ENV.emailFrom] ?? '',
          to: 'someone@example.com',
          subject,
          text: 'Your export is ready.',
        });
      } finally {
        client.destroy();
      }
    });
    const file = (await readdir(outboxDir)).find((name) => name.endsWith(`-${messageId}.eml`));
    expect(file).toBeDefined();
    const mime = await readFile(join(outboxDir, file as string), 'utf8');
    expect(mime).toContain(`Subject: ${subject}\r\n`);
    expect(mime).toContain('To: someone@example.com\r\n');
    expect(mime).toContain(`From: ${localEnv[ENV.emailFrom]}\r\n`);
  });
});

describe('exports bucket of the stack', () => {
  it('exists, and a presigned download URL works with a plain fetch', async () => {
    const bucket = localEnv[EXPORTS_BUCKET.envVar] ?? '';
    expect(bucket).toBe(EXPORTS_BUCKET.localName);
    const s3 = new S3Client(localS3ClientConfig(inject('s3Endpoint')));
    const key = `tenant/probe-${randomUUID()}.ndjson`;
    const body = '{"n":1}\n{"n":"é"}\n';
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      // The adapter's own client, configured by the environment as in the handlers.
      const url = await withLocalEnv(async () => {
        const client = new S3Client({ forcePathStyle: localEnv[ENV.s3ForcePathStyle] === 'true' });
        try {
          return await new S3ObjectStore(client, bucket).presignDownload(key, 'export.ndjson', 60);
        } finally {
          client.destroy();
        }
      });
      expect(url.startsWith(`${inject('s3Endpoint')}/${bucket}/`)).toBe(true);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="export.ndjson"');
      expect(await response.text()).toBe(body);
    } finally {
      s3.destroy();
    }
  });
});
