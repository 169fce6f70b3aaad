/**
 * A local stand-in for SES v2 that only sends raw email: `POST /v2/email/outbound-emails`
 * (REST-JSON, as @aws-sdk/client-sesv2's SendEmail serializes it) with `Content.Raw.Data`
 * (base64 MIME). Each message is written byte for byte to `<outboxDir>/<timestamp>-<messageId>.eml`,
 * its path logged at INFO, and answered with `{ "MessageId": … }`. The mailer reaches it through
 * `AWS_ENDPOINT_URL_SESV2`, exactly as it reaches SES in AWS. Signatures are ignored.
 *
 * Stricter than SES on purpose: a request without Raw content (Simple, Template) or without any
 * recipient in `Destination` answers 400 BadRequestException, so a mailer that relies on either
 * fails here before it fails in AWS. Request parsing is a pure function, exported for tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { LogFn } from './fake-sqs.ts';
import { listen, readBody } from './http-util.ts';

export const SEND_EMAIL_PATH = '/v2/email/outbound-emails';
/** SES v2's limit for a raw message (after base64 decoding). */
export const MAX_RAW_BYTES = 40 * 1024 * 1024;
/** SES's limit of recipients per message (To, Cc and Bcc together). */
const MAX_RECIPIENTS = 50;
/** The base64 of MAX_RAW_BYTES plus the JSON around it. */
const MAX_REQUEST_BYTES = Math.ceil((MAX_RAW_BYTES * 4) / 3) + 64 * 1024;

/** An SES error: `x-amzn-errortype: <type>` and `{ "message": … }`, as REST-JSON carries it. */
export class SesError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

const badRequest = (message: string): SesError => new SesError('BadRequestException', message);

export interface SendEmailRequest {
  readonly from: string | undefined;
  /** To, Cc and Bcc addresses, in that order. */
  readonly recipients: readonly string[];
  /** The raw MIME message. */
  readonly raw: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const addresses = (value: unknown, field: string): string[] => {
  if (value === undefined || value === null) return [];
  if (
    !Array.isArray(value) ||
    value.some((address) => typeof address !== 'string' || address.trim() === '')
  ) {
    throw badRequest(`Destination.${field} must be a list of email addresses.`);
  }
  return value as string[];
};

/** Validates a SendEmail request body (JSON) and decodes its raw message. Throws SesError. */
export const parseSendEmailRequest = (body: Buffer): SendEmailRequest => {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw badRequest('The request body must be a JSON object.');
  }
  const { Content, Destination, FromEmailAddress } = input as Record<string, unknown>;
  const content = (typeof Content === 'object' && Content !== null ? Content : {}) as Record<string, unknown>;
  const raw = content.Raw as { Data?: unknown } | undefined;
  if (typeof raw !== 'object' || raw === null) {
    throw badRequest('Content.Raw is required: the local SES only sends raw MIME messages.');
  }
  const data = raw.Data;
  if (typeof data !== 'string' || data === '' || data.length % 4 === 1 || !BASE64.test(data)) {
    throw badRequest('Content.Raw.Data must be a non-empty base64 blob.');
  }
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length > MAX_RAW_BYTES) throw badRequest(`The message exceeds ${MAX_RAW_BYTES} bytes.`);

  const destination = (typeof Destination === 'object' && Destination !== null ? Destination : {}) as Record<
    string,
    unknown
  >;
  const recipients = [
    ...addresses(destination.ToAddresses, 'ToAddresses'),
    ...addresses(destination.CcAddresses, 'CcAddresses'),
    ...addresses(destination.BccAddresses, 'BccAddresses'),
  ];
  if (recipients.length === 0) throw badRequest('Destination must name at least one recipient.');
  if (recipients.length > MAX_RECIPIENTS) {
    throw badRequest(`Recipient count exceeds ${MAX_RECIPIENTS}.`);
  }
  if (FromEmailAddress !== undefined && typeof FromEmailAddress !== 'string') {
    throw badRequest('FromEmailAddress must be a string.');
  }
  return { from: FromEmailAddress, recipients, raw: bytes };
};

/** SES-like message id: `0100` + 12 hex digits, a UUID, `-000000`. */
export const newSesMessageId = (): string => `0100${randomBytes(6).toString('hex')}-${randomUUID()}-000000`;

/** `2026-11-21T21-18-03-123Z-<messageId>.eml`: sorts by time, and is a valid name on every OS. */
export const outboxFileName = (date: Date, messageId: string): string =>
  `${date.toISOString().replace(/[:.]/g, '-')}-${messageId}.eml`;

export interface FakeSesOptions {
  /** Where messages are written (created if missing). */
  readonly outboxDir: string;
  /** 0 or undefined = a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly log?: LogFn;
}

export interface FakeSes {
  /** Endpoint for AWS_ENDPOINT_URL_SESV2. */
  readonly endpoint: string;
  readonly port: number;
  readonly outboxDir: string;
  /** How many messages were written. */
  sent(): number;
  stop(): Promise<void>;
}

export const startFakeSes = async (options: FakeSesOptions): Promise<FakeSes> => {
  const { outboxDir } = options;
  const log: LogFn = options.log ?? (() => {});
  await mkdir(outboxDir, { recursive: true });
  let count = 0;

  const reply = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const payload = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
      'content-length': String(payload.length),
      ...headers,
    });
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const body = await readBody(req, MAX_REQUEST_BYTES);
      const path = (req.url ?? '/').split('?')[0];
      if (path !== SEND_EMAIL_PATH || req.method !== 'POST') {
        throw new SesError(
          'NotFoundException',
          `${req.method} ${path} is not supported by the local SES.`,
          404,
        );
      }
      if (body === undefined) throw badRequest(`The message exceeds ${MAX_RAW_BYTES} bytes.`);
      const email = parseSendEmailRequest(body);
      const messageId = newSesMessageId();
      const file = join(outboxDir, outboxFileName(new Date(), messageId));
      await writeFile(file, email.raw);
      count += 1;
      log('INFO', `email to ${email.recipients.join(', ')} written to ${file}`);
      reply(res, 200, { MessageId: messageId });
    } catch (error) {
      const sesError =
        error instanceof SesError
          ? error
          : new SesError('InternalFailure', 'The request processing has failed.', 500);
      if (!(error instanceof SesError)) log('ERROR', `local SES: ${String(error)}`);
      reply(res, sesError.status, { message: sesError.message }, { 'x-amzn-errortype': sesError.type });
    }
  };

  const { server, port } = await listen(handle, options.port, options.host);
  return {
    endpoint: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    outboxDir,
    sent: () => count,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
};
