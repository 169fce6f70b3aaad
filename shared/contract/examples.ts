/**
 * Examples of the API contract, following the README's walk-through (Ada changes Grace's role in
 * the Acme workspace). Answers are built by the domain's own presenters and hash functions from
 * records like the ones the service keeps, so an example shows exactly what the API would send;
 * the unit test parses every one of them with its documented schema.
 */
import { buildDigestBody, eventLeaf, type SignedDigest } from '../domain/digest.ts';
import { hashEvent, presentEvent, type StoredEvent } from '../domain/event.ts';
import { type ExportRecord, newExportRecord, presentExport } from '../domain/export.ts';
import { inclusionProof } from '../domain/merkle.ts';
import { type ApiKeyRecord, presentKey, presentTenant, type TenantRecord } from '../domain/tenant.ts';
import type { StreamRecord } from '../usecases/ports/streams.ts';
import { presentStream } from '../usecases/streams.ts';
import type {
  Alert,
  AlertCreate,
  ApiKeyList,
  CreatedApiKey,
  CreatedStream,
  EventBatchInput,
  EventInput,
  ExportRequest,
  IdConflictProblem,
  KeyCreate,
  Problem,
  PublicKey,
  RotatedStreamSecret,
  SessionExchange,
  SessionToken,
  Stream,
  StreamCreate,
  StreamList,
  StreamReplay,
  StreamReplayAccepted,
  StreamTestResult,
  StreamUpdate,
  TenantCreate,
  TenantUpdate,
  ValidationProblem,
  ViewerSession,
  ViewerSessionCreate,
} from './schemas.ts';

export const TENANT_ID = 'tnt_01jd8x1a2b3c4d5e6f7g8h9j0k';
export const KEY_ID = 'key_01jd8x3m4n5p6q7r8s9t0v1w2x';
export const EXPORT_ID = 'exp_01jd9a7b8c9d0e1f2g3h4j5k6m';
const REQUEST_ID = 'Rk3xVhQ1oAMEbGw=';
const BASE_URL = 'https://audit.example.com';

const RECEIVED_AT = '2026-11-18T09:14:03.512Z';
/** The tenant is on `business`: 365 days of hot retention. */
const EXPIRES_AT = '2027-11-18T09:14:03.512Z';

// ---------------------------------------------------------------------------------------------
// Events

export const singleEventInput = {
  id: 'evt_7f3a',
  action: 'member.role_changed',
  actor: { id: 'user_42', type: 'user', email: 'ada@example.com', role: 'owner' },
  target: { type: 'member', id: 'user_7', name: 'Grace' },
  team_id: 'team_platform',
  context: { ip: '203.0.113.9', user_agent: 'Mozilla/5.0' },
  area: 'members',
  method: 'update',
  status: 'success',
  duration_ms: 41,
  metadata: { from: 'member', to: 'admin' },
} satisfies EventInput;

const loginInput: EventInput = { action: 'auth.login', actor: { id: 'user_42' } };
const secretReadInput: EventInput = {
  action: 'secret.read',
  actor: { id: 'user_42', email: 'ada@example.com' },
  target: { type: 'secret', id: 'sec_1' },
};

export const batchEventInput: EventBatchInput = { events: [loginInput, secretReadInput] };

/** An event as the service stores it: `input` plus the fields it adds, hashed and in API order. */
const stored = (input: EventInput, id: string, receivedAt: string, expiresAt: string): StoredEvent => {
  const { id: _id, occurred_at, ...rest } = input;
  const withoutHash = {
    ...rest,
    id,
    tenant_id: TENANT_ID,
    occurred_at: occurred_at ?? receivedAt,
    received_at: receivedAt,
    impersonated: input.impersonator !== undefined,
  };
  return presentEvent({ ...withoutHash, expires_at: expiresAt, hash: hashEvent(withoutHash) });
};

export const storedEvent = stored(singleEventInput, 'evt_7f3a', RECEIVED_AT, EXPIRES_AT);

export const storedBatch = {
  data: [
    stored(loginInput, '01jd8x5m7q0k3n9v2w4y6z8a1b', '2026-11-18T09:15:21.007Z', '2027-11-18T09:15:21.007Z'),
    stored(
      secretReadInput,
      '01jd8x5m7q1p4r6t8v0x2z4b6d',
      '2026-11-18T09:15:21.007Z',
      '2027-11-18T09:15:21.007Z',
    ),
  ],
};

export const impersonatedEvent = stored(
  {
    action: 'billing.plan_changed',
    occurred_at: '2026-11-18T08:02:45.000Z',
    actor: { id: 'user_42', type: 'user', email: 'ada@example.com', name: 'Ada Lovelace', role: 'owner' },
    impersonator: { id: 'support_3', email: 'support@vendor.example' },
    target: { type: 'subscription', id: 'sub_981' },
    area: 'billing',
    method: 'update',
    status: 200,
    request: { plan: 'business', card_token: '[REDACTED]' },
  },
  '01jd8t2c4e6g8j0m2p4r6t8v0x',
  '2026-11-18T08:02:45.318Z',
  '2027-11-18T08:02:45.000Z',
);

export const replayAck = { id: 'evt_7f3a', duplicate: true } as const;

export const eventPage = {
  data: [storedEvent, impersonatedEvent],
  next_cursor:
    'nq4Rk2o8cVf1bX9sT0wL5yJ3hG7dC6aE1uZ8iO2pK4mN9qS3vB5xD7zF0gH2jL4nP6rT8vX0zB2dF4hJ6lN8pR0tV2xZ4bD6fH8jL0nP2rT4vX6zB8dF0hJ2lN4pR6tV8xZ0bD2fH4jL6nP8rT0vX2zB4dF6hJ8lN0pR2',
  // A full page: searched back to its last event.
  scanned_until: impersonatedEvent.occurred_at,
};

/** The last page: it searched back to the window's `from` (here the default, 30 days back). */
export const lastEventPage = {
  data: [storedEvent],
  next_cursor: null,
  scanned_until: '2026-10-19T09:14:03.512Z',
};

/** A page that reached its work budget before finding any match: not the end. */
export const budgetEventPage = {
  data: [],
  next_cursor: eventPage.next_cursor,
  scanned_until: '2026-11-12T17:40:09.000Z',
};

/** A feed page: oldest received first, and a cursor to continue from its last event. */
export const feedPage = {
  data: [storedEvent],
  next_cursor: eventPage.next_cursor,
  watermark: '2026-12-07T20:38:12.204Z',
};

/** Caught up: nothing received since the last page, up to the watermark. Poll again later. */
export const caughtUpFeedPage = {
  data: [],
  next_cursor: eventPage.next_cursor,
  watermark: '2026-12-07T20:39:02.871Z',
};

// ---------------------------------------------------------------------------------------------
// Integrity

/** The two events of the batch, sealed together in one digest. */
const sealed = storedBatch.data;
const leaves = sealed.map((event) => eventLeaf(event.hash));

export const digest: SignedDigest = {
  ...buildDigestBody({
    tenantId: TENANT_ID,
    sequence: 42,
    start: '2026-11-18T09:10:00.000Z',
    end: '2026-11-18T09:15:30.000Z',
    events: sealed,
    previousDigestHash: 'c1d3f5a7b9e0c2d4f6a8b0c1e3f5a7b9d0e2c4f6a8b1d3e5f7a9c0e2b4d6f8a1',
    sealedAt: '2026-11-18T09:35:00.211Z',
    signingKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/5f0c6a1e-8d2b-4c7e-9a31-2b7d4e6f8a90',
  }),
  signature:
    'MEUCIQDx6vB0n3pZ8kq1Jw5e2R7tY9uI4oP6aS3dF8gH1jK0lQIgc5V2bN7mX4zA9sD1fG6hJ3kL8qW0eR5tY2uI7oP4aS0=',
};

export const digestPage = { data: [digest], next: null };

export const inclusionProofExample = {
  event_id: storedBatch.data[1]?.id ?? '',
  event_hash: storedBatch.data[1]?.hash ?? '',
  leaf_index: 1,
  tree_size: 2,
  audit_path: inclusionProof(leaves, 1).map((hash) => hash.toString('hex')),
  digest,
};

export const publicKeyExample: PublicKey = {
  key_id: 'arn:aws:kms:eu-west-1:123456789012:key/5f0c6a1e-8d2b-4c7e-9a31-2b7d4e6f8a90',
  algorithm: 'ECDSA_SHA_256',
  curve: 'P-256',
  public_key_pem:
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8xOUetsCa8EfOlDEBAfREhJqspDo\nyEh6Szz2in47Tv5n52m9dLYyPCbqZkOB5nTSqtscpkQD/HpykCggvx09iQ==\n-----END PUBLIC KEY-----\n',
};

// ---------------------------------------------------------------------------------------------
// Tenants and keys

export const createTenantInput = { name: 'Acme Inc', plan: 'business' } satisfies TenantCreate;
export const updateTenantInput = { plan: 'enterprise' } satisfies TenantUpdate;
export const updateEmailDomainsInput = { email_domains: ['example.com'] } satisfies TenantUpdate;

const tenantRecord: TenantRecord = {
  id: TENANT_ID,
  name: 'Acme Inc',
  plan: 'business',
  custom_retention_days: null,
  shards: 1,
  embed_origins: ['https://app.example.com'],
  app_url: 'https://app.example.com/settings/audit-log',
  created_at: '2026-11-02T14:20:11.408Z',
  updated_at: '2026-11-02T14:20:11.408Z',
};

export const tenant = presentTenant(tenantRecord);

export const updatedTenant = presentTenant({
  ...tenantRecord,
  plan: 'enterprise',
  updated_at: '2026-11-18T10:02:37.925Z',
  retention_job: {
    id: 'rtj_01jd90b2c3d4e5f6g7h8j9k0m1',
    status: 'running',
    retention_days: 730,
    requested_at: '2026-11-18T10:02:37.925Z',
    started_at: '2026-11-18T10:02:38.104Z',
    finished_at: null,
    events_done: 12000,
    events_retimed: 11890,
    cursor: { shard: 0 },
    version: 7,
    lease_until: 0,
    attempts: 1,
    error: null,
  },
});

export const createKeyInput = { name: 'billing-service', scopes: ['events:write'] } satisfies KeyCreate;

const keyRecord: ApiKeyRecord = {
  id: KEY_ID,
  tenant_id: TENANT_ID,
  name: 'billing-service',
  scopes: ['events:write'],
  secret_hash: '',
  created_at: '2026-11-18T10:05:12.330Z',
  revoked_at: null,
};

export const createdKey: CreatedApiKey = {
  ...presentKey(keyRecord),
  key: `tk.${TENANT_ID}.${KEY_ID}.q3V9Zk1m0bX7fT2sR8wL5nJ4hG6dC1aE9yU0iO3pK7s`,
};

export const keyList: ApiKeyList = {
  data: [
    presentKey({
      ...keyRecord,
      id: 'key_01jd8x1c2d3e4f5g6h7j8k9m0n',
      name: 'demo',
      scopes: ['events:write', 'events:read', 'exports:write', 'admin'],
      created_at: '2026-11-02T14:20:11.901Z',
    }),
    presentKey({ ...keyRecord, revoked_at: '2026-11-20T16:41:09.002Z' }),
  ],
};

// ---------------------------------------------------------------------------------------------
// Viewer sessions

export const mintSessionInput = {
  user: { id: 'user_ada', email: 'ada@example.com', name: 'Ada Lovelace' },
  role: 'admin',
  ttl_seconds: 3600,
} satisfies ViewerSessionCreate;

export const mintTeamAdminSessionInput = {
  user: { id: 'user_grace', email: 'grace@example.com' },
  role: 'team_admin',
  team_ids: ['team_payments', 'team_risk'],
} satisfies ViewerSessionCreate;

const SESSION_CODE = 'Xq0r5oVb3m9Tz1cK7hJwE2yL8aN4fD6sG0uP1iR3tQe';

export const mintedSession: ViewerSession = {
  code: SESSION_CODE,
  url: `${BASE_URL}/console/t/${TENANT_ID}/#code=${SESSION_CODE}`,
  code_expires_at: '2026-11-18T10:20:00.000Z',
  expires_at: '2026-11-18T11:15:00.000Z',
};

export const exchangeCodeInput = { code: SESSION_CODE } satisfies SessionExchange;

export const sessionToken: SessionToken = {
  token:
    'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImFybjphd3M6a21zOmV1LXdlc3QtMToxMjM0NTY3ODkwMTI6a2V5L2MwZmZlZSJ9.eyJpc3MiOiJ0cmFpbGtlZXBlciIsImF1ZCI6InRyYWlsa2VlcGVyOnZpZXdlciIsInN1YiI6InVzZXJfYWRhIiwianRpIjoic2VzXzAxamQ5YjBjMWQyZTNmNGc1aDZqN2s4bTluMCIsInRpZCI6InRudF8wMWpkOHgxYTJiM2M0ZDVlNmY3ZzhoOWowayIsInJvbGUiOiJhZG1pbiIsImlhdCI6MTc2MzQ2MDYwMCwiZXhwIjoxNzYzNDY0MTAwfQ.MEUCIQDh3dX1z9oYV2a0vT8iQkq5u7rYw1xJm4nLp6sO2gB3fAIgJ1k0f9eZ8cX7vW6uT5sR4qP3oN2mL1kJ0iH9gG8fE7c',
  expires_at: mintedSession.expires_at,
  user: mintSessionInput.user,
  role: 'admin',
  team_ids: [],
  permissions: ['view', 'export'],
};

// ---------------------------------------------------------------------------------------------
// Exports

export const csvExportInput = {
  format: 'csv',
  action: 'member.*',
  from: '2026-11-01T00:00:00Z',
  columns: ['timestamp', 'actor_email', 'actor_role', 'action', 'target_type', 'target_id', 'status'],
} satisfies ExportRequest;

export const notifyExportInput = {
  format: 'ndjson',
  notify_email: 'auditor@example.com',
} satisfies ExportRequest;

const exportBase: ExportRecord = newExportRecord({
  id: EXPORT_ID,
  tenantId: TENANT_ID,
  format: 'csv',
  filters: { action: ['member.*'], from: '2026-11-01T00:00:00Z' },
  columns: ['timestamp', 'actor_email', 'actor_role', 'action', 'target_type', 'target_id', 'status'],
  window: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-18T10:12:44.120Z' },
  notifyEmail: null,
  requestedBy: KEY_ID,
  baseUrl: BASE_URL,
  nowMs: Date.parse('2026-11-18T10:12:44.120Z'),
});

export const completedExport = presentExport({
  ...exportBase,
  status: 'completed',
  rows: 1284,
  bytes: 912_377,
  as_of: '2026-11-18T09:56:44.120Z',
  started_at: exportBase.created_at,
  completed_at: '2026-11-18T10:12:45.893Z',
});

export const queuedExport = presentExport({
  ...exportBase,
  format: 'ndjson',
  filters: {},
  window: { from: '2026-10-19T10:12:44.120Z', to: '2026-11-18T10:12:44.120Z' },
  notify_email: 'auditor@example.com',
  object_key: `tenant=${TENANT_ID}/exports/${EXPORT_ID}.ndjson`,
});

export const runningExport = presentExport({
  ...exportBase,
  format: 'ndjson',
  filters: {},
  window: { from: '2026-10-19T10:12:44.120Z', to: '2026-11-18T10:12:44.120Z' },
  notify_email: 'auditor@example.com',
  status: 'running',
  rows: 184_000,
  bytes: 131_502_114,
  as_of: '2026-11-18T09:56:44.120Z',
  started_at: '2026-11-18T10:12:45.002Z',
  checkpoint: {
    position: '2026-11-09T22:40:00.000Z#01jcz3k5m7p9r1t3v5x7z9b1d3',
    uploadId: 'upload',
    parts: [],
    rows: 184_000,
    bytes: 131_502_114,
  },
});

export const failedEmailExport = presentExport({
  ...exportBase,
  status: 'completed',
  rows: 1284,
  bytes: 912_377,
  notify_email: 'auditor@example.com',
  email_error: 'the notification email could not be sent (MessageRejected)',
  as_of: '2026-11-18T09:56:44.120Z',
  started_at: exportBase.created_at,
  completed_at: '2026-11-18T10:12:45.893Z',
});

export const downloadLocation =
  'https://trailkeeper-exports-123456789012.s3.eu-west-1.amazonaws.com/tenant%3Dtnt_01jd8x1a2b3c4d5e6f7g8h9j0k/exports/exp_01jd9a7b8c9d0e1f2g3h4j5k6m.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&X-Amz-Signature=3f1c…';

export const downloadLink = { url: downloadLocation, expires_at: '2026-11-18T10:27:45.893Z' };

// ---------------------------------------------------------------------------------------------
// Problems

const problem = (slug: string, title: string, status: number, detail: string): Problem => ({
  type: `/problems/${slug}`,
  title,
  status,
  detail,
  instance: REQUEST_ID,
});

export const validationProblem: ValidationProblem = {
  type: '/problems/validation-error',
  title: 'Invalid request',
  status: 400,
  detail: '1 invalid field: events[1].action',
  instance: REQUEST_ID,
  errors: [
    { field: 'events[1].action', message: 'must be dotted lower case, e.g. member.role_changed', index: 1 },
  ],
};

export const PROBLEM_EXAMPLES = {
  'malformed-json': problem(
    'malformed-json',
    'Bad request',
    400,
    'The request body is not valid JSON (UTF-8).',
  ),
  'bad-request': problem(
    'bad-request',
    'Bad request',
    400,
    'The request carries more than one Content-Type.',
  ),
  'invalid-cursor': problem(
    'invalid-cursor',
    'Bad request',
    400,
    'The cursor is invalid, or belongs to another query.',
  ),
  unauthorized: problem('unauthorized', 'Unauthorized', 401, 'Missing, unknown or revoked credentials.'),
  forbidden: problem('forbidden', 'Forbidden', 403, 'This API key lacks the `events:read` scope.'),
  'role-not-permitted': problem(
    'role-not-permitted',
    'Forbidden',
    403,
    'Your role (`member`) may not view this audit log.',
  ),
  'not-found': problem('not-found', 'Not found', 404, 'No event with this id.'),
  conflict: problem('conflict', 'Conflict', 409, 'The tenant is being changed concurrently; retry.'),
  'export-not-ready': problem(
    'export-not-ready',
    'Export not ready',
    409,
    'The export is running; its file is not available.',
  ),
  'export-expired': problem(
    'export-expired',
    'Export expired',
    410,
    'The file was deleted at 2026-11-25T10:12:44.120Z; request a new export.',
  ),
  'payload-too-large': problem(
    'payload-too-large',
    'Payload too large',
    413,
    'The request body exceeds 1048576 bytes.',
  ),
  'unsupported-media-type': problem(
    'unsupported-media-type',
    'Unsupported media type',
    415,
    'Send the body as application/json.',
  ),
  'too-many-requests': problem(
    'too-many-requests',
    'Too many requests',
    429,
    'Too many requests for this tenant; retry after the time in Retry-After.',
  ),
  'internal-error': problem('internal-error', 'Internal error', 500, 'Something went wrong on our side.'),
  'service-unavailable': problem(
    'service-unavailable',
    'Service unavailable',
    503,
    'A dependency is unavailable; retry with backoff.',
  ),
} as const;

export const idConflictProblem: IdConflictProblem = {
  type: '/problems/id-conflict',
  title: 'Conflict',
  status: 409,
  detail:
    '1 event reuses an id already stored with other content (events[0] "evt_7f3a"); nothing was overwritten. The batch\'s other 1 event is stored: retrying them is safe.',
  instance: REQUEST_ID,
  errors: [
    {
      field: 'events[0].id',
      message: 'already names a stored event with other content',
      index: 0,
      id: 'evt_7f3a',
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// Streams

export const STREAM_ID = 'str_01jda3k4m5n6p7q8r9s0t1v2w3';
const STREAM_CREATED_AT = '2026-11-18T09:20:00.000Z';
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/nJyprpN9mQ=';

export const createWebhookStreamInput = {
  name: 'SIEM webhook',
  type: 'webhook',
  url: 'https://siem.example.com/hooks/trailkeeper',
  filter: { action: 'member.*,api_key.*' },
} satisfies StreamCreate;

export const createSplunkStreamInput = {
  name: 'Splunk',
  type: 'splunk_hec',
  url: 'https://splunk.example.com:8088/services/collector/event',
  token: '8e3c1f52-4b1a-4d0e-9f3a-2c5d7e9b1a64',
} satisfies StreamCreate;

export const pauseStreamInput = { status: 'paused' } satisfies StreamUpdate;
export const changeStreamInput = {
  url: 'https://siem.example.com/hooks/audit',
  filter: null,
} satisfies StreamUpdate;
export const replayStreamInput = {
  from: '2026-11-18T00:00:00Z',
  to: '2026-11-18T12:00:00Z',
} satisfies StreamReplay;

const streamRecord: StreamRecord = {
  id: STREAM_ID,
  tenant_id: TENANT_ID,
  name: 'SIEM webhook',
  type: 'webhook',
  url: 'https://siem.example.com/hooks/trailkeeper',
  filter: { action: ['member.*', 'api_key.*'] },
  status: 'active',
  created_at: STREAM_CREATED_AT,
  updated_at: STREAM_CREATED_AT,
  last_delivered_at: null,
  last_error: null,
  lag_seconds: null,
};

export const createdStream: CreatedStream = {
  ...presentStream(streamRecord, Date.parse(STREAM_CREATED_AT)),
  secret: WEBHOOK_SECRET,
};

export const healthyStream: Stream = presentStream(
  { ...streamRecord, last_delivered_at: '2026-11-18T10:12:44.120Z', lag_seconds: 0 },
  Date.parse('2026-11-18T10:12:45.000Z'),
);

export const failingStream: Stream = presentStream(
  {
    ...streamRecord,
    status: 'failing',
    last_delivered_at: '2026-11-18T10:12:44.120Z',
    last_error: 'the receiver answered 503: upstream unavailable',
    lag_seconds: 94,
    failing_since: '2026-11-18T10:13:02.481Z',
    next_attempt_at: '2026-11-18T10:14:38.000Z',
  },
  Date.parse('2026-11-18T10:14:10.000Z'),
);

export const disabledStream: Stream = presentStream(
  {
    ...streamRecord,
    status: 'disabled',
    last_delivered_at: '2026-11-18T10:12:44.120Z',
    last_error: 'the receiver answered 410',
    lag_seconds: 0,
    disabled_at: '2026-11-18T10:13:02.481Z',
    disabled_reason: 'the receiver answered 410 Gone',
  },
  Date.parse('2026-11-18T11:00:00.000Z'),
);

export const pausedStream: Stream = presentStream(
  { ...streamRecord, status: 'paused', updated_at: '2026-11-18T11:02:00.000Z' },
  Date.parse('2026-11-18T11:02:00.000Z'),
);

export const streamList: StreamList = { data: [healthyStream] };

export const streamTestOk: StreamTestResult = { receiver_status: 200, error: null };
export const streamTestFailed: StreamTestResult = {
  receiver_status: null,
  error: 'connect: siem.example.com refused the connection',
};

export const streamReplayAccepted: StreamReplayAccepted = {
  id: STREAM_ID,
  replay: { from: '2026-11-18T00:00:00.000Z', to: '2026-11-18T12:00:00.000Z' },
  status: 'active',
};

export const rotatedSecret: RotatedStreamSecret = {
  id: STREAM_ID,
  secret: 'whsec_q5m1vZ0cN3x8yA2bH7kL4pR9sT6uW1eF0gJ3iO8dE5c=',
  previous_secret_valid_until: '2026-11-19T11:05:00.000Z',
};

// Alerts: the two examples of reference 002.

export const createUnlistedKeyAlertInput = {
  name: 'API key created by anyone but the platform team',
  match: { action: 'api_key.created', actor_id_not: ['user_alice', 'user_bob'] },
  notify: [{ email: 'security@example.com' }, { webhook_url: 'https://siem.example.com/hooks/alerts' }],
  cooldown_minutes: 5,
} satisfies AlertCreate;

export const createImpersonationAlertInput = {
  name: 'Super-admin impersonation outside business hours',
  match: {
    action: 'admin.impersonation.*',
    impersonated: true,
    outside_hours: {
      tz: 'Europe/Berlin',
      from: '08:00',
      to: '18:00',
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    },
  },
  notify: [{ slack_url: 'https://hooks.slack.com/services/T000/B000/XXXXXXXX' }],
} satisfies AlertCreate;

export const createdAlert = {
  id: 'alr_01jda3k4m5n6p7q8r9s0t1v2w3',
  name: 'API key created by anyone but the platform team',
  match: { action: 'api_key.created', actor_id_not: ['user_alice', 'user_bob'] },
  threshold: null,
  notify: [{ email: 'security@example.com' }, { webhook_url: 'https://siem.example.com/hooks/alerts' }],
  cooldown_minutes: 5,
  created_at: '2026-11-18T09:00:00.000Z',
  updated_at: '2026-11-18T09:00:00.000Z',
  last_fired_at: null,
  suppressed: 0,
  last_error: null,
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/EOIZ1N7qAY=',
} satisfies Alert & { secret: string };

const { secret: _alertSecret, ...alertView } = createdAlert;
export const alertExample = alertView satisfies Alert;
export const alertList = { data: [alertView] } satisfies { data: Alert[] };
export const changeAlertInput = { cooldown_minutes: 60 };
