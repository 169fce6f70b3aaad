/**
 * The API's contract as zod schemas: the request schemas of shared/domain, wrapped with their
 * documentation (zod 4's `.meta()` returns a new schema, so the domain's own schemas stay
 * untouched), and the response and problem+json schemas, which exist only here. Each response
 * schema is derived from the presenter that builds the answer (presentEvent, presentTenant,
 * presentKey, presentExport, the integrity use cases); their inferred types are exported for a
 * typed client. Response objects are strict wherever the API's shape is fixed, so an
 * undocumented field fails the contract test.
 */
import * as z from 'zod';
import { makeAlertPatchSchema, makeAlertRuleSchema } from '../domain/alert-rules.ts';
import { ACTION_PATTERN, batchInputSchema, eventInputSchema, MAX_BATCH } from '../domain/event.ts';
import { createExportSchema } from '../domain/export.ts';
import { CHOOSABLE_COLUMNS, EXPORT_FORMATS } from '../domain/export-format.ts';
import { feedQuerySchema } from '../domain/feed.ts';
import { STRICT_POLICY } from '../domain/network-policy.ts';
import { PERMISSIONS, ROLES } from '../domain/people.ts';
import { exchangeCodeSchema, mintSessionSchema, revokeSessionsQuerySchema } from '../domain/people-input.ts';
import { SCOPES } from '../domain/principal.ts';
import { eventFiltersSchema, listQuerySchema } from '../domain/query.ts';
import { PLAN_NAMES, type Plan } from '../domain/retention.ts';
import {
  createStreamSchemaFor,
  replayStreamSchema,
  STREAM_STATUSES,
  STREAM_TYPES,
  updateStreamSchemaFor,
} from '../domain/stream-input.ts';
import { createKeySchema, createTenantSchema, updateTenantSchema } from '../domain/tenant-input.ts';
import { actionsQuerySchema, MAX_ACTIONS } from '../usecases/actions.ts';
import { digestsQuerySchema } from '../usecases/integrity.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** A timestamp the service writes: RFC 3339 in UTC with milliseconds (`Date.toISOString()`). */
export const timestampSchema = z.iso.datetime().meta({
  description: 'RFC 3339 timestamp in UTC, e.g. `2026-11-18T09:14:03.512Z`.',
});
const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .meta({ description: 'SHA-256, 64 lower-case hex digits.' });
const ulidId = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`));

export const tenantIdSchema = ulidId('tnt').meta({
  description: 'Tenant id: `tnt_` and a lower-case ULID.',
  example: 'tnt_01jd8x1a2b3c4d5e6f7g8h9j0k',
});
export const keyIdSchema = ulidId('key').meta({
  description: 'API key id: `key_` and a lower-case ULID.',
  example: 'key_01jd8x3m4n5p6q7r8s9t0v1w2x',
});
export const exportIdSchema = ulidId('exp').meta({
  description: 'Export id: `exp_` and a lower-case ULID.',
  example: 'exp_01jd9a7b8c9d0e1f2g3h4j5k6m',
});
export const eventIdSchema = z.string().min(1).max(128).meta({
  description:
    "The event's id: the client's idempotency key when it sent one, else a time-sortable id the service assigned.",
  example: 'evt_7f3a',
});

// ---------------------------------------------------------------------------------------------
// Requests: the domain's schemas, documented

export const eventInput = eventInputSchema.meta({
  id: 'EventInput',
  description:
    'One event as a tenant sends it. Only `action` and `actor.id` are required. Values under keys that look secret, and secrets recognised by their shape, are stored as `"[REDACTED]"`. The service\'s own actions (`audit_log.*`, `trailkeeper.*`) and ids (`tk_…`) are refused.',
});

export const eventBatchInput = batchInputSchema
  .extend({ events: z.array(eventInput).min(1).max(MAX_BATCH) })
  .meta({
    id: 'EventBatchInput',
    description: `Up to ${MAX_BATCH} events. All are validated first: any invalid event is a 400 naming each bad field with its batch index, and nothing is stored.`,
  });

export const ingestBody = z.union([eventInput, eventBatchInput]);

/** Documentation of the filters `GET /v1/events` and `POST /v1/exports` share. */
const FILTER_DOCS = {
  from: {
    description: 'Start of the window (inclusive, by `occurred_at`). Default: 30 days before `to`.',
    example: '2026-11-01T00:00:00Z',
  },
  to: { description: 'End of the window (inclusive). Default: now.', example: '2026-11-30T00:00:00Z' },
  action: {
    description:
      'Exact action (`member.role_changed`), a prefix (`secret.*`), or a comma-separated list of both (at most 20).',
    example: 'auth.login,member.*',
  },
  exclude_action: {
    description:
      "Actions to leave out, in the same forms as `action` (exact, prefix, comma-separated list of at most 20); with `action`, the events of `action` that are not excluded. The console hides the log's own reads with `audit_log.*`.",
    example: 'audit_log.*',
  },
  actor_id: {
    description: "The actor's id, or a comma-separated list of up to 50 (events of any of them).",
    example: 'user_42,user_43',
  },
  actor_email: { description: "The actor's email, case-insensitive.", example: 'ada@example.com' },
  target_id: { description: "The target's id (alone or with `target_type`).", example: 'user_7' },
  target_type: {
    description: "The target's type, or a comma-separated list of up to 50.",
    example: 'member,invitation',
  },
  actor_type: {
    description:
      "The actor's type: `user`, `api_key`, `service`, `system` or `support` (a super admin of the vendor), or a comma-separated list of them. Events whose actor has no type match none.",
    example: 'api_key,service',
  },
  team_id: {
    description:
      "The team the event belongs to: one team, or a comma-separated list of up to 50 (events of any of them). A team admin's viewer session may name only their own teams (any other is a 403); without it, they read all of their teams.",
    example: 'team_platform,team_billing',
  },
  area: { description: 'Product area.', example: 'members' },
  method: { description: 'Operation.', example: 'update' },
  status: { description: '`success`, `failure` or an HTTP status.', example: 'success' },
  impersonated: {
    description: '`true`: only events taken through an impersonation; `false`: only the others.',
    example: 'true',
  },
} as const satisfies Record<
  keyof z.infer<typeof eventFiltersSchema>,
  { description: string; example: string }
>;

const documentedFilters = Object.fromEntries(
  Object.entries(FILTER_DOCS).map(([name, meta]) => [
    name,
    eventFiltersSchema.shape[name as keyof typeof FILTER_DOCS].meta(meta),
  ]),
) as { [K in keyof typeof FILTER_DOCS]: (typeof eventFiltersSchema.shape)[K] };

export const listQuery = listQuerySchema.extend({
  ...documentedFilters,
  limit: listQuerySchema.shape.limit.meta({
    description: 'Events per page, 1–1000 (default 100).',
    example: '20',
  }),
  cursor: listQuerySchema.shape.cursor.meta({
    description:
      '`next_cursor` of the previous page, sent with the same filters. Opaque and bound to the tenant and the query: any other use is a 400.',
  }),
});

/** `GET /v1/integrity/digests`: a window by the end of each digest's interval (default: the last 24 hours). */
export const digestsQuery = digestsQuerySchema.extend({
  from: digestsQuerySchema.shape.from.meta({
    description: 'Digests whose interval ends at or after this time. Default: 24 hours before `to`.',
    example: '2026-11-01T00:00:00Z',
  }),
  to: digestsQuerySchema.shape.to.meta({
    description: 'Digests whose interval ends at or before this time. Default: now.',
    example: '2026-11-30T00:00:00Z',
  }),
});

export const createExportBody = createExportSchema
  .extend({
    ...documentedFilters,
    format: createExportSchema.shape.format.meta({ description: 'File format.', example: 'csv' }),
    columns: createExportSchema.shape.columns.meta({
      description:
        "CSV only: the file's own columns, in this order (any of the fourteen default columns, `actor_role`, `area`, `method`, `duration_ms`, `request_json`; each once). `id`, `received_at`, `hash` and `event_json` always follow, so the file stays verifiable. Absent: the default columns. With `json` or `ndjson`: 400 (they always hold whole events).",
      example: ['timestamp', 'actor_email', 'actor_role', 'action', 'area', 'method', 'status'],
    }),
    notify_email: createExportSchema.shape.notify_email.meta({
      description:
        "Emailed the download link when the file is ready. Must be at one of the tenant's `email_domains` when it lists any; at most 20 exports with `notify_email` per tenant per hour.",
      example: 'auditor@example.com',
    }),
  })
  .meta({
    id: 'ExportRequest',
    description:
      "The filters of `GET /v1/events`, a `format`, a CSV export's optional `columns` and an optional `notify_email`.",
  });

export const createTenantBody = createTenantSchema.meta({
  id: 'TenantCreate',
  description:
    "A new tenant. `retention_days` overrides the plan's hot retention (days, or `\"unlimited\"`); `shards` spreads a busy tenant's writes; `rate_limit_rps` overrides the plan's request rate.",
});

export const updateTenantBody = updateTenantSchema.meta({
  id: 'TenantUpdate',
  description:
    "At least one field. `email_domains`, `access`, `embed_origins` and `app_url` may be changed by a key of the tenant with `admin`; every other field only by the operator. `embed_origins`: 0–10 exact https origins (scheme, host, optional port; no path, wildcard or credentials), stored with a lower-case host. `app_url`: an https URL of at most 2048 characters, or null to clear it. `retention_days: null` and `rate_limit_rps: null` return to the plan's. `shards` may only grow.",
});

export const createKeyBody = createKeySchema.meta({
  id: 'KeyCreate',
  description: 'A name for the key and its scopes.',
});

export const mintSessionBody = mintSessionSchema.meta({
  id: 'ViewerSessionCreate',
  description:
    "The signed-in user of the SaaS application, their role in the workspace, a team admin's teams (1–50, required for `team_admin` and only for it) and the session's lifetime (`ttl_seconds`, 60–43,200, default 3,600).",
});

export const exchangeCodeBody = exchangeCodeSchema.meta({
  id: 'SessionExchange',
  description: 'The one-time code of a viewer-session link (the `#code=` fragment of its `url`).',
});

export const revokeSessionsQuery = revokeSessionsQuerySchema.extend({
  user_id: revokeSessionsQuerySchema.shape.user_id.meta({
    description: "Revoke only this person's sessions (their id in the application); absent: everyone's.",
    example: 'user_42',
  }),
});

export const eventIdParams = z.object({
  id: eventIdSchema.meta({ description: "The event's id.", example: 'evt_7f3a' }),
});
export const tenantParams = z.object({ tenant_id: tenantIdSchema });
export const keyParams = z.object({ tenant_id: tenantIdSchema, key_id: keyIdSchema });
export const exportIdParams = z.object({ id: exportIdSchema });

// ---------------------------------------------------------------------------------------------
// Responses

const jsonObject = z.record(z.string(), z.unknown());

/** The stored event: what the client sent (after redaction) and the fields the service adds. */
export const eventSchema = eventInputSchema
  .extend({
    id: eventIdSchema,
    tenant_id: tenantIdSchema,
    // The service's own events (audit_log.viewed, …) are listed too.
    action: z.string().max(128).regex(ACTION_PATTERN),
    occurred_at: timestampSchema,
    received_at: timestampSchema.meta({ description: 'When the service received the event.' }),
    impersonated: z.boolean().meta({ description: 'Whether an `impersonator` was named.' }),
    request: jsonObject.optional(),
    metadata: jsonObject.optional(),
    expires_at: timestampSchema.nullable().meta({
      description: "When hot storage drops the event; null when the tenant's retention is unlimited.",
    }),
    hash: sha256Hex.meta({
      description:
        'SHA-256 of the RFC 8785 canonical JSON of the event without `expires_at` and `hash`: what digests seal.',
    }),
  })
  .meta({ id: 'Event', description: 'An event as stored: immutable.' });

export const replayAckSchema = z.strictObject({ id: eventIdSchema, duplicate: z.literal(true) }).meta({
  id: 'ReplayAck',
  description:
    'A replay (same id, same content) acknowledged to a key without `events:read`: nothing was stored, and a write-only key never reads the log.',
});

export const eventBatchResultSchema = z
  .strictObject({ data: z.array(z.union([eventSchema, replayAckSchema])) })
  .meta({ id: 'EventBatchResult', description: 'One entry per submitted event, in order.' });

export const eventPageSchema = z
  .strictObject({
    data: z.array(eventSchema),
    next_cursor: z.string().nullable().meta({
      description:
        'Pass as `cursor` (with the same filters) for the next page; null at the end (and only there: a short or empty page with a cursor reached its work budget).',
    }),
    scanned_until: timestampSchema.meta({
      description:
        "How far back (by `occurred_at`) this page searched: every matching event newer than it was in this page or an earlier one. The window's `from` when the page reached the end.",
    }),
  })
  .meta({ id: 'EventPage', description: 'Newest first.' });

export const feedQuery = feedQuerySchema.extend({
  limit: feedQuerySchema.shape.limit.meta({
    description: 'Events per page, 1–1000 (default 100).',
    example: '500',
  }),
  cursor: feedQuerySchema.shape.cursor.meta({
    description:
      "`next_cursor` of the previous page. Opaque, encrypted and bound to the tenant and to the feed: another tenant's cursor, an events-list cursor or an altered one is a 400.",
  }),
  from: feedQuerySchema.shape.from.meta({
    description:
      "First call only: start with the events received at or after this time (default: 24 hours ago; never older than the tenant's retention). With a `cursor` it is a 400.",
    example: '2026-12-07T00:00:00Z',
  }),
});

export const feedPageSchema = z
  .strictObject({
    data: z.array(eventSchema),
    next_cursor: z.string().meta({
      description:
        'Always present (a feed never ends): pass it as `cursor` for the next page. An empty page means caught up; ask again later with the same cursor.',
    }),
    watermark: timestampSchema.meta({
      description:
        'Every event received at or before this time is in this page or an earlier one of the chain; events received later come in later pages (the feed stays this far behind now so that no event still being written is ever passed).',
    }),
  })
  .meta({ id: 'FeedPage', description: 'Ascending `received_at` order (then event id).' });

export const retentionJobSchema = z
  .strictObject({
    id: z.string().regex(/^rtj_[0-9a-z]{26}$/),
    status: z.enum(['pending', 'running', 'completed', 'failed']),
    retention_days: z.union([z.int(), z.literal('unlimited')]),
    requested_at: timestampSchema,
    started_at: timestampSchema.nullable(),
    finished_at: timestampSchema.nullable(),
    events_done: z.int().min(0),
    events_retimed: z.int().min(0),
    error: z.string().optional(),
  })
  .meta({
    id: 'RetentionJob',
    description: "The latest re-timing of the tenant's stored events after a retention change.",
  });

export const tenantSchema = z
  .strictObject({
    id: tenantIdSchema,
    name: z.string(),
    plan: z.enum(PLAN_NAMES as [Plan, ...Plan[]]),
    retention_days: z
      .union([z.int().min(1), z.literal('unlimited')])
      .meta({ description: "Effective hot retention: the custom value, else the plan's." }),
    shards: z.int().min(1),
    rate_limit_rps: z
      .int()
      .min(1)
      .meta({ description: "Effective request limit per second: the operator's override, else the plan's." }),
    email_domains: z
      .array(z.string())
      .meta({ description: 'Domains export notification emails may go to; empty: any.' }),
    access: z.strictObject({ view: z.array(z.enum(ROLES)), export: z.array(z.enum(ROLES)) }).meta({
      id: 'AccessPolicy',
      description:
        'Which roles of viewer sessions may view (list, filter, read, verify) and which may export. Default: owner, admin, auditor and team_admin both; member and guest nothing.',
    }),
    embed_origins: z.array(z.string()).meta({
      description:
        'Exact https origins that may embed the console in an iframe (its CSP `frame-ancestors`); empty: none may.',
      example: ['https://app.example.com'],
    }),
    app_url: z.string().nullable().meta({
      description:
        "The tenant's application, where the console sends people to open the audit log again (e.g. from an export's emailed link); null: none set.",
      example: 'https://app.example.com/settings/audit-log',
    }),
    created_at: timestampSchema,
    updated_at: timestampSchema,
    retention_job: retentionJobSchema.optional(),
  })
  .meta({ id: 'Tenant' });

export const apiKeySchema = z
  .strictObject({
    id: keyIdSchema,
    tenant_id: tenantIdSchema,
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    created_at: timestampSchema,
    revoked_at: timestampSchema.nullable(),
  })
  .meta({ id: 'ApiKey', description: 'An API key, never its secret.' });

export const createdKeySchema = apiKeySchema
  .extend({
    key: z
      .string()
      .regex(/^tk\.tnt_[0-9a-z]{26}\.key_[0-9a-z]{26}\.[A-Za-z0-9_-]{43}$/)
      .meta({
        description:
          'The secret bearer token, shown this once: only its SHA-256 is stored. Send it as `Authorization: Bearer <key>`.',
      }),
  })
  .meta({ id: 'CreatedApiKey' });

export const apiKeyListSchema = z
  .strictObject({ data: z.array(apiKeySchema) })
  .meta({ id: 'ApiKeyList', description: 'Oldest first; revoked keys included.' });

export const mintedSessionSchema = z
  .strictObject({
    code: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/)
      .meta({
        description:
          'The one-time code (256 random bits): exchanged once, within 5 minutes, at `POST /v1/sessions`. Only its SHA-256 is stored.',
      }),
    url: z.string().meta({
      description:
        'The console, signed in: `<public URL>/console/t/<tenant id>/#code=<code>` (the code rides in the fragment, which browsers never send to a server). Send the user there or show it in an iframe.',
    }),
    code_expires_at: timestampSchema.meta({ description: 'When the code stops working.' }),
    expires_at: timestampSchema.meta({
      description: 'When the session ends: `ttl_seconds` after the mint, whenever the code is exchanged.',
    }),
  })
  .meta({ id: 'ViewerSession' });

export const sessionTokenSchema = z
  .strictObject({
    token: z
      .string()
      .regex(/^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      .meta({
        description:
          'The session token: a JWT (ES256; `iss` `trailkeeper`, `aud` `trailkeeper:viewer`), sent as `Authorization: Bearer <token>` on the read routes.',
      }),
    expires_at: timestampSchema,
    user: z.strictObject({
      id: z.string(),
      email: z.string().optional(),
      name: z.string().optional(),
    }),
    role: z.enum(ROLES),
    team_ids: z.array(z.string()).meta({ description: "A team admin's teams; empty for every other role." }),
    permissions: z
      .array(z.enum(PERMISSIONS))
      .meta({ description: "What the role may do under the tenant's current access policy." }),
  })
  .meta({ id: 'SessionToken' });

/** An export's filters as recorded: the request's filters (an action list as an array) and the resolved window. */
export const exportFiltersSchema = eventFiltersSchema
  .extend({
    action: z.array(z.string()).optional(),
    exclude_action: z.array(z.string()).optional(),
    from: timestampSchema,
    to: timestampSchema,
  })
  .meta({ id: 'ExportFilters' });

export const exportSchema = z
  .strictObject({
    id: exportIdSchema,
    status: z.enum(['queued', 'running', 'completed', 'failed']).meta({
      description: 'Up to 10,000 rows an export completes within the request; larger ones are queued.',
    }),
    format: z.enum(EXPORT_FORMATS),
    filters: exportFiltersSchema,
    columns: z
      .array(z.enum(CHOOSABLE_COLUMNS))
      .optional()
      .meta({ description: "A CSV export's own columns, as requested; absent: the default ones." }),
    rows: z.int().min(0).meta({ description: 'Events written so far.' }),
    bytes: z.int().min(0),
    progress: z.number().min(0).max(1).meta({ description: 'Share of the time window written.' }),
    error: z.string().nullable().meta({ description: 'Why the export failed.' }),
    notify_email: z.string().nullable(),
    email_error: z
      .string()
      .nullable()
      .meta({ description: 'Why the notification email could not be sent; the export stands regardless.' }),
    as_of: timestampSchema.nullable().meta({
      description:
        "The export's cut-off: every matching event received up to then is in the file (the verifier's `--record` uses it). Null until the export starts reading.",
    }),
    created_at: timestampSchema,
    started_at: timestampSchema.nullable(),
    completed_at: timestampSchema.nullable(),
    expires_at: timestampSchema.meta({ description: 'When the file is deleted (7 days after the request).' }),
    download_url: z
      .string()
      .regex(/\/v1\/exports\/exp_[0-9a-z]{26}\/download$/)
      .nullable()
      .meta({
        description:
          "`GET /v1/exports/{id}/download` of this export, built from the deployment's public URL (a path when none is configured); null until completed.",
      }),
  })
  .meta({ id: 'Export' });

export const publicKeySchema = z
  .strictObject({
    key_id: z.string().meta({ description: 'A KMS key ARN in AWS; `local:<fingerprint>` locally.' }),
    algorithm: z.literal('ECDSA_SHA_256'),
    curve: z.literal('P-256'),
    public_key_pem: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
  })
  .meta({ id: 'PublicKey', description: 'The key every digest is signed with.' });

const eventRefSchema = z.strictObject({ id: eventIdSchema, received_at: timestampSchema });

export const digestSchema = z
  .strictObject({
    version: z.literal(1),
    tenant_id: tenantIdSchema,
    sequence: z.int().min(1).meta({ description: '1, 2, 3, … per tenant, without gaps.' }),
    interval: z
      .strictObject({ start: timestampSchema, end: timestampSchema })
      .meta({ description: 'The digest covers the events received in (start, end].' }),
    event_count: z.int().min(0),
    first_event: eventRefSchema.nullable(),
    last_event: eventRefSchema.nullable(),
    merkle_root: sha256Hex.meta({ description: "RFC 6962 Merkle root over the interval's event hashes." }),
    previous_digest_hash: sha256Hex
      .nullable()
      .meta({ description: 'SHA-256 of the previous digest (signature included); null for the first.' }),
    sealed_at: timestampSchema,
    signing_key_id: z.string(),
    signature_algorithm: z.literal('ECDSA_SHA_256'),
    signature: z
      .string()
      .regex(/^[A-Za-z0-9+/]+={0,2}$/)
      .meta({
        description: 'Base64 DER ECDSA P-256 signature over the canonical JSON of every other field.',
      }),
  })
  .meta({ id: 'Digest', description: "A signed, chained digest of one interval of a tenant's events." });

/** `GET /v1/actions`: the prefix of the actions to suggest. */
export const actionsQuery = actionsQuerySchema.extend({
  prefix: actionsQuerySchema.shape.prefix.meta({
    description:
      'The start of the actions to list (`mem`, `member.`), also written as a filter prefix (`member.*`): lower-case letters, digits, `_` and `.`, at most 128. Absent or empty: every action.',
    example: 'member.',
  }),
});

export const actionListSchema = z
  .strictObject({
    data: z
      .array(z.strictObject({ action: z.string().meta({ example: 'member.role_changed' }) }))
      .max(MAX_ACTIONS),
    has_more: z.boolean().meta({
      description: `More actions start with the prefix than the ${MAX_ACTIONS} listed: narrow the prefix to see them.`,
    }),
  })
  .meta({ id: 'ActionList', description: 'Distinct actions, sorted.' });

export const downloadLinkSchema = z
  .strictObject({
    url: z.url().meta({ description: 'Presigned URL of the file.' }),
    expires_at: timestampSchema.meta({ description: 'When the URL stops working (15 minutes).' }),
  })
  .meta({
    id: 'DownloadLink',
    description: "A fresh presigned URL of an export's file, for clients that navigate to it themselves.",
  });

export const digestPageSchema = z
  .strictObject({
    data: z.array(digestSchema),
    next: timestampSchema.nullable().meta({
      description:
        'When more digests match: pass it as `from` for the next page (same `to`). Null at the end.',
    }),
  })
  .meta({ id: 'DigestPage', description: 'Oldest first, at most 1000 per page.' });

export const inclusionProofSchema = z
  .strictObject({
    event_id: eventIdSchema,
    event_hash: sha256Hex,
    leaf_index: z.int().min(0),
    tree_size: z.int().min(1),
    audit_path: z.array(sha256Hex).meta({ description: 'RFC 6962 sibling hashes, from the leaf up.' }),
    digest: digestSchema,
  })
  .meta({ id: 'InclusionProof', description: "An event's RFC 6962 inclusion proof in its digest." });

export const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

export const openApiDocumentSchema = z
  .looseObject({
    openapi: z.string().startsWith('3.1'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'OpenApiDocument', description: 'This document: OpenAPI 3.1.' });

// ---------------------------------------------------------------------------------------------
// Streams

export const streamIdSchema = ulidId('str').meta({
  description: 'Stream id: `str_` and a lower-case ULID.',
  example: 'str_01jda3k4m5n6p7q8r9s0t1v2w3',
});
export const streamIdParams = z.object({ id: streamIdSchema });

/** The request schemas under the strict policy: what a deployment accepts at most (https, public addresses). */
export const createStreamBody = createStreamSchemaFor(STRICT_POLICY).meta({
  id: 'StreamCreate',
  description:
    '`url` must be https to a public address (an operator may allow listed private ranges; the local stack may allow http to loopback). `token` is required for `splunk_hec` (HEC token) and `datadog` (API key) and refused for `webhook`, whose signing secret is generated. `filter`: `action` in the events list syntax (exact, `prefix.*`, comma list of up to 20), `actor_type` a comma list; absent, every event is sent.',
});

export const updateStreamBody = updateStreamSchemaFor(STRICT_POLICY).meta({
  id: 'StreamUpdate',
  description:
    '`status`: `paused` keeps the backlog (within the hot retention) and delivers it on resume; `active` resumes (a `disabled` stream resumes from now: it kept no backlog). `filter: null` sends every event. `token` replaces a Splunk HEC or Datadog token. At least one field.',
});

export const replayStreamBody = replayStreamSchema.meta({
  id: 'StreamReplay',
  description:
    "The window of `received_at`, [from, to), delivered again. It must lie within the tenant's hot retention: older events are only in the archive (export them).",
});

const streamFilterView = z
  .strictObject({ action: z.string().optional(), actor_type: z.string().optional() })
  .nullable()
  .meta({ description: 'As sent (comma lists); null: every event.' });

export const streamSchema = z
  .strictObject({
    id: streamIdSchema,
    name: z.string(),
    type: z.enum(STREAM_TYPES),
    url: z.string().meta({ description: 'The destination, normalised.' }),
    filter: streamFilterView,
    status: z.enum(STREAM_STATUSES).meta({
      description:
        '`active`; `paused` (by PATCH); `failing` (retrying with backoff, see `last_error`, `next_attempt_at`); `disabled` (a 410, or failing for three days: resume it with PATCH).',
    }),
    created_at: timestampSchema,
    updated_at: timestampSchema,
    last_delivered_at: timestampSchema.nullable(),
    last_error: z
      .string()
      .nullable()
      .meta({ description: 'The latest failure (kept after recovery), ≤ 1 KiB.' }),
    lag_seconds: z.number().min(0).nullable().meta({
      description: 'Age of the oldest event still waiting for this stream; null before any delivery.',
    }),
    failing_since: timestampSchema.nullable().optional(),
    next_attempt_at: timestampSchema.nullable().optional(),
    disabled_at: timestampSchema
      .nullable()
      .optional()
      .meta({ description: 'When a disabled stream stopped: nothing received since was kept for it.' }),
    disabled_reason: z.string().nullable().optional(),
    previous_secret_valid_until: timestampSchema.optional().meta({
      description: 'After a rotation: until when deliveries are signed with the previous secret too.',
    }),
  })
  .meta({ id: 'Stream', description: 'A stream: its configuration and health, never its secret or token.' });

const webhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{43}=$/)
  .meta({
    description:
      'The Standard Webhooks signing secret, shown this once (stored encrypted): verify `webhook-signature` with it.',
  });

export const createdStreamSchema = streamSchema
  .extend({ secret: webhookSecretSchema.optional() })
  .meta({ id: 'CreatedStream', description: 'The new stream; a webhook stream with its signing `secret`.' });

export const streamListSchema = z
  .strictObject({ data: z.array(streamSchema) })
  .meta({ id: 'StreamList', description: "The tenant's streams, oldest first." });

export const streamTestSchema = z
  .strictObject({
    receiver_status: z
      .int()
      .nullable()
      .meta({ description: "The receiver's HTTP status; null when none answered." }),
    error: z
      .string()
      .nullable()
      .meta({ description: 'Null when the receiver answered 2xx; else why the test delivery failed.' }),
  })
  .meta({ id: 'StreamTestResult' });

export const streamReplaySchema = z
  .strictObject({
    id: streamIdSchema,
    replay: z.strictObject({ from: timestampSchema, to: timestampSchema }),
    status: z
      .enum(STREAM_STATUSES)
      .meta({ description: 'A paused stream delivers the replay when resumed.' }),
  })
  .meta({ id: 'StreamReplayAccepted' });

export const rotatedSecretSchema = z
  .strictObject({
    id: streamIdSchema,
    secret: webhookSecretSchema,
    previous_secret_valid_until: timestampSchema.meta({
      description: 'Deliveries carry signatures with both secrets until then.',
    }),
  })
  .meta({ id: 'RotatedStreamSecret' });

// ---------------------------------------------------------------------------------------------
// Alerts

export const alertIdSchema = ulidId('alr').meta({
  description: 'Alert id: `alr_` and a lower-case ULID.',
  example: 'alr_01jda3k4m5n6p7q8r9s0t1v2w3',
});
export const alertIdParams = z.object({ id: alertIdSchema });

export const createAlertBody = makeAlertRuleSchema(STRICT_POLICY).meta({
  id: 'AlertCreate',
  description:
    "`match.action` as the events filter takes it (exact, `prefix.*`, comma list) or an array; `actor_id` (one or a list) or `actor_id_not` (a list: anyone but them); `outside_hours` `{tz, from, to, days}` matches events whose `occurred_at` lies outside business hours in the IANA zone `tz` (days default mon–fri). `threshold` `{count, window_minutes}`: fire on `count` matches within the window; `absent_minutes`: fire when no match arrived for that long. `notify`: 1–10 of `{email}` (at one of the tenant's `email_domains`), `{slack_url}` (an incoming webhook; stored encrypted) or `{webhook_url}` (signed like a stream delivery). `slack_url`/`webhook_url` must be https to a public address. `cooldown_minutes` (default 5): each target is notified once per cooldown, with a count of what it held back.",
});

export const updateAlertBody = makeAlertPatchSchema(STRICT_POLICY).meta({
  id: 'AlertUpdate',
  description:
    'Any field of the rule; `match` and `notify` replace the whole value; `absent_minutes: null` / `threshold: null` remove them. At least one field.',
});

const alertTargetView = z.union([
  z.strictObject({ email: z.string() }),
  z.strictObject({ slack_url: z.string().meta({ description: 'Its host only: the URL is a credential.' }) }),
  z.strictObject({ webhook_url: z.string() }),
]);

export const alertSchema = z
  .strictObject({
    id: alertIdSchema,
    name: z.string(),
    match: z.looseObject({ action: z.string() }).meta({ description: 'As sent (`action` as a comma list).' }),
    absent_minutes: z.int().optional(),
    threshold: z.strictObject({ count: z.int(), window_minutes: z.int() }).nullable(),
    notify: z.array(alertTargetView),
    cooldown_minutes: z.int(),
    created_at: timestampSchema,
    updated_at: timestampSchema,
    last_fired_at: timestampSchema.nullable(),
    suppressed: z.int().min(0).meta({ description: 'Matches held back by the cooldown, not yet reported.' }),
    last_error: z
      .string()
      .nullable()
      .meta({ description: 'The latest notification that failed after its retries, ≤ 1 KiB.' }),
  })
  .meta({ id: 'Alert', description: 'An alert rule, never its Slack URL or signing secret.' });

export const createdAlertSchema = alertSchema.extend({ secret: webhookSecretSchema.optional() }).meta({
  id: 'CreatedAlert',
  description: 'The alert; with a `webhook_url` target, its signing `secret` (once).',
});

export const alertListSchema = z
  .strictObject({ data: z.array(alertSchema) })
  .meta({ id: 'AlertList', description: "The tenant's alerts, oldest first." });

// ---------------------------------------------------------------------------------------------
// Problems (RFC 9457)

/** Every problem `type` the API answers with, by slug (`/problems/<slug>`). */
export const PROBLEM_TYPES = {
  'validation-error': 400,
  'malformed-json': 400,
  'bad-request': 400,
  'invalid-cursor': 400,
  unauthorized: 401,
  forbidden: 403,
  'role-not-permitted': 403,
  'not-found': 404,
  conflict: 409,
  'id-conflict': 409,
  'export-not-ready': 409,
  'export-expired': 410,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'too-many-requests': 429,
  'internal-error': 500,
  'service-unavailable': 503,
} as const;
export type ProblemSlug = keyof typeof PROBLEM_TYPES;

const problemBase = z.strictObject({
  type: z.string().meta({ description: 'Machine-readable problem type, `/problems/<slug>`.' }),
  title: z.string(),
  status: z.int(),
  detail: z.string().meta({ description: 'What went wrong, for people.' }),
  instance: z.string().optional().meta({ description: 'The request id.' }),
});

const problemType = (slugs: readonly [ProblemSlug, ...ProblemSlug[]]) => {
  const [first, ...more] = slugs.map((slug) => `/problems/${slug}`) as [string, ...string[]];
  return more.length === 0 ? z.literal(first) : z.enum([first, ...more]);
};

/** A problem of one of `slugs`, all of one status. */
export const problemSchema = (slugs: readonly [ProblemSlug, ...ProblemSlug[]]) => {
  const status = PROBLEM_TYPES[slugs[0]];
  if (slugs.some((slug) => PROBLEM_TYPES[slug] !== status)) throw new Error('one status per problem schema');
  return problemBase.extend({ type: problemType(slugs), status: z.literal(status) });
};

export const fieldErrorSchema = z
  .strictObject({
    field: z.string().meta({ description: 'Dotted path of the bad field, e.g. `events[1].action`.' }),
    message: z.string(),
    index: z.int().min(0).optional().meta({ description: 'Batch index, when the request was a batch.' }),
  })
  .meta({ id: 'FieldError' });

export const validationProblemSchema = problemBase
  .extend({
    type: z.literal('/problems/validation-error'),
    status: z.literal(400),
    errors: z.array(fieldErrorSchema).meta({ description: 'Each bad field (at most the first 100).' }),
    error_count: z.int().optional().meta({ description: 'How many errors there were, when more than 100.' }),
  })
  .meta({ id: 'ValidationProblem' });

export const idConflictProblemSchema = problemBase
  .extend({
    type: z.literal('/problems/id-conflict'),
    status: z.literal(409),
    errors: z.array(fieldErrorSchema.extend({ id: eventIdSchema })).meta({
      description:
        "Every id reused with other content. Nothing was overwritten; a batch's other events were stored.",
    }),
  })
  .meta({ id: 'IdConflictProblem' });

// ---------------------------------------------------------------------------------------------
// Types for a typed client

export type EventInput = z.input<typeof eventInput>;
export type EventBatchInput = z.input<typeof eventBatchInput>;
export type ListQuery = z.input<typeof listQuery>;
export type DigestsQuery = z.input<typeof digestsQuery>;
export type ExportRequest = z.input<typeof createExportBody>;
export type TenantCreate = z.input<typeof createTenantBody>;
export type TenantUpdate = z.input<typeof updateTenantBody>;
export type KeyCreate = z.input<typeof createKeyBody>;
export type ViewerSessionCreate = z.input<typeof mintSessionBody>;
export type SessionExchange = z.input<typeof exchangeCodeBody>;
export type ViewerSession = z.infer<typeof mintedSessionSchema>;
export type SessionToken = z.infer<typeof sessionTokenSchema>;
export type Event = z.infer<typeof eventSchema>;
export type ReplayAck = z.infer<typeof replayAckSchema>;
export type EventBatchResult = z.infer<typeof eventBatchResultSchema>;
export type EventPage = z.infer<typeof eventPageSchema>;
export type FeedQuery = z.input<typeof feedQuery>;
export type FeedPage = z.infer<typeof feedPageSchema>;
export type RetentionJob = z.infer<typeof retentionJobSchema>;
export type Tenant = z.infer<typeof tenantSchema>;
export type ApiKey = z.infer<typeof apiKeySchema>;
export type CreatedApiKey = z.infer<typeof createdKeySchema>;
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;
export type ExportFilters = z.infer<typeof exportFiltersSchema>;
export type Export = z.infer<typeof exportSchema>;
export type PublicKey = z.infer<typeof publicKeySchema>;
export type Digest = z.infer<typeof digestSchema>;
export type DigestPage = z.infer<typeof digestPageSchema>;
export type InclusionProof = z.infer<typeof inclusionProofSchema>;
export type Health = z.infer<typeof healthSchema>;
export type ActionList = z.infer<typeof actionListSchema>;
export type AlertCreate = z.input<typeof createAlertBody>;
export type Alert = z.infer<typeof alertSchema>;
export type StreamCreate = z.input<typeof createStreamBody>;
export type StreamUpdate = z.input<typeof updateStreamBody>;
export type StreamReplay = z.input<typeof replayStreamBody>;
export type Stream = z.infer<typeof streamSchema>;
export type CreatedStream = z.infer<typeof createdStreamSchema>;
export type StreamList = z.infer<typeof streamListSchema>;
export type StreamTestResult = z.infer<typeof streamTestSchema>;
export type StreamReplayAccepted = z.infer<typeof streamReplaySchema>;
export type RotatedStreamSecret = z.infer<typeof rotatedSecretSchema>;
export type FieldError = z.infer<typeof fieldErrorSchema>;
export type Problem = z.infer<typeof problemBase>;
export type ValidationProblem = z.infer<typeof validationProblemSchema>;
export type IdConflictProblem = z.infer<typeof idConflictProblemSchema>;
