/**
 * A local stand-in for the export job queue: an SQS endpoint (the AWS JSON 1.0 protocol that
 * @aws-sdk/client-sqs speaks: `POST /`, `x-amz-target: AmazonSQS.<Operation>`) serving one
 * standard queue, plus the Lambda event source mapping in front of its consumer. The adapters
 * reach it through `AWS_ENDPOINT_URL_SQS` / the queue URL, exactly as they reach SQS in AWS.
 *
 * Operations: SendMessage (MessageId, MD5OfMessageBody, MD5OfMessageAttributes; DelaySeconds
 * honoured) and GetQueueUrl. Anything else answers UnsupportedOperation. Signatures are ignored.
 *
 * Delivery, like SQS + Lambda with ReportBatchItemFailures and batch size 1: asynchronous (never
 * inside the SendMessage request), at most `concurrency` invocations at a time, one record per
 * invocation. A message reported in `batchItemFailures` (or whose invocation throws, times out or
 * answers an invalid failure list) comes back after `retryDelayMs` (the visibility timeout, made
 * short) with ApproximateReceiveCount + 1; after `maxReceiveCount` receives it moves to an
 * in-memory dead-letter list, logged at ERROR.
 *
 * Test hooks: `idle()`, `stats()`, `deadLetters()` in-process; over HTTP (for test processes
 * other than the one running the stack) `GET /_local/queue` (stats) and
 * `GET /_local/queue/idle?timeoutMs=…` (answers once idle, 408 after the timeout).
 * Request parsing, checksums and event building are pure functions, exported for tests.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { EXPORT_QUEUE } from '#shared/config/storage.ts';
import { listen, readBody } from './http-util.ts';
import { lambdaInvoker, withTimeout } from './lambda.ts';

export const LOCAL_ACCOUNT_ID = '000000000000';
const REGION = 'us-east-1';
/** SQS's message size limit (body plus attributes), 1 MiB since 2025. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_REQUEST_BYTES = 4 * MAX_MESSAGE_BYTES;
const MAX_DELAY_SECONDS = 900;
const MAX_ATTRIBUTES = 10;
const CONTENT_TYPE = 'application/x-amz-json-1.0';
/** Sender id of every local message (an IAM user id in AWS). */
const SENDER_ID = 'AIDALOCALTRAILKEEPER0';

// ---------------------------------------------------------------------------------------------
// Errors, as the JSON protocol in query-compatible mode carries them

export class SqsError extends Error {
  constructor(
    /** Shape name, sent as `__type: com.amazonaws.sqs#<type>`. */
    readonly type: string,
    /** The query-protocol code, sent in `x-amzn-query-error: <code>;Sender`. */
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

const invalidParameter = (message: string): SqsError =>
  new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
const missingParameter = (name: string): SqsError =>
  new SqsError('MissingParameter', 'MissingParameter', `The request must contain the parameter ${name}.`);
const queueDoesNotExist = (): SqsError =>
  new SqsError(
    'QueueDoesNotExist',
    'AWS.SimpleQueueService.NonExistentQueue',
    'The specified queue does not exist.',
  );

// ---------------------------------------------------------------------------------------------
// Pure parts

/** Hex MD5 of the UTF-8 bytes of `text`: SQS's MD5OfMessageBody (the SDK checks it). */
export const md5Hex = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/** A message attribute as SendMessage receives it (JSON protocol: binary values in base64). */
export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

const isBinaryType = (dataType: string): boolean => dataType.split('.')[0] === 'Binary';

/**
 * SQS's MD5OfMessageAttributes: over the attributes sorted by name, each encoded as name, data
 * type (both length-prefixed UTF-8), a transport byte (1 string, 2 binary) and the length-prefixed
 * value. Undefined when there are no attributes, as SQS omits it.
 */
export const md5OfMessageAttributes = (
  attributes: Readonly<Record<string, MessageAttributeValue>>,
): string | undefined => {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const lengthPrefixed = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of names) {
    const attribute = attributes[name] as MessageAttributeValue;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(attribute.DataType, 'utf8'));
    const binary = isBinaryType(attribute.DataType);
    hash.update(Buffer.from([binary ? 2 : 1]));
    lengthPrefixed(
      binary
        ? Buffer.from(attribute.BinaryValue ?? '', 'base64')
        : Buffer.from(attribute.StringValue ?? '', 'utf8'),
    );
  }
  return hash.digest('hex');
};

/** Characters SQS accepts in a body: #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point
const INVALID_CHARACTERS = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

export interface SqsRequest {
  /** e.g. `SendMessage`. */
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/** Reads the operation from `x-amz-target` and the input from the JSON body. Throws SqsError. */
export const parseSqsRequest = (
  target: string | undefined,
  contentType: string | undefined,
  body: Buffer,
): SqsRequest => {
  const match = /^AmazonSQS\.(\w+)$/.exec(target ?? '');
  if (!match?.[1]) {
    throw new SqsError(
      'UnsupportedOperation',
      'AWS.SimpleQueueService.UnsupportedOperation',
      'Only the AWS JSON protocol is supported (x-amz-target: AmazonSQS.<Operation>).',
    );
  }
  if ((contentType ?? '').split(';')[0]?.trim().toLowerCase() !== CONTENT_TYPE) {
    throw invalidParameter(`Content-Type must be ${CONTENT_TYPE}.`);
  }
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new SqsError(
      'SerializationException',
      'SerializationException',
      'The request body is not valid JSON.',
    );
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SqsError(
      'SerializationException',
      'SerializationException',
      'The request body must be an object.',
    );
  }
  return { operation: match[1], input: input as Record<string, unknown> };
};

/** `http://127.0.0.1:4566/000000000000/name` for a queue served at `endpoint`. */
export const queueUrlOf = (endpoint: string, name: string, accountId = LOCAL_ACCOUNT_ID): string =>
  `${endpoint.replace(/\/+$/, '')}/${accountId}/${name}`;

/** Whether `queueUrl` names the queue (any host: `localhost` and `127.0.0.1` are the same here). */
export const isQueueUrlOf = (queueUrl: string, name: string, accountId = LOCAL_ACCOUNT_ID): boolean => {
  try {
    return new URL(queueUrl).pathname.replace(/\/+$/, '') === `/${accountId}/${name}`;
  } catch {
    return false;
  }
};

export interface SendMessageInput {
  readonly queueUrl: string;
  readonly body: string;
  readonly delaySeconds: number;
  readonly attributes: Readonly<Record<string, MessageAttributeValue>>;
}

const parseAttributes = (raw: unknown): Record<string, MessageAttributeValue> => {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidParameter('MessageAttributes must be a map.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_ATTRIBUTES) {
    throw invalidParameter(
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`,
    );
  }
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of entries) {
    const attribute = value as Partial<MessageAttributeValue> | null;
    const dataType = attribute?.DataType;
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw invalidParameter(`The message attribute '${name}' has an invalid message attribute type.`);
    }
    const binary = isBinaryType(dataType);
    const payload = binary ? attribute?.BinaryValue : attribute?.StringValue;
    if (typeof payload !== 'string' || payload === '') {
      throw invalidParameter(
        `The message attribute '${name}' must contain a non-empty value of type '${dataType}'.`,
      );
    }
    attributes[name] = binary
      ? { DataType: dataType, BinaryValue: payload }
      : { DataType: dataType, StringValue: payload };
  }
  return attributes;
};

/** Validates a SendMessage input the way SQS does (for what this queue supports). Throws SqsError. */
export const parseSendMessage = (input: Record<string, unknown>): SendMessageInput => {
  const { QueueUrl, MessageBody, DelaySeconds } = input;
  if (typeof QueueUrl !== 'string' || QueueUrl === '') throw missingParameter('QueueUrl');
  if (typeof MessageBody !== 'string' || MessageBody === '') throw missingParameter('MessageBody');
  if (INVALID_CHARACTERS.test(MessageBody)) {
    throw new SqsError(
      'InvalidMessageContents',
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
  const delaySeconds = DelaySeconds ?? 0;
  if (
    !Number.isInteger(delaySeconds) ||
    (delaySeconds as number) < 0 ||
    (delaySeconds as number) > MAX_DELAY_SECONDS
  ) {
    throw invalidParameter(`Value ${String(DelaySeconds)} for parameter DelaySeconds is invalid.`);
  }
  const attributes = parseAttributes(input.MessageAttributes);
  const size =
    Buffer.byteLength(MessageBody, 'utf8') +
    Object.entries(attributes).reduce(
      (sum, [name, a]) =>
        sum +
        Buffer.byteLength(name) +
        Buffer.byteLength(a.DataType) +
        (a.BinaryValue
          ? Buffer.from(a.BinaryValue, 'base64').length
          : Buffer.byteLength(a.StringValue ?? '')),
      0,
    );
  if (size > MAX_MESSAGE_BYTES) {
    throw invalidParameter(
      `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`,
    );
  }
  return { queueUrl: QueueUrl, body: MessageBody, delaySeconds: delaySeconds as number, attributes };
};

/** A message held by the queue. */
export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly attributes: Readonly<Record<string, MessageAttributeValue>>;
  readonly md5OfMessageAttributes: string | undefined;
  readonly sentTimestamp: number;
  firstReceiveTimestamp: number | undefined;
  receiveCount: number;
  /** Not delivered before this time (DelaySeconds, then the retry delay). */
  availableAt: number;
}

export const newStoredMessage = (input: SendMessageInput, now = Date.now()): StoredMessage => ({
  messageId: randomUUID(),
  body: input.body,
  md5OfBody: md5Hex(input.body),
  attributes: input.attributes,
  md5OfMessageAttributes: md5OfMessageAttributes(input.attributes),
  sentTimestamp: now,
  firstReceiveTimestamp: undefined,
  receiveCount: 0,
  availableAt: now + input.delaySeconds * 1000,
});

/** The SQS event record Lambda passes for a received message (after receiveCount was counted). */
export const buildSqsRecord = (
  message: StoredMessage,
  queueArn: string,
  receiptHandle: string,
): SQSRecord => {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, attribute] of Object.entries(message.attributes)) {
    messageAttributes[name] = {
      ...(attribute.StringValue !== undefined ? { stringValue: attribute.StringValue } : {}),
      ...(attribute.BinaryValue !== undefined ? { binaryValue: attribute.BinaryValue } : {}),
      stringListValues: [],
      binaryListValues: [],
      dataType: attribute.DataType,
    };
  }
  return {
    messageId: message.messageId,
    receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? Date.now()),
    },
    messageAttributes,
    md5OfBody: message.md5OfBody,
    ...(message.md5OfMessageAttributes ? { md5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
};

/**
 * The message ids of `messageIds` that an invocation result reports as failed, the way Lambda
 * reads an SQSBatchResponse: no result, no or an empty `batchItemFailures` = all succeeded; a
 * failure list that is not a list, or names an empty or unknown id = the whole batch failed.
 */
export const failedMessageIds = (result: unknown, messageIds: readonly string[]): string[] => {
  if (result === undefined || result === null || typeof result !== 'object') return [];
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return [];
  if (!Array.isArray(failures)) return [...messageIds];
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !messageIds.includes(id)) return [...messageIds];
    failed.add(id);
  }
  return [...failed];
};

// ---------------------------------------------------------------------------------------------
// The queue and its event source mapping

/** What the event source mapping invokes; its result is read as an SQSBatchResponse. */
export type QueueConsumer = (event: SQSEvent) => Promise<unknown>;

export interface QueueStats {
  /** Messages accepted by SendMessage. */
  readonly sent: number;
  /** Deliveries (receives), redeliveries included. */
  readonly delivered: number;
  /** Deliveries of a message that had been delivered before. */
  readonly redelivered: number;
  /** Messages done (their consumer succeeded). */
  readonly succeeded: number;
  readonly deadLettered: number;
  /** Waiting for delivery (incl. delayed and waiting for a retry). */
  readonly queued: number;
  /** Being handled by the consumer right now. */
  readonly inFlight: number;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly sentTimestamp: number;
  /** Why the last delivery failed. */
  readonly reason: string;
}

export type LogFn = (level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string) => void;

export interface FakeSqsOptions {
  readonly consumer: QueueConsumer;
  /** Default: the export queue's local name. */
  readonly queueName?: string;
  /** Receives before a message is dead-lettered (default: EXPORT_QUEUE.maxReceiveCount). */
  readonly maxReceiveCount?: number;
  /** Concurrent invocations (default 2). */
  readonly concurrency?: number;
  /** How long a failed message stays invisible before its next delivery (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** 0 or undefined = a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly log?: LogFn;
}

export interface QueueHooks {
  /** The queue URL to send to (EXPORT_QUEUE_URL). */
  readonly url: string;
  /** Resolves once nothing is queued (delayed and retrying messages included) or in flight, or on stop. */
  idle(): Promise<void>;
  stats(): QueueStats;
  deadLetters(): readonly DeadLetter[];
}

export interface FakeSqs extends QueueHooks {
  /** Endpoint for AWS_ENDPOINT_URL_SQS. */
  readonly endpoint: string;
  readonly port: number;
  readonly arn: string;
  /** Stops the server and deliveries; waits up to `graceMs` (default 5000) for invocations in flight. */
  stop(graceMs?: number): Promise<void>;
}

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** A consumer that invokes a Lambda handler module like the event source mapping does (see lambda.ts). */
export const lambdaConsumer = (
  name: string,
  fn: FunctionDefinition,
  loadModule?: (entry: string) => Promise<unknown>,
): QueueConsumer => lambdaInvoker<SQSEvent>(name, fn, loadModule);

export const startFakeSqs = async (options: FakeSqsOptions): Promise<FakeSqs> => {
  const queueName = options.queueName ?? EXPORT_QUEUE.localName;
  const maxReceiveCount = options.maxReceiveCount ?? EXPORT_QUEUE.maxReceiveCount;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const log: LogFn = options.log ?? (() => {});
  const arn = `arn:aws:sqs:${REGION}:${LOCAL_ACCOUNT_ID}:${queueName}`;

  const waiting: StoredMessage[] = [];
  const inFlight = new Set<Promise<void>>();
  const dead: DeadLetter[] = [];
  const counts = { sent: 0, delivered: 0, redelivered: 0, succeeded: 0, deadLettered: 0 };
  let idleWaiters: Array<() => void> = [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const isIdle = (): boolean => waiting.length === 0 && inFlight.size === 0;
  const notifyIdle = (): void => {
    if (!isIdle() && !stopped) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const deliver = async (message: StoredMessage): Promise<void> => {
    const now = Date.now();
    message.receiveCount += 1;
    message.firstReceiveTimestamp ??= now;
    counts.delivered += 1;
    if (message.receiveCount > 1) counts.redelivered += 1;
    const receiptHandle = randomBytes(48).toString('base64');
    const record = buildSqsRecord(message, arn, receiptHandle);
    let reason: string | undefined;
    try {
      const result = await options.consumer({ Records: [record] });
      if (failedMessageIds(result, [message.messageId]).length > 0) reason = 'reported in batchItemFailures';
    } catch (error) {
      reason = describeError(error);
    }
    if (reason === undefined) {
      counts.succeeded += 1;
      return;
    }
    if (message.receiveCount >= maxReceiveCount) {
      counts.deadLettered += 1;
      dead.push({
        messageId: message.messageId,
        body: message.body,
        receiveCount: message.receiveCount,
        sentTimestamp: message.sentTimestamp,
        reason,
      });
      log(
        'ERROR',
        `${queueName}: message ${message.messageId} moved to the dead-letter queue after ${message.receiveCount} receives (${reason})`,
      );
      return;
    }
    message.availableAt = Date.now() + retryDelayMs;
    waiting.push(message);
    log(
      'WARN',
      `${queueName}: message ${message.messageId} failed on receive ${message.receiveCount} (${reason}); redelivery in ${retryDelayMs} ms`,
    );
  };

  /** Starts what may start now, and arms a timer for the next message that becomes visible later. */
  const pump = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    const now = Date.now();
    while (inFlight.size < concurrency) {
      let next = -1;
      for (const [i, message] of waiting.entries()) {
        if (
          message.availableAt <= now &&
          (next === -1 || message.availableAt < (waiting[next]?.availableAt ?? 0))
        ) {
          next = i;
        }
      }
      if (next === -1) break;
      const [message] = waiting.splice(next, 1) as [StoredMessage];
      const delivery: Promise<void> = deliver(message)
        .catch((error: unknown) => log('ERROR', `${queueName}: delivery failed: ${describeError(error)}`))
        .finally(() => {
          inFlight.delete(delivery);
          pump();
        });
      inFlight.add(delivery);
    }
    if (inFlight.size < concurrency && waiting.length > 0) {
      const soonest = Math.min(...waiting.map((message) => message.availableAt));
      timer = setTimeout(pump, Math.max(0, soonest - now));
    }
    notifyIdle();
  };

  const send = (input: SendMessageInput): StoredMessage => {
    const message = newStoredMessage(input);
    waiting.push(message);
    counts.sent += 1;
    log('DEBUG', `${queueName}: message ${message.messageId} sent`);
    // Never inside the request: the response goes out before any consumer runs.
    setImmediate(pump);
    return message;
  };

  const stats = (): QueueStats => ({ ...counts, queued: waiting.length, inFlight: inFlight.size });
  const idle = (): Promise<void> =>
    isIdle() || stopped ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));

  const reply = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    const payload = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': CONTENT_TYPE,
      'x-amzn-requestid': randomUUID(),
      'content-length': String(payload.length),
      ...headers,
    });
    res.end(payload);
  };
  const replyError = (res: ServerResponse, error: SqsError): void =>
    reply(
      res,
      error.status,
      { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
      { 'x-amzn-query-error': `${error.queryCode};${error.status >= 500 ? 'Receiver' : 'Sender'}` },
    );

  /** The non-AWS test hooks, for test processes that cannot reach this object. */
  const handleLocal = async (res: ServerResponse, url: URL): Promise<void> => {
    if (url.pathname === '/_local/queue') return reply(res, 200, stats());
    if (url.pathname === '/_local/queue/idle') {
      const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 30_000);
      const done = await withTimeout(idle(), timeoutMs, 'idle').then(
        () => true,
        () => false,
      );
      return reply(res, done ? 200 : 408, stats());
    }
    if (url.pathname === '/_local/queue/dead-letters') return reply(res, 200, dead);
    return reply(res, 404, { message: 'not found' });
  };

  const operate = (request: SqsRequest): unknown => {
    switch (request.operation) {
      case 'SendMessage': {
        const input = parseSendMessage(request.input);
        if (!isQueueUrlOf(input.queueUrl, queueName)) throw queueDoesNotExist();
        const message = send(input);
        return {
          MessageId: message.messageId,
          MD5OfMessageBody: message.md5OfBody,
          ...(message.md5OfMessageAttributes
            ? { MD5OfMessageAttributes: message.md5OfMessageAttributes }
            : {}),
        };
      }
      case 'GetQueueUrl': {
        if (request.input.QueueName !== queueName) throw queueDoesNotExist();
        return { QueueUrl: url };
      }
      default:
        throw new SqsError(
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `${request.operation} is not supported by the local queue.`,
        );
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const body = await readBody(req, MAX_REQUEST_BYTES);
      const target = new URL(req.url ?? '/', 'http://local');
      if (req.method === 'GET' && target.pathname.startsWith('/_local/'))
        return await handleLocal(res, target);
      if (body === undefined) throw invalidParameter('The request is too large.');
      if (req.method !== 'POST')
        throw new SqsError(
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          'Use POST.',
        );
      const request = parseSqsRequest(
        req.headers['x-amz-target'] as string | undefined,
        req.headers['content-type'],
        body,
      );
      reply(res, 200, operate(request));
    } catch (error) {
      if (error instanceof SqsError) return replyError(res, error);
      log('ERROR', `${queueName}: ${describeError(error)}`);
      replyError(
        res,
        new SqsError('InternalError', 'InternalError', 'We encountered an internal error.', 500),
      );
    }
  };

  const { server, port } = await listen(handle, options.port, options.host);
  const endpoint = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const url = queueUrlOf(endpoint, queueName);

  return {
    endpoint,
    port,
    url,
    arn,
    idle,
    stats,
    deadLetters: () => [...dead],
    stop: async (graceMs = 5000) => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      notifyIdle();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const settled = Promise.allSettled([...inFlight]);
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([settled, grace]);
      server.closeAllConnections();
      await closed;
    },
  };
};
