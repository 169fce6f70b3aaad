/**
 * Shared helpers of the reliability suite: a local stack per test file (persistent under a fresh
 * temporary directory, so DynamoDB Local survives restarts), a raw HTTP client that sends exactly
 * the bytes, headers and paths it is given, a retrying client that behaves like a real one, a
 * bounded concurrency pool, viewer sessions (mint, exchange, the token's parts) and export files,
 * direct reads of the events table, and one summary line per part.
 */

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import canonicalize from 'canonicalize';
import { parse as parseCsv } from 'csv-parse/sync';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '#infra/local/stack.ts';
import { fromItem } from '#shared/adapters/event-store.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';

// ---------------------------------------------------------------------------------------------
// The stack

/** Fixed so a failing run can be replayed by hand; it only ever guards a throw-away local stack. */
export const RELIABILITY_OPERATOR_KEY = 'tk_op_reliability-suite-operator-key-000000000000';

export interface TestStack {
  readonly stack: LocalStack;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Starts the whole service in this process, persisting under a fresh temporary directory. */
export const startTestStack = async (
  label: string,
  options: Omit<LocalStackOptions, 'dataDir' | 'port' | 'operatorKey'> = {},
): Promise<TestStack> => {
  const dataDir = await mkdtemp(join(tmpdir(), `trailkeeper-${label}-`));
  try {
    const stack = await startLocalStack({
      dataDir,
      port: 0,
      operatorKey: RELIABILITY_OPERATOR_KEY,
      logLevel: 'ERROR',
      ...options,
    });
    return {
      stack,
      dataDir,
      stop: async () => {
        try {
          await stack.stop();
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
};

// ---------------------------------------------------------------------------------------------
// HTTP

export interface RawRequest {
  readonly method: string;
  /** Sent as is: not normalised, not re-encoded (`..`, `%2F`, `#` all reach the server). */
  readonly path: string;
  /** An array value sends the header once per element. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: Buffer | string;
  readonly timeoutMs?: number;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed JSON body, or undefined when it is empty or not JSON. */
  readonly json: any;
}

export interface HttpClient {
  send(request: RawRequest): Promise<HttpReply>;
  close(): void;
}

/** A keep-alive HTTP/1.1 client for one base URL (127.0.0.1 only). */
export const createHttpClient = (baseUrl: string, maxSockets = 16): HttpClient => {
  const url = new URL(baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error(`only 127.0.0.1 traffic, not ${url.hostname}`);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = (request: RawRequest, onFreshSocket = false): Promise<HttpReply> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: request.method,
          path: request.path,
          headers: request.headers as Record<string, string | string[]> | undefined,
          timeout: request.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed as we reused it: client plumbing, not an answer.
        // Node's documented remedy is to send again on a fresh socket, once.
        if (req.reusedSocket && error.code === 'ECONNRESET' && !onFreshSocket) resolve(send(request, true));
        else reject(error);
      });
      req.end(request.body);
    });
  return { send: (request) => send(request), close: () => agent.destroy() };
};

/** JSON request helper: `Authorization: Bearer <token>` and a JSON body. */
export const jsonRequest = (
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): RawRequest => ({
  method,
  path,
  headers: {
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** What a real client does: a few attempts spread over tens of seconds. */
export const CLIENT_RETRY_POLICY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 250, maxDelayMs: 5_000 };

/** Statuses a client retries with the very same request. */
export const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

export interface RetryOutcome {
  /** The last answer, or undefined when every attempt ended in a network error. */
  readonly reply: HttpReply | undefined;
  readonly attempts: number;
  /** One entry per failed attempt: the status, or `network:<code>`. */
  readonly failures: readonly string[];
}

/**
 * Sends `request` until it gets an answer that is not retryable, retrying the SAME request on
 * 429, 5xx and network errors with exponential backoff and full jitter, at most
 * `policy.maxAttempts` times.
 */
export const sendWithRetry = async (
  client: HttpClient,
  request: RawRequest,
  policy: RetryPolicy = CLIENT_RETRY_POLICY,
): Promise<RetryOutcome> => {
  const failures: string[] = [];
  let reply: HttpReply | undefined;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    try {
      reply = await client.send(request);
      if (!isRetryableStatus(reply.status)) return { reply, attempts: attempt, failures };
      failures.push(String(reply.status));
    } catch (error) {
      reply = undefined;
      failures.push(`network:${(error as { code?: string }).code ?? 'error'}`);
    }
    if (attempt < policy.maxAttempts) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling);
    }
  }
  return { reply, attempts: policy.maxAttempts, failures };
};

// ---------------------------------------------------------------------------------------------
// Tenants and keys through the API

export interface ReliabilityTenant {
  readonly id: string;
  readonly key: string;
  readonly keyId: string;
}

export const ALL_SCOPES = ['events:write', 'events:read', 'exports:write', 'admin'];

const expectStatus = (reply: HttpReply, status: number, what: string): any => {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${reply.text.slice(0, 500)}`);
  return reply.json;
};

export const createKey = async (
  client: HttpClient,
  tenantId: string,
  scopes: readonly string[],
  token = RELIABILITY_OPERATOR_KEY,
): Promise<{ id: string; key: string }> => {
  const body = expectStatus(
    await client.send(
      jsonRequest('POST', `/v1/tenants/${tenantId}/keys`, token, { name: 'reliability', scopes }),
    ),
    201,
    'create key',
  );
  return { id: String(body.id), key: String(body.key) };
};

/**
 * Creates a tenant and a key with every scope, as an operator would. The suites drive a tenant
 * far above any plan's request rate, so the operator raises its limit to the maximum, as it would
 * for a tenant known to send bursts (per-tenant limits have their own integration test).
 */
export const createTenant = async (
  client: HttpClient,
  settings: Record<string, unknown> = {},
): Promise<ReliabilityTenant> => {
  const tenant = expectStatus(
    await client.send(
      jsonRequest('POST', '/v1/tenants', RELIABILITY_OPERATOR_KEY, {
        name: 'Reliability',
        plan: 'pro',
        rate_limit_rps: 10_000,
        ...settings,
      }),
    ),
    201,
    'create tenant',
  );
  const key = await createKey(client, String(tenant.id), ALL_SCOPES);
  return { id: String(tenant.id), key: key.key, keyId: key.id };
};

/** Follows next_cursor to the end of a query; throws on anything but 200 or a runaway loop. */
export const listAll = async (
  client: HttpClient,
  token: string,
  query: Record<string, string>,
  maxPages = 10_000,
): Promise<{ events: any[]; pages: number }> => {
  const events: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams({ ...query, ...(cursor === null ? {} : { cursor }) });
    const reply = await client.send(jsonRequest('GET', `/v1/events?${params}`, token));
    const body = expectStatus(reply, 200, 'list events');
    events.push(...body.data);
    cursor = body.next_cursor;
    pages += 1;
    if (pages > maxPages) throw new Error('cursor loop');
  } while (cursor !== null);
  return { events, pages };
};

// ---------------------------------------------------------------------------------------------
// People through the API: viewer sessions and the files they export

export interface ViewerSession {
  readonly token: string;
  /** The session id (the token's `jti`): what the person's own audit events carry. */
  readonly sessionId: string;
}

/** One JSON part of a compact JWS (0: header, 1: payload), decoded without checking anything. */
export const jwtPart = (token: string, index: 0 | 1): Record<string, any> =>
  JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8'));

/** The compact JWS with one JSON part replaced and the rest (the signature too) kept as it was. */
export const withJwtPart = (token: string, index: 0 | 1, value: unknown): string => {
  const parts = token.split('.');
  parts[index] = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return parts.join('.');
};

/**
 * Signs a person in as the application would: mints a viewer session with `adminToken` (the
 * operator or a tenant key with `admin`) and exchanges its one-time code for the session token.
 */
export const signIn = async (
  client: HttpClient,
  tenantId: string,
  adminToken: string,
  body: { user: { id: string; email?: string; name?: string }; role: string; team_ids?: string[] },
): Promise<ViewerSession> => {
  const minted = expectStatus(
    await client.send(jsonRequest('POST', `/v1/tenants/${tenantId}/viewer-sessions`, adminToken, body)),
    201,
    'mint viewer session',
  );
  const session = expectStatus(
    await client.send(jsonRequest('POST', '/v1/sessions', undefined, { code: minted.code })),
    201,
    'exchange code',
  );
  const token = String(session.token);
  return { token, sessionId: String(jwtPart(token, 1).jti) };
};

/** The events of an export file as downloaded (CSV: each row's `event_json` column). */
export const exportFileEvents = (format: string, text: string): any[] => {
  const body = text.replace(/^\uFEFF/, '');
  if (format === 'json') return JSON.parse(body);
  if (format === 'ndjson')
    return body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line));
  const rows = parseCsv(body, { columns: true }) as Record<string, string>[];
  return rows.map((row) => JSON.parse(row.event_json ?? 'null'));
};

// ---------------------------------------------------------------------------------------------
// Concurrency

/** Runs `task` for each item with at most `concurrency` at a time; results in input order. */
export const mapPool = async <T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
};

// ---------------------------------------------------------------------------------------------
// Direct reads of DynamoDB Local (a client of our own, not the handlers')

export type EventItem = Record<string, any>;

/** Every item of a table, read with a plain consistent Scan. */
export const scanTable = async (endpoint: string, tableName: string): Promise<EventItem[]> => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...localDynamoDbClientConfig(endpoint), maxAttempts: 5 }),
  );
  try {
    const items: EventItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  } finally {
    client.destroy();
  }
};

/** An event as stored: the tenant and id its table key names, and the event its item decodes to. */
export interface StoredItem {
  readonly tenantId: string;
  readonly id: string;
  readonly event: Record<string, any>;
  readonly item: EventItem;
}

/**
 * Every event of the events table (all tenants), decoded with the service's own item decoder so
 * the check does not depend on the item layout; the key `<tenant>#<event id>` is read directly.
 * Items that are not events (no such key, no document) are returned apart.
 */
export const scanStoredEvents = async (
  endpoint: string,
): Promise<{ events: StoredItem[]; others: EventItem[] }> => {
  const events: StoredItem[] = [];
  const others: EventItem[] = [];
  for (const item of await scanTable(endpoint, EVENTS_TABLE.localName)) {
    const key = /^(tnt_[0-9a-z]{26})#(.+)$/s.exec(String(item.pk ?? ''));
    if (key === null || item.doc === undefined) others.push(item);
    else events.push({ tenantId: key[1] as string, id: key[2] as string, event: fromItem(item), item });
  }
  return { events, others };
};

/** How many events of `tenantId` the events table holds (a Scan that counts keys only). */
export const countStoredEvents = async (endpoint: string, tenantId: string): Promise<number> => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...localDynamoDbClientConfig(endpoint), maxAttempts: 5 }),
  );
  try {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: EVENTS_TABLE.localName,
          Select: 'COUNT',
          FilterExpression: 'begins_with(pk, :tenant)',
          ExpressionAttributeValues: { ':tenant': `${tenantId}#` },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return count;
  } finally {
    client.destroy();
  }
};

/**
 * Waits until `measure` gives the same value for `quietMs` (requests a client abandoned may still
 * be writing after it moved on), at most `maxMs`. Returns the last value.
 */
export const waitUntilSettled = async (
  measure: () => Promise<number>,
  { quietMs = 6_000, maxMs = 120_000 } = {},
): Promise<number> => {
  const deadline = Date.now() + maxMs;
  let last = await measure();
  let stableSince = Date.now();
  while (Date.now() - stableSince < quietMs && Date.now() < deadline) {
    await sleep(1_000);
    const value = await measure();
    if (value !== last) {
      last = value;
      stableSince = Date.now();
    }
  }
  return last;
};

/** The content hash the spec defines: SHA-256 of the RFC 8785 canonical event without `expires_at` and `hash`. */
export const contentHash = (event: Record<string, unknown>): string => {
  const { expires_at: _expires, hash: _hash, ...covered } = event;
  return createHash('sha256')
    .update(canonicalize(covered) ?? '', 'utf8')
    .digest('hex');
};

/** Every item of the control table (tenants and keys of all tenants). */
export const scanControlTable = (endpoint: string): Promise<EventItem[]> =>
  scanTable(endpoint, CONTROL_TABLE.localName);

/** Counts of a list of labels, most frequent first: `503×12, network:ECONNRESET×3`. */
export const countBy = (labels: Iterable<string>): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => b[1] - a[1]));
};

export const formatCounts = (counts: ReadonlyMap<string, number>): string =>
  counts.size === 0 ? 'none' : [...counts].map(([label, n]) => `${label}×${fmt(n)}`).join(', ');

/** 24300 → `24,300`. */
export const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** One summary line per part, as `<part>: <text>`, printed with console.log. */
export const printSummary = (part: string, text: string): void => {
  console.log(`${part}: ${text}`);
};
