/**
 * The pure parts of the local SQS and SES endpoints (infra/local/fake-sqs.ts, fake-ses.ts):
 * checksums the SDK checks or SQS returns, request parsing and validation, the Lambda SQS event
 * record, and how a batch response is read. The servers are driven in test/integration.
 */
import { describe, expect, it } from 'vitest';
import {
  newSesMessageId,
  outboxFileName,
  parseSendEmailRequest,
  SEND_EMAIL_PATH,
  SesError,
} from '#infra/local/fake-ses.ts';
import {
  buildSqsRecord,
  failedMessageIds,
  isQueueUrlOf,
  md5Hex,
  md5OfMessageAttributes,
  newStoredMessage,
  parseSendMessage,
  parseSqsRequest,
  queueUrlOf,
  SqsError,
} from '#infra/local/fake-sqs.ts';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const sqsErrorOf = (fn: () => unknown): SqsError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SqsError) return error;
    throw error;
  }
  throw new Error('expected an SqsError');
};

const sesErrorOf = (fn: () => unknown): SesError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SesError) return error;
    throw error;
  }
  throw new Error('expected an SesError');
};

describe('SQS checksums', () => {
  it('computes MD5OfMessageBody over the UTF-8 bytes', () => {
    expect(md5Hex('derp')).toBe('58fd9edd83341c29f1aebba81c31e257');
    expect(md5Hex('hello')).toBe('5d41402abc4b2a76b9719d911017c592');
    expect(md5Hex('é')).toBe(md5Hex(Buffer.from([0xc3, 0xa9])));
  });

  // Vectors that moto's SQS tests pin as what AWS returns.
  it('computes MD5OfMessageAttributes as SQS does', () => {
    expect(md5OfMessageAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359900' } })).toBe(
      '235c5c510d26fb653d073faed50ae77c',
    );
    expect(md5OfMessageAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359901' } })).toBe(
      '994258b45346a2cc3f9cbb611aa7af30',
    );
    expect(
      md5OfMessageAttributes({
        ccc: { DataType: 'String', StringValue: 'testjunk' },
        aaa: { DataType: 'Binary', BinaryValue: Buffer.from([2, 3, 4]).toString('base64') },
        zzz: { DataType: 'Number', StringValue: '0230.01' },
        öther_encodings: { DataType: 'String', StringValue: 'Tüst' },
      }),
    ).toBe('8ae21a7957029ef04146b42aeaa18a22');
  });

  it('omits MD5OfMessageAttributes without attributes', () => {
    expect(md5OfMessageAttributes({})).toBeUndefined();
  });
});

describe('SQS request parsing', () => {
  const target = 'AmazonSQS.SendMessage';
  const type = 'application/x-amz-json-1.0';

  it('reads the operation from x-amz-target and the input from the JSON body', () => {
    expect(parseSqsRequest(target, type, json({ QueueUrl: 'q', MessageBody: 'b' }))).toEqual({
      operation: 'SendMessage',
      input: { QueueUrl: 'q', MessageBody: 'b' },
    });
  });

  it('refuses the query protocol, other content types and bodies that are not JSON objects', () => {
    expect(sqsErrorOf(() => parseSqsRequest(undefined, type, json({}))).type).toBe('UnsupportedOperation');
    expect(sqsErrorOf(() => parseSqsRequest('DynamoDB_20120810.PutItem', type, json({}))).type).toBe(
      'UnsupportedOperation',
    );
    expect(
      sqsErrorOf(() => parseSqsRequest(target, 'application/x-www-form-urlencoded', json({}))).type,
    ).toBe('InvalidParameterValue');
    expect(sqsErrorOf(() => parseSqsRequest(target, type, Buffer.from('{'))).type).toBe(
      'SerializationException',
    );
    expect(sqsErrorOf(() => parseSqsRequest(target, type, json([1]))).type).toBe('SerializationException');
  });

  it('builds and recognises queue URLs on any local host name', () => {
    const url = queueUrlOf('http://127.0.0.1:4566/', 'jobs');
    expect(url).toBe('http://127.0.0.1:4566/000000000000/jobs');
    expect(isQueueUrlOf(url, 'jobs')).toBe(true);
    expect(isQueueUrlOf('http://localhost:1/000000000000/jobs/', 'jobs')).toBe(true);
    expect(isQueueUrlOf('http://127.0.0.1:4566/000000000000/other', 'jobs')).toBe(false);
    expect(isQueueUrlOf('jobs', 'jobs')).toBe(false);
  });
});

describe('SendMessage validation', () => {
  const QueueUrl = 'http://127.0.0.1:1/000000000000/jobs';

  it('accepts a body, a delay and message attributes', () => {
    const input = parseSendMessage({
      QueueUrl,
      MessageBody: '{"a":1}',
      DelaySeconds: 5,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'x' },
        blob: { DataType: 'Binary', BinaryValue: 'AQI=' },
      },
    });
    expect(input).toEqual({
      queueUrl: QueueUrl,
      body: '{"a":1}',
      delaySeconds: 5,
      attributes: {
        kind: { DataType: 'String', StringValue: 'x' },
        blob: { DataType: 'Binary', BinaryValue: 'AQI=' },
      },
    });
  });

  it('refuses what SQS refuses', () => {
    expect(sqsErrorOf(() => parseSendMessage({ MessageBody: 'x' })).type).toBe('MissingParameter');
    expect(sqsErrorOf(() => parseSendMessage({ QueueUrl })).type).toBe('MissingParameter');
    expect(sqsErrorOf(() => parseSendMessage({ QueueUrl, MessageBody: '' })).type).toBe('MissingParameter');
    expect(sqsErrorOf(() => parseSendMessage({ QueueUrl, MessageBody: 'a\u0000b' })).type).toBe(
      'InvalidMessageContents',
    );
    expect(sqsErrorOf(() => parseSendMessage({ QueueUrl, MessageBody: 'x', DelaySeconds: 901 })).type).toBe(
      'InvalidParameterValue',
    );
    expect(
      sqsErrorOf(() => parseSendMessage({ QueueUrl, MessageBody: 'x'.repeat(1024 * 1024 + 1) })).type,
    ).toBe('InvalidParameterValue');
    const badAttribute = {
      QueueUrl,
      MessageBody: 'x',
      MessageAttributes: { a: { DataType: 'Date', StringValue: '1' } },
    };
    expect(sqsErrorOf(() => parseSendMessage(badAttribute)).type).toBe('InvalidParameterValue');
    const emptyAttribute = { QueueUrl, MessageBody: 'x', MessageAttributes: { a: { DataType: 'String' } } };
    expect(sqsErrorOf(() => parseSendMessage(emptyAttribute)).type).toBe('InvalidParameterValue');
  });

  it('accepts tabs, newlines, emoji and the rest of valid Unicode', () => {
    expect(parseSendMessage({ QueueUrl, MessageBody: 'a\tb\r\nc 😀 \ufffd' }).body).toBe(
      'a\tb\r\nc 😀 \ufffd',
    );
  });
});

describe('SQS event records', () => {
  it('carries what Lambda passes for an SQS message', () => {
    const message = newStoredMessage(
      {
        queueUrl: 'http://127.0.0.1:1/000000000000/jobs',
        body: '{"exportId":"e1"}',
        delaySeconds: 0,
        attributes: { kind: { DataType: 'String', StringValue: 'x' } },
      },
      1_700_000_000_000,
    );
    message.receiveCount = 2;
    message.firstReceiveTimestamp = 1_700_000_000_500;
    const record = buildSqsRecord(message, 'arn:aws:sqs:us-east-1:000000000000:jobs', 'handle');
    expect(record).toEqual({
      messageId: message.messageId,
      receiptHandle: 'handle',
      body: '{"exportId":"e1"}',
      attributes: {
        ApproximateReceiveCount: '2',
        SentTimestamp: '1700000000000',
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: '1700000000500',
      },
      messageAttributes: {
        kind: { stringValue: 'x', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
      md5OfBody: md5Hex('{"exportId":"e1"}'),
      md5OfMessageAttributes: md5OfMessageAttributes(message.attributes),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:jobs',
      awsRegion: 'us-east-1',
    });
  });

  it('delays delivery by DelaySeconds', () => {
    const message = newStoredMessage({ queueUrl: 'q', body: 'x', delaySeconds: 3, attributes: {} }, 1000);
    expect(message.availableAt).toBe(4000);
    expect(message.md5OfMessageAttributes).toBeUndefined();
  });
});

describe('batch responses', () => {
  const ids = ['m1', 'm2'];

  it('reads no result or an empty failure list as success', () => {
    expect(failedMessageIds(undefined, ids)).toEqual([]);
    expect(failedMessageIds(null, ids)).toEqual([]);
    expect(failedMessageIds({}, ids)).toEqual([]);
    expect(failedMessageIds({ batchItemFailures: [] }, ids)).toEqual([]);
  });

  it('reads the reported failures', () => {
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual(['m2']);
  });

  it('fails the whole batch on an invalid failure list, as Lambda does', () => {
    expect(failedMessageIds({ batchItemFailures: 'm1' }, ids)).toEqual(ids);
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: '' }] }, ids)).toEqual(ids);
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'other' }] }, ids)).toEqual(ids);
    expect(failedMessageIds({ batchItemFailures: [null] }, ids)).toEqual(ids);
  });
});

describe('SES SendEmail parsing', () => {
  const raw = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n';
  const Data = Buffer.from(raw).toString('base64');

  it('uses the SDK path', () => {
    expect(SEND_EMAIL_PATH).toBe('/v2/email/outbound-emails');
  });

  it('decodes the raw message and collects the recipients', () => {
    const parsed = parseSendEmailRequest(
      json({
        FromEmailAddress: 'a@example.com',
        Destination: { ToAddresses: ['b@example.com'], BccAddresses: ['c@example.com'] },
        Content: { Raw: { Data } },
      }),
    );
    expect(parsed.raw.toString('utf8')).toBe(raw);
    expect(parsed.recipients).toEqual(['b@example.com', 'c@example.com']);
    expect(parsed.from).toBe('a@example.com');
  });

  it('refuses a request without raw content or recipients', () => {
    const to = { ToAddresses: ['b@example.com'] };
    const simple = { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } };
    expect(sesErrorOf(() => parseSendEmailRequest(json({ Destination: to, Content: simple }))).type).toBe(
      'BadRequestException',
    );
    expect(
      sesErrorOf(() => parseSendEmailRequest(json({ Destination: to, Content: { Raw: {} } }))).status,
    ).toBe(400);
    expect(() => parseSendEmailRequest(json({ Destination: to, Content: { Raw: { Data: '!!' } } }))).toThrow(
      SesError,
    );
    expect(() => parseSendEmailRequest(json({ Content: { Raw: { Data } } }))).toThrow(/recipient/);
    expect(() =>
      parseSendEmailRequest(json({ Destination: { ToAddresses: [] }, Content: { Raw: { Data } } })),
    ).toThrow(/recipient/);
    expect(() => parseSendEmailRequest(Buffer.from('nope'))).toThrow(SesError);
  });

  it('names outbox files by time and message id', () => {
    const id = newSesMessageId();
    expect(id).toMatch(/^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
    expect(outboxFileName(new Date('2026-11-21T21:18:03.123Z'), id)).toBe(
      `2026-11-21T21-18-03-123Z-${id}.eml`,
    );
  });
});
