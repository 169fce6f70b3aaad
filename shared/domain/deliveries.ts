/**
 * The wire formats of a stream delivery (SPEC, "Streams and alerts"): how a batch of stored
 * events, in `received_at` order, is split within each destination's limits and turned into the
 * headers and body of one POST — Standard Webhooks (signed), Splunk HEC, Datadog logs intake.
 * Pure: the clock, the secrets and the random source are passed in; sending is someone else's job.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { presentEvent, type StoredEvent } from './event.ts';
import type { StreamType } from './stream-input.ts';

const MIB = 1024 * 1024;

/**
 * Per-request limits. Webhook: SPEC (≤ 100 events, ≤ 1 MiB). Splunk HEC: the same as webhooks
 * (HEC's own `max_content_length` is configurable; 1 MiB stays under every default seen).
 * Datadog: the logs intake's documented limits, 5 MB per payload, 1 MB per log, 1,000 logs per
 * array; Datadog writes "MB", so we count decimal megabytes, the smaller reading.
 */
export const DELIVERY_LIMITS = {
  webhook: { maxEvents: 100, maxBodyBytes: MIB, maxItemBytes: MIB },
  splunk_hec: { maxEvents: 100, maxBodyBytes: MIB, maxItemBytes: MIB },
  datadog: { maxEvents: 1_000, maxBodyBytes: 5_000_000, maxItemBytes: 1_000_000 },
} as const satisfies Record<StreamType, { maxEvents: number; maxBodyBytes: number; maxItemBytes: number }>;

export const SPLUNK_SOURCETYPE = 'trailkeeper:audit';
export const SPLUNK_SOURCE = 'trailkeeper';
export const DATADOG_SOURCE = 'trailkeeper';
export const DATADOG_SERVICE = 'trailkeeper';
/** Datadog's intake drops logs whose timestamp is more than 18 hours old; we keep a margin. */
export const DATADOG_MAX_TIMESTAMP_AGE_MS = 17 * 3_600_000;

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Standard Webhooks asks for 24–64 random bytes; 32 is HMAC-SHA256's block-safe key size. */
export const WEBHOOK_SECRET_BYTES = 32;

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

// ---------------------------------------------------------------------------------------------
// Per-event serialisation: one function per type, shared by the batcher and the body builder so
// the byte accounting is that of the real body.

/**
 * Splunk `time`: when the action happened (`occurred_at`), in epoch seconds with milliseconds as
 * decimals. A SIEM searches and correlates by when things happened; HEC accepts past times, so a
 * late event lands where it belongs on the timeline. `received_at` stays inside `event`.
 */
const splunkEntry = (event: StoredEvent): string =>
  JSON.stringify({
    time: Date.parse(event.occurred_at) / 1000,
    sourcetype: SPLUNK_SOURCETYPE,
    source: SPLUNK_SOURCE,
    event: presentEvent(event),
  });

/** A Datadog tag value: lower case, only the characters Datadog keeps, others as `_`. */
const tagValue = (value: string): string => value.toLowerCase().replace(/[^a-z0-9_.:/-]/g, '_');

/**
 * A Datadog log, following the HTTP intake's conventions: reserved attributes at the top level
 * (`ddsource`, `ddtags`, `service`), the event as a JSON string in `message` (the intake parses a
 * JSON message into attributes, and the log explorer shows the whole event), and `timestamp` (epoch
 * ms) from `occurred_at`, as for Splunk — but only while it is younger than Datadog's 18-hour
 * window: an older timestamp would make Datadog drop the log, so after a long outage, a replay or
 * for a late event the timestamp is left out and Datadog stamps the time of intake (the event's
 * own times stay in the message). No `hostname`: the events are not about a host of ours.
 * `nowMs` undefined counts the timestamp in (the larger size) for byte accounting.
 */
const datadogEntry = (event: StoredEvent, nowMs: number | undefined): string => {
  const occurredMs = Date.parse(event.occurred_at);
  const fresh = nowMs === undefined || nowMs - occurredMs <= DATADOG_MAX_TIMESTAMP_AGE_MS;
  return JSON.stringify({
    ddsource: DATADOG_SOURCE,
    service: DATADOG_SERVICE,
    ddtags: `tenant:${tagValue(event.tenant_id)},action:${tagValue(event.action)}`,
    message: JSON.stringify(presentEvent(event)),
    ...(fresh ? { timestamp: occurredMs } : {}),
  });
};

const webhookEntry = (event: StoredEvent): string => JSON.stringify(presentEvent(event));

/** How a type frames its entries into a body: `prefix + entries.join(separator) + suffix`. */
const FRAMING: Record<StreamType, { prefix: string; separator: string; suffix: string }> = {
  webhook: { prefix: '{"type":"audit_events","data":[', separator: ',', suffix: ']}' },
  // HEC accepts concatenated objects; a newline keeps the body readable in a receiver's log.
  splunk_hec: { prefix: '', separator: '\n', suffix: '' },
  datadog: { prefix: '[', separator: ',', suffix: ']' },
};

const entryOf = (type: StreamType, event: StoredEvent, nowMs: number | undefined): string =>
  type === 'webhook'
    ? webhookEntry(event)
    : type === 'splunk_hec'
      ? splunkEntry(event)
      : datadogEntry(event, nowMs);

const frame = (type: StreamType, entries: readonly string[]): string => {
  const { prefix, separator, suffix } = FRAMING[type];
  return `${prefix}${entries.join(separator)}${suffix}`;
};

// ---------------------------------------------------------------------------------------------
// Batching

/**
 * One step of a stream's progress, in input order: a batch to send, or one event that can never be
 * sent to this destination (too large on its own) — recorded with its reason and passed over, so
 * the stream moves on instead of retrying it forever.
 */
export type DeliveryUnit =
  | { kind: 'batch'; events: StoredEvent[]; bodyBytes: number }
  | { kind: 'undeliverable'; event: StoredEvent; bytes: number; reason: string };

export interface BatchOptions {
  /** The send time (epoch ms); only Datadog's body depends on it (see datadogEntry). */
  now?: number;
}

/**
 * Splits events (kept in order) into batches within the type's limits: count, body bytes (UTF-8 of
 * the body buildDelivery makes) and, for Datadog, bytes per log. Greedy: a batch closes when the
 * next event would break a limit. The concatenation of every unit's events is the input.
 */
export const batchesOf = (
  events: readonly StoredEvent[],
  type: StreamType,
  options: BatchOptions = {},
): DeliveryUnit[] => {
  const limits = DELIVERY_LIMITS[type];
  const { prefix, separator, suffix } = FRAMING[type];
  const framingBytes = utf8Bytes(prefix) + utf8Bytes(suffix);
  const separatorBytes = utf8Bytes(separator);
  const units: DeliveryUnit[] = [];
  let current: StoredEvent[] = [];
  let currentBytes = framingBytes;
  const close = () => {
    if (current.length > 0) units.push({ kind: 'batch', events: current, bodyBytes: currentBytes });
    current = [];
    currentBytes = framingBytes;
  };
  for (const event of events) {
    const bytes = utf8Bytes(entryOf(type, event, options.now));
    if (bytes > limits.maxItemBytes || framingBytes + bytes > limits.maxBodyBytes) {
      close();
      units.push({
        kind: 'undeliverable',
        event,
        bytes,
        reason: `event ${event.id} is ${bytes} bytes as a ${type} entry, over the ${Math.min(limits.maxItemBytes, limits.maxBodyBytes - framingBytes)}-byte limit`,
      });
      continue;
    }
    const added = (current.length > 0 ? separatorBytes : 0) + bytes;
    if (current.length >= limits.maxEvents || currentBytes + added > limits.maxBodyBytes) close();
    currentBytes += (current.length > 0 ? separatorBytes : 0) + bytes;
    current.push(event);
  }
  close();
  return units;
};

// ---------------------------------------------------------------------------------------------
// Webhook signing (Standard Webhooks)

/** Thrown for a secret that is not `whsec_<base64 key>`: a configuration error, never retried. */
export class InvalidWebhookSecretError extends Error {
  constructor() {
    super(`webhook secret must be "${WEBHOOK_SECRET_PREFIX}" followed by a base64 key`);
    this.name = 'InvalidWebhookSecretError';
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/** The HMAC key of a `whsec_…` secret: the base64-decoded part after the prefix. */
export const webhookKey = (secret: string): Buffer => {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new InvalidWebhookSecretError();
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) throw new InvalidWebhookSecretError();
  return Buffer.from(encoded, 'base64');
};

/** A new signing secret; `random` (bytes → that many random bytes) is injectable for tests. */
export const newWebhookSecret = (random: (size: number) => Uint8Array = randomBytes): string => {
  const key = random(WEBHOOK_SECRET_BYTES);
  if (key.length !== WEBHOOK_SECRET_BYTES) throw new Error(`random source gave ${key.length} bytes`);
  return `${WEBHOOK_SECRET_PREFIX}${Buffer.from(key).toString('base64')}`;
};

/**
 * `webhook-id`: the same for every retry of a batch, different for any other batch. It hashes the
 * stream id and every event id of the batch in order — not only the first and the last: receivers
 * dedupe on `webhook-id`, so two different batches with the same ends (a late event in between)
 * must not share one, or the second would be dropped as a duplicate.
 */
export const webhookMessageId = (streamId: string, batch: readonly StoredEvent[]): string => {
  const hash = createHash('sha256').update(streamId, 'utf8');
  for (const event of batch) hash.update('\n', 'utf8').update(event.id, 'utf8');
  return `msg_${hash.digest('hex').slice(0, 32)}`;
};

/** `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with one secret. */
export const signWebhook = (secret: string, id: string, timestampSeconds: number, body: string): string =>
  `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`;

// ---------------------------------------------------------------------------------------------
// The request

export interface DeliveryOptions {
  streamId: string;
  /** Send time, epoch ms. */
  now: number;
  /**
   * Webhook: the signing secrets, newest first; two during a rotation's overlap (the caller ends
   * the overlap after 24 h by passing one). Splunk HEC and Datadog: the destination's `token`.
   */
  secrets?: readonly string[];
  token?: string;
}

export interface DeliveryRequest {
  headers: Record<string, string>;
  body: string;
}

/** Thrown when the credentials a type needs are missing: a caller's mistake, never retried. */
export class MissingCredentialError extends Error {
  constructor(type: StreamType, what: string) {
    super(`a ${type} delivery needs ${what}`);
    this.name = 'MissingCredentialError';
  }
}

/** The POST of one batch (a `batch` unit of batchesOf, called with the same `now` for Datadog). */
export const buildDelivery = (
  type: StreamType,
  batch: readonly StoredEvent[],
  options: DeliveryOptions,
): DeliveryRequest => {
  const body = frame(
    type,
    batch.map((event) => entryOf(type, event, options.now)),
  );
  switch (type) {
    case 'webhook': {
      const secrets = options.secrets;
      if (secrets === undefined || secrets.length === 0)
        throw new MissingCredentialError(type, 'a signing secret');
      const id = webhookMessageId(options.streamId, batch);
      const timestamp = Math.floor(options.now / 1000);
      return {
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': secrets.map((secret) => signWebhook(secret, id, timestamp, body)).join(' '),
        },
        body,
      };
    }
    case 'splunk_hec': {
      if (!options.token) throw new MissingCredentialError(type, 'a HEC token');
      return {
        headers: { Authorization: `Splunk ${options.token}`, 'Content-Type': 'application/json' },
        body,
      };
    }
    case 'datadog': {
      if (!options.token) throw new MissingCredentialError(type, 'an API key');
      return { headers: { 'DD-API-KEY': options.token, 'Content-Type': 'application/json' }, body };
    }
  }
};
