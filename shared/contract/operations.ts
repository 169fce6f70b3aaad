/**
 * One OpenAPI operation per route key: who may call it (security and scopes, as the handlers'
 * `requireKey`/`requireOperator` checks and the admin use cases decide), its parameters and body
 * (the domain's zod schemas), every answer it gives (success bodies with examples, and each
 * problem+json type) — the input of openapi.ts and of the contract tests.
 */
import * as z from 'zod';
import type {
  oas31,
  ZodOpenApiExamplesObject,
  ZodOpenApiOperationObject,
  ZodOpenApiResponseObject,
} from 'zod-openapi';
import type { RouteKey } from '../config/routes.ts';
import type { Scope } from '../domain/principal.ts';
import * as ex from './examples.ts';
import {
  actionListSchema,
  actionsQuery,
  alertIdParams,
  alertListSchema,
  alertSchema,
  apiKeyListSchema,
  createAlertBody,
  createdAlertSchema,
  createdKeySchema,
  createdStreamSchema,
  createExportBody,
  createKeyBody,
  createStreamBody,
  createTenantBody,
  digestPageSchema,
  digestsQuery,
  downloadLinkSchema,
  eventBatchResultSchema,
  eventIdParams,
  eventPageSchema,
  eventSchema,
  exchangeCodeBody,
  exportIdParams,
  exportSchema,
  feedPageSchema,
  feedQuery,
  healthSchema,
  idConflictProblemSchema,
  inclusionProofSchema,
  ingestBody,
  keyParams,
  listQuery,
  mintedSessionSchema,
  mintSessionBody,
  openApiDocumentSchema,
  problemSchema,
  publicKeySchema,
  replayAckSchema,
  replayStreamBody,
  revokeSessionsQuery,
  rotatedSecretSchema,
  sessionTokenSchema,
  streamIdParams,
  streamListSchema,
  streamReplaySchema,
  streamSchema,
  streamTestSchema,
  tenantParams,
  tenantSchema,
  updateAlertBody,
  updateStreamBody,
  updateTenantBody,
  validationProblemSchema,
} from './schemas.ts';

export const JSON_TYPE = 'application/json';
export const PROBLEM_TYPE = 'application/problem+json';

/** Names of the security schemes (components.securitySchemes in openapi.ts). */
export const TENANT_KEY = 'tenantKey';
export const OPERATOR_KEY = 'operatorKey';
export const VIEWER_SESSION = 'viewerSession';

type Security = oas31.SecurityRequirementObject[];

/** No credential. */
const PUBLIC: Security = [];
/** A tenant key holding any one of `scopes` (OpenAPI 3.1 lists a bearer scheme's roles in the requirement). */
const keyWith = (...scopes: [Scope, ...Scope[]]): Security =>
  scopes.map((scope) => ({ [TENANT_KEY]: [scope] }));
const OPERATOR: Security = [{ [OPERATOR_KEY]: [] }];
/** A viewer-session token whose role the tenant's access policy gives `permission`. */
const personWith = (permission: 'view' | 'export'): Security => [{ [VIEWER_SESSION]: [permission] }];
const READER: Security = [...keyWith('events:read'), ...personWith('view')];
const OPERATOR_OR_ADMIN_KEY: Security = [...OPERATOR, ...keyWith('admin')];
/** Streams send the whole trail out: an `admin` key, or an owner/admin person whose role may export. */
const STREAM_ADMIN: Security = [...keyWith('admin'), ...personWith('export')];
const STREAM_ACCESS =
  "A key with `admin`, or a viewer session of an `owner` or `admin` whose role the tenant's access policy lets export (another role: `forbidden`; the policy not letting them export: `role-not-permitted`). Another tenant's stream is a 404.";

const examplesOf = (values: Record<string, { summary: string; value: unknown }>): ZodOpenApiExamplesObject =>
  values;

const jsonBody = (schema: z.ZodType, examples: Record<string, { summary: string; value: unknown }>) => ({
  [JSON_TYPE]: { schema, examples: examplesOf(examples) },
});

// ---------------------------------------------------------------------------------------------
// Problem responses, shared by the operations (components.responses)

const retryAfter = z
  .int()
  .min(1)
  .max(86_400)
  .meta({ description: 'Seconds to wait before retrying.', example: 1 });

const problemResponse = (
  id: string,
  description: string,
  schema: z.ZodType,
  examples: Record<string, { summary: string; value: unknown }>,
  headers?: z.ZodObject,
): ZodOpenApiResponseObject => ({
  id,
  description,
  content: { [PROBLEM_TYPE]: { schema, examples: examplesOf(examples) } },
  ...(headers === undefined ? {} : { headers }),
});

const simple = (slug: keyof typeof ex.PROBLEM_EXAMPLES) => problemSchema([slug]);
const exampleOf = (slug: keyof typeof ex.PROBLEM_EXAMPLES, summary: string) => ({
  [slug]: { summary, value: ex.PROBLEM_EXAMPLES[slug] },
});

export const RESPONSES = {
  invalidBody: problemResponse(
    'InvalidBody',
    'Invalid input: a field that does not validate (`validation-error`, naming each), a body that is not JSON (`malformed-json`) or is nested too deep or sent with several Content-Types (`bad-request`). Nothing was stored.',
    z.union([validationProblemSchema, problemSchema(['malformed-json', 'bad-request'])]),
    {
      'validation-error': { summary: 'A batch event with a bad action', value: ex.validationProblem },
      ...exampleOf('malformed-json', 'Not JSON'),
    },
  ),
  invalidQuery: problemResponse(
    'InvalidQuery',
    'A query parameter that does not validate, naming each.',
    validationProblemSchema,
    {
      'validation-error': {
        summary: 'A timestamp that is not RFC 3339',
        value: {
          ...ex.validationProblem,
          detail: '1 invalid field: from',
          errors: [{ field: 'from', message: 'must be an RFC 3339 timestamp' }],
        },
      },
    },
  ),
  invalidListQuery: problemResponse(
    'InvalidListQuery',
    'A filter that does not validate (`validation-error`, naming each), or a cursor that is not one this tenant got for this very query (`invalid-cursor`).',
    z.union([validationProblemSchema, problemSchema(['invalid-cursor'])]),
    {
      'validation-error': {
        summary: 'A limit out of range',
        value: {
          ...ex.validationProblem,
          detail: '1 invalid field: limit',
          errors: [{ field: 'limit', message: 'must be at most 1000' }],
        },
      },
      ...exampleOf('invalid-cursor', 'A cursor from another query'),
    },
  ),
  unauthorized: problemResponse(
    'Unauthorized',
    'Missing, unknown or revoked credentials.',
    simple('unauthorized'),
    exampleOf('unauthorized', 'No Authorization header'),
  ),
  forbidden: problemResponse(
    'Forbidden',
    "A valid credential without the right (`forbidden`): a key without the scope, the operator key on a tenant's data, or a tenant key on the operator's routes; a team admin's `team_id` naming a team outside their own, or a team admin listing digests. A viewer session whose role the tenant's access policy does not (or no longer) let view, or export on the export routes, gets `role-not-permitted`.",
    problemSchema(['forbidden', 'role-not-permitted']),
    {
      ...exampleOf('forbidden', 'A write-only key reading the log'),
      ...exampleOf('role-not-permitted', "A person whose role the tenant's policy dropped"),
    },
  ),
  notFound: problemResponse(
    'NotFound',
    "No such id for this tenant: unknown, or another tenant's, or outside what a viewer session's person may see — an event outside a team admin's teams, another person's export (never 403, which would confirm that it exists).",
    simple('not-found'),
    exampleOf('not-found', 'An unknown event id'),
  ),
  idConflict: problemResponse(
    'IdConflict',
    "An event `id` already names a stored event with other content. Nothing was overwritten; a batch's other events were stored, so retrying them is safe.",
    idConflictProblemSchema,
    { 'id-conflict': { summary: 'A batch reusing an id', value: ex.idConflictProblem } },
  ),
  conflict: problemResponse(
    'Conflict',
    'A concurrent change: retry.',
    simple('conflict'),
    exampleOf('conflict', 'Changed concurrently'),
  ),
  payloadTooLarge: problemResponse(
    'PayloadTooLarge',
    'The body is over 1 MiB.',
    simple('payload-too-large'),
    exampleOf('payload-too-large', 'A body over 1 MiB'),
  ),
  unsupportedMediaType: problemResponse(
    'UnsupportedMediaType',
    'The body was not sent as `application/json` (with no charset, or charset utf-8).',
    simple('unsupported-media-type'),
    exampleOf('unsupported-media-type', 'Sent as text/plain'),
  ),
  tooManyRequests: problemResponse(
    'TooManyRequests',
    "Over the tenant's request rate (every key of the tenant together; see the README's Limits). Nothing was done.",
    simple('too-many-requests'),
    exampleOf('too-many-requests', 'Over the rate limit'),
    z.object({ 'Retry-After': retryAfter }),
  ),
  internalError: problemResponse(
    'InternalError',
    'An unexpected error, with no internals.',
    simple('internal-error'),
    exampleOf('internal-error', 'Unexpected'),
  ),
  serviceUnavailable: problemResponse(
    'ServiceUnavailable',
    'A dependency is down, throttled or did not answer in time. Retryable.',
    simple('service-unavailable'),
    exampleOf('service-unavailable', 'A dependency is down'),
    z.object({ 'Retry-After': retryAfter }),
  ),
} satisfies Record<string, ZodOpenApiResponseObject>;

const R = RESPONSES;

/** Every route may fail unexpectedly or find a dependency down. */
const ALWAYS = { '500': R.internalError, '503': R.serviceUnavailable };
/** Routes behind the authorizer: credentials, scopes and the tenant's request rate. */
const AUTHORIZED = { ...ALWAYS, '401': R.unauthorized, '403': R.forbidden, '429': R.tooManyRequests };
/** Routes that read a JSON body. */
const WITH_BODY = { '400': R.invalidBody, '413': R.payloadTooLarge, '415': R.unsupportedMediaType };

const ok = (
  description: string,
  schema: z.ZodType,
  examples: Record<string, { summary: string; value: unknown }>,
): ZodOpenApiResponseObject => ({ description, content: jsonBody(schema, examples) });

export interface ContractOperation extends ZodOpenApiOperationObject {
  operationId: string;
  security: Security;
  responses: Record<string, ZodOpenApiResponseObject>;
}

/** One operation per route key: a route added to the manifest does not compile until it is documented here. */
export const OPERATIONS: Readonly<Record<RouteKey, ContractOperation>> = {
  'GET /health': {
    operationId: 'getHealth',
    tags: ['Service'],
    summary: 'Liveness',
    description: 'Says only that the service runs. No credential.',
    security: PUBLIC,
    responses: {
      '200': ok('The service runs.', healthSchema, { ok: { summary: 'Up', value: { status: 'ok' } } }),
      ...ALWAYS,
    },
  },

  'GET /v1/openapi.json': {
    operationId: 'getOpenApiDocument',
    tags: ['Service'],
    summary: 'This OpenAPI document',
    description:
      "The OpenAPI 3.1 document of this API, with `servers` set to the deployment's public URL. No credential.",
    security: PUBLIC,
    responses: {
      '200': ok('The OpenAPI 3.1 document.', openApiDocumentSchema, {
        document: {
          summary: 'The document (abridged)',
          value: {
            openapi: '3.1.0',
            info: { title: 'Trailkeeper API', version: 'v1' },
            servers: [{ url: 'https://audit.example.com' }],
            paths: { '/health': {} },
          },
        },
      }),
      ...ALWAYS,
    },
  },

  'GET /console/t/{tenant_id}': {
    operationId: 'getConsolePage',
    tags: ['Service'],
    summary: "A tenant's audit log page (console)",
    description:
      "The HTML shell of the audit log console for a person's browser (`/console/t/{tenant_id}/`; every path under it serves the same page), with the tenant's own `Content-Security-Policy`: only this origin, no inline script, Trusted Types required, and `frame-ancestors` naming exactly the tenant's `embed_origins` (`'none'` when it lists none). The page signs in with the code of a viewer-session link (URL fragment `#code=`) and reads the log with that session's token. No credential, no data: an unknown tenant gets the same page, which cannot sign in.",
    security: PUBLIC,
    requestParams: {
      path: z.object({ tenant_id: z.string().meta({ description: 'The tenant.', example: ex.TENANT_ID }) }),
    },
    responses: {
      '200': {
        description: 'The page shell.',
        headers: z.object({
          'Content-Security-Policy': z.string().meta({
            description: "The tenant's policy; `frame-ancestors` from its `embed_origins`.",
            example:
              "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'; frame-ancestors https://app.example.com",
          }),
        }),
        content: {
          'text/html': {
            schema: z.string().meta({ description: 'An HTML document.' }),
            examples: examplesOf({
              shell: {
                summary: 'The shell (abridged)',
                value:
                  '<!doctype html><html lang="en"><head><title>Audit log</title><script type="module" src="/console/assets/console-3HX2Q7.js" integrity="sha384-…"></script></head><body><div id="console"></div></body></html>',
              },
            }),
          },
        },
      },
      '404': R.notFound,
      ...ALWAYS,
    },
  },

  'POST /v1/events': {
    operationId: 'ingestEvents',
    tags: ['Events'],
    summary: 'Send one event, or a batch of up to 100',
    description: [
      'Scope `events:write`.',
      '',
      'Every event is validated first: any invalid one is a 400 naming each bad field (and batch index), and nothing is stored. Answers **201** when anything was stored: the stored event (single) or `{"data": [...]}` (batch).',
      '',
      '**Retries are safe**: the same `id` with the same content (RFC 8785 canonical JSON of what was sent, after redaction) stores nothing and answers **200** — with the stored event when the key also holds `events:read`, else `{"id", "duplicate": true}`; a batch answers 200 when all of it was a replay. The same `id` with other content is a **409** naming the id; in a batch, the other events are stored.',
      '',
      'A stored event is visible to reads within a second.',
    ].join('\n'),
    security: keyWith('events:write'),
    requestBody: {
      required: true,
      content: jsonBody(ingestBody, {
        single: { summary: 'One event (the README example)', value: ex.singleEventInput },
        batch: { summary: 'A batch', value: ex.batchEventInput },
      }),
    },
    responses: {
      '201': ok(
        'Stored: the stored event (single) or one entry per submitted event (batch).',
        z.union([eventSchema, eventBatchResultSchema]),
        {
          single: { summary: 'One event stored', value: ex.storedEvent },
          batch: { summary: 'A batch stored', value: ex.storedBatch },
        },
      ),
      '200': ok(
        'A replay of the same content: nothing was stored.',
        z.union([eventSchema, replayAckSchema, eventBatchResultSchema]),
        {
          'replay-reader': { summary: 'Replayed by a key with events:read', value: ex.storedEvent },
          'replay-writer': { summary: 'Replayed by a write-only key', value: ex.replayAck },
          'batch-replay': { summary: 'A batch that was all replays', value: ex.storedBatch },
        },
      ),
      '409': R.idConflict,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'GET /v1/events': {
    operationId: 'listEvents',
    tags: ['Events'],
    summary: 'Search the trail',
    description: [
      'Scope `events:read`, or a viewer session with `view` (a team admin: only events of their teams; a `team_id` outside them is a 403; a role the access policy does not let view is a 403).',
      '',
      "Newest first, within the tenant's retention. Filters combine with AND; every filter is index-served. Pass `next_cursor` as `cursor`, with the same filters, for the next page; only `next_cursor: null` means the end.",
      '',
      '**A page may be short, or empty, and still have a `next_cursor`**: each request reads a bounded number of stored events (its read budget, 5,000), so a selective filter over a long window answers with the matches it could prove complete so far and a cursor that continues the search from where it stopped. Keep following `next_cursor` until it is null.',
      '',
      'Every read is itself audited: it writes an `audit_log.viewed` event into the same trail.',
    ].join('\n'),
    security: READER,
    requestParams: { query: listQuery },
    responses: {
      '200': ok('A page of events.', eventPageSchema, {
        page: { summary: 'A page with more to follow', value: ex.eventPage },
        last: { summary: 'The last page', value: ex.lastEventPage },
        budget: {
          summary: 'An empty page that reached its work budget (not the end: follow next_cursor)',
          value: ex.budgetEventPage,
        },
      }),
      '400': R.invalidListQuery,
      ...AUTHORIZED,
    },
  },

  'GET /v1/feed': {
    operationId: 'readFeed',
    tags: ['Events'],
    summary: 'Poll the trail in arrival order',
    description: [
      'Scope `events:read` (a tenant key: the feed is for SIEMs and collectors; a viewer session gets 403).',
      '',
      "The tenant's events in ascending `received_at` order, so a late-arriving event (an `occurred_at` in the past) is never skipped. Pass `next_cursor` as `cursor` for the next page; it is always present, because a feed never ends: an empty page means caught up, so ask again later with the same cursor. Each page stops at its `watermark` (now minus the longest time an ingest may still be writing an event, a few minutes), so a cursor never passes an event that is still being written.",
      '',
      "The first call starts at `from` (default 24 hours ago; never older than the tenant's retention). For older windows, export, or replay them to a stream. A page reads at most a week of arrivals at a time, and further weeks only while it has found nothing, for at most 5 seconds: after a long quiet stretch a page may rarely be empty before the feed is caught up, with a cursor that has moved past what it read.",
      '',
      'Audited without flooding the trail: a call without a cursor writes an `audit_log.viewed` event (`metadata.feed: "started"`), and a chain of cursors being followed writes one again at most once an hour (`"continued"`).',
    ].join('\n'),
    security: keyWith('events:read'),
    requestParams: { query: feedQuery },
    responses: {
      '200': ok('A page of the feed.', feedPageSchema, {
        page: { summary: 'A page of events', value: ex.feedPage },
        caughtUp: { summary: 'Caught up (keep the cursor, ask again later)', value: ex.caughtUpFeedPage },
      }),
      '400': R.invalidListQuery,
      ...AUTHORIZED,
    },
  },

  'GET /v1/events/{id}': {
    operationId: 'getEvent',
    tags: ['Events'],
    summary: 'One event',
    description:
      "Scope `events:read`, or a viewer session with `view`. The event with its full metadata; 404 for an unknown id, another tenant's, one past the tenant's retention, or (for a team admin) one outside their teams — organization-level events included. Audited like a search.",
    security: READER,
    requestParams: { path: eventIdParams },
    responses: {
      '200': ok('The event.', eventSchema, {
        event: { summary: 'The README event', value: ex.storedEvent },
        impersonated: { summary: 'An action taken through a support session', value: ex.impersonatedEvent },
      }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'GET /v1/actions': {
    operationId: 'listActions',
    tags: ['Events'],
    summary: 'The actions you may see (suggestions)',
    description: [
      'Scope `events:read`, or a viewer session with `view`.',
      '',
      `The distinct actions of the events the caller may see, sorted, at most 200 (\`has_more\` says when the prefix matches more): for suggestions as someone types a filter. A team admin gets only the actions of their teams' events, never those of organization-level events; the service's own \`audit_log.*\` and \`trailkeeper.*\` actions are listed too, as they are in the trail. An action is listed from its first stored event on (within a second), and stays listed after its events expire. Served from a registry of actions: it never searches the events, and is not audited.`,
    ].join('\n'),
    security: READER,
    requestParams: { query: actionsQuery },
    responses: {
      '200': ok('The actions, sorted.', actionListSchema, {
        prefix: {
          summary: 'Actions starting with `member.`',
          value: {
            data: [
              { action: 'member.invited' },
              { action: 'member.removed' },
              { action: 'member.role_changed' },
            ],
            has_more: false,
          },
        },
      }),
      '400': R.invalidQuery,
      ...AUTHORIZED,
    },
  },

  'GET /v1/events/{id}/proof': {
    operationId: 'getEventProof',
    tags: ['Integrity'],
    summary: "An event's inclusion proof",
    description:
      "Scope `events:read`, or a viewer session with `view` (a team admin: proofs of their teams' events only; any other event is a 404). The digest that seals the event and the RFC 6962 audit path from its leaf to the digest's signed Merkle root. 404 until the event's interval is sealed (up to ~20 minutes after it was received); 409 when the stored event no longer matches what was sealed (the integrity scan alarms on it).",
    security: READER,
    requestParams: { path: eventIdParams },
    responses: {
      '200': ok('The proof.', inclusionProofSchema, {
        proof: { summary: 'The second event of a two-event digest', value: ex.inclusionProofExample },
      }),
      '404': R.notFound,
      '409': R.conflict,
      ...AUTHORIZED,
    },
  },

  'GET /v1/integrity/digests': {
    operationId: 'listDigests',
    tags: ['Integrity'],
    summary: "The tenant's signed digests",
    description:
      "Scope `events:read`, or a viewer session with `view` for a role that sees the whole workspace: a team admin is refused (403; digests reveal every interval's event count and first and last event ids, so they get proofs of their own events instead). Digests whose interval ends in [`from`, `to`] (default: the last 24 hours), oldest first, at most 1000 a page; `next` is the `from` of the next page.",
    security: READER,
    requestParams: { query: digestsQuery },
    responses: {
      '200': ok('A page of digests.', digestPageSchema, {
        page: { summary: 'One digest', value: ex.digestPage },
        empty: { summary: 'Nothing sealed in the window yet', value: { data: [], next: null } },
      }),
      '400': R.invalidQuery,
      ...AUTHORIZED,
    },
  },

  'GET /v1/integrity/public-key': {
    operationId: 'getPublicKey',
    tags: ['Integrity'],
    summary: 'The digest signing key',
    description:
      'The public half of the key every digest is signed with (ECDSA P-256), so anyone can check a signature without our word for the key. No credential.',
    security: PUBLIC,
    responses: {
      '200': ok('The public key.', publicKeySchema, {
        key: { summary: 'A KMS key', value: ex.publicKeyExample },
      }),
      ...ALWAYS,
    },
  },

  'POST /v1/tenants': {
    operationId: 'createTenant',
    tags: ['Tenants'],
    summary: 'Create a tenant',
    description: 'Operator key only.',
    security: OPERATOR,
    requestBody: {
      required: true,
      content: jsonBody(createTenantBody, {
        tenant: { summary: 'A business tenant', value: ex.createTenantInput },
      }),
    },
    responses: {
      '201': ok('The tenant.', tenantSchema, { tenant: { summary: 'Created', value: ex.tenant } }),
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'GET /v1/tenants/{tenant_id}': {
    operationId: 'getTenant',
    tags: ['Tenants'],
    summary: 'Read a tenant',
    description:
      "The operator, or a key of this tenant with `admin` (another tenant's key: 404). Shows the effective retention and rate limit, and the latest retention job.",
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: tenantParams },
    responses: {
      '200': ok('The tenant.', tenantSchema, {
        tenant: { summary: 'A tenant', value: ex.tenant },
        'retention-job': { summary: 'Re-timing its events after a plan change', value: ex.updatedTenant },
      }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'PATCH /v1/tenants/{tenant_id}': {
    operationId: 'updateTenant',
    tags: ['Tenants'],
    summary: 'Change a tenant',
    description:
      "The operator for `name`, `plan`, `retention_days`, `shards`, `rate_limit_rps`; the operator or a key of this tenant with `admin` for `email_domains` and `access` (which viewer-session roles may view and export; export needs view). A change of the effective retention starts a retention job that re-times the tenant's stored events (shown as `retention_job`). Every change writes `trailkeeper.tenant.updated` into the tenant's trail, with the changed settings as `metadata.from`/`to`; a request that changes nothing writes nothing.",
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: tenantParams },
    requestBody: {
      required: true,
      content: jsonBody(updateTenantBody, {
        plan: { summary: 'A new plan (operator)', value: ex.updateTenantInput },
        'email-domains': {
          summary: 'Allowed notification domains (operator or admin key)',
          value: ex.updateEmailDomainsInput,
        },
        'owner-only': {
          summary: 'Only owners may view and export (operator or admin key)',
          value: { access: { view: ['owner'], export: ['owner'] } },
        },
      }),
    },
    responses: {
      '200': ok('The tenant as changed.', tenantSchema, {
        tenant: { summary: 'Plan changed, retention job running', value: ex.updatedTenant },
      }),
      '404': R.notFound,
      '409': R.conflict,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'POST /v1/tenants/{tenant_id}/keys': {
    operationId: 'createKey',
    tags: ['Keys'],
    summary: 'Create an API key',
    description:
      'The operator, or a key of this tenant with `admin`. The answer holds the secret (`key`), shown this once: only its SHA-256 is stored.',
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: tenantParams },
    requestBody: {
      required: true,
      content: jsonBody(createKeyBody, { key: { summary: 'A write-only key', value: ex.createKeyInput } }),
    },
    responses: {
      '201': ok('The key, with its secret.', createdKeySchema, {
        key: { summary: 'Created', value: ex.createdKey },
      }),
      '404': R.notFound,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'GET /v1/tenants/{tenant_id}/keys': {
    operationId: 'listKeys',
    tags: ['Keys'],
    summary: "List a tenant's API keys",
    description: 'The operator, or a key of this tenant with `admin`. Never the secrets.',
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: tenantParams },
    responses: {
      '200': ok('The keys.', apiKeyListSchema, {
        keys: { summary: 'One live key, one revoked', value: ex.keyList },
      }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'DELETE /v1/tenants/{tenant_id}/keys/{key_id}': {
    operationId: 'revokeKey',
    tags: ['Keys'],
    summary: 'Revoke an API key',
    description:
      'The operator, or a key of this tenant with `admin`. The key is refused from then on: at once locally, within 10 s in AWS.',
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: keyParams },
    responses: {
      '204': { description: 'Revoked.' },
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'POST /v1/tenants/{tenant_id}/viewer-sessions': {
    operationId: 'createViewerSession',
    tags: ['People'],
    summary: 'Mint a viewer session for a signed-in user',
    description: [
      "The operator, or a key of this tenant with `admin` (another tenant's key: 404): the SaaS application's backend, for one of its signed-in users.",
      '',
      "Answers a one-time `code` (works once, within 5 minutes; only its SHA-256 is stored) and the console `url` that carries it in its fragment. A role the tenant's access policy does not let view (by default `member` and `guest`) is a **403**, and nothing is minted. Writes a `trailkeeper.viewer_session.created` event into the tenant's trail.",
    ].join('\n'),
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: tenantParams },
    requestBody: {
      required: true,
      content: jsonBody(mintSessionBody, {
        admin: { summary: 'A workspace admin, for an hour', value: ex.mintSessionInput },
        'team-admin': { summary: 'A team admin of two teams', value: ex.mintTeamAdminSessionInput },
      }),
    },
    responses: {
      '201': ok('The code and the console link.', mintedSessionSchema, {
        session: { summary: 'Minted', value: ex.mintedSession },
      }),
      '404': R.notFound,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'DELETE /v1/tenants/{tenant_id}/viewer-sessions': {
    operationId: 'revokeViewerSessions',
    tags: ['People'],
    summary: 'Revoke viewer sessions',
    description:
      "The operator, or a key of this tenant with `admin`. Every session of the tenant issued until now — or only one person's, with `user_id` — and every code minted until now stops working: at once locally, within 10 s in AWS. Writes a `trailkeeper.viewer_sessions.revoked` event.",
    security: OPERATOR_OR_ADMIN_KEY,
    requestParams: { path: tenantParams, query: revokeSessionsQuery },
    responses: {
      '204': { description: 'Revoked.' },
      '400': R.invalidQuery,
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'POST /v1/sessions': {
    operationId: 'exchangeSessionCode',
    tags: ['People'],
    summary: "Exchange a viewer session's code for its token",
    description:
      "No credential: the one-time code is one. Answers the session token (a JWT to send as `Authorization: Bearer`), the person, their role and teams, and what the tenant's access policy lets them do. A used, expired or unknown code — or one minted before its sessions were revoked — is a **401**.",
    security: PUBLIC,
    requestBody: {
      required: true,
      content: jsonBody(exchangeCodeBody, {
        code: { summary: 'The code of a link', value: ex.exchangeCodeInput },
      }),
    },
    responses: {
      '201': ok('The session token.', sessionTokenSchema, {
        token: { summary: 'An admin session', value: ex.sessionToken },
      }),
      '401': problemResponse(
        'InvalidSessionCode',
        'The code is unknown, already used or expired.',
        simple('unauthorized'),
        exampleOf('unauthorized', 'A code used twice'),
      ),
      ...WITH_BODY,
      ...ALWAYS,
    },
  },

  'POST /v1/exports': {
    operationId: 'createExport',
    tags: ['Exports'],
    summary: 'Export the trail',
    description: [
      "Scope `exports:write`, or a viewer session with `export` (a role the access policy does not let export is a 403; a team admin exports only their teams' events, and a `team_id` outside them is a 403; a person's `notify_email` must be their own email).",
      '',
      'Up to 10,000 matching events the file is written within the request: **201** with `status: "completed"`, `rows` and `download_url`. Beyond, **202** with `status: "queued"`: a worker writes the file and emails the link to `notify_email`. Exports never reach past the tenant\'s current retention. Every export writes an `audit_log.exported` event.',
      '',
      "429 also when the tenant has used its allowance of 20 exports with `notify_email` per hour (nothing created; export without `notify_email` meanwhile). 400 when `notify_email` is not at one of the tenant's `email_domains`.",
    ].join('\n'),
    security: [...keyWith('exports:write'), ...personWith('export')],
    requestBody: {
      required: true,
      content: jsonBody(createExportBody, {
        csv: { summary: 'A CSV of member changes', value: ex.csvExportInput },
        notify: { summary: 'Everything, emailed when ready', value: ex.notifyExportInput },
      }),
    },
    responses: {
      '201': ok('Written within the request.', exportSchema, {
        completed: { summary: 'A completed export', value: ex.completedExport },
      }),
      '202': ok('Queued: poll `GET /v1/exports/{id}`, or wait for the email.', exportSchema, {
        queued: { summary: 'A queued export', value: ex.queuedExport },
      }),
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'GET /v1/exports/{id}': {
    operationId: 'getExport',
    tags: ['Exports'],
    summary: 'An export',
    description:
      'Scope `exports:write` or `events:read` (every export of the tenant), or a viewer session with `export`: the exports that person created (in any session), and those a key created when their role sees the whole workspace; any other export is a 404. Its status, rows and bytes written, progress, errors and cut-off.',
    security: [...keyWith('exports:write', 'events:read'), ...personWith('export')],
    requestParams: { path: exportIdParams },
    responses: {
      '200': ok('The export.', exportSchema, {
        completed: { summary: 'Completed', value: ex.completedExport },
        running: { summary: 'Running', value: ex.runningExport },
        'email-failed': { summary: 'Completed, but the email bounced', value: ex.failedEmailExport },
      }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'GET /v1/exports/{id}/download': {
    operationId: 'downloadExport',
    tags: ['Exports'],
    summary: "Download an export's file",
    description: [
      "Scope `exports:write` or `events:read`, or a viewer session with `export` for the exports it may read (see `GET /v1/exports/{id}`; a team admin's team scope is checked again here; any other export is a 404).",
      '',
      'Redirects (**302**) to a fresh presigned URL of the file, valid 15 minutes; with `Accept: application/json` it answers **200** `{"url", "expires_at"}` instead, for a client that navigates there itself (the console). The emailed link opens the console at the export, so it works for the 7 days the file is kept and still checks who asks. 409 while the export is not completed, 410 once its file is deleted. Writes an `audit_log.export_downloaded` event.',
    ].join('\n'),
    security: [...keyWith('exports:write', 'events:read'), ...personWith('export')],
    requestParams: { path: exportIdParams },
    responses: {
      '200': ok(
        'With `Accept: application/json`: the presigned URL, for the client to navigate to.',
        downloadLinkSchema,
        {
          link: { summary: 'A fresh link', value: ex.downloadLink },
        },
      ),
      '302': {
        description: 'To the file.',
        headers: z.object({
          Location: z.url().meta({ description: 'Presigned URL of the file.', example: ex.downloadLocation }),
        }),
      },
      '404': R.notFound,
      '409': problemResponse(
        'ExportNotReady',
        'The export is not completed: its file is not available yet (or ever, when it failed).',
        simple('export-not-ready'),
        exampleOf('export-not-ready', 'Still running'),
      ),
      '410': problemResponse(
        'ExportExpired',
        'The file was deleted (7 days after the request): request a new export.',
        simple('export-expired'),
        exampleOf('export-expired', 'Deleted'),
      ),
      ...AUTHORIZED,
    },
  },
  'POST /v1/streams': {
    operationId: 'createStream',
    tags: ['Streams'],
    summary: 'Create a stream to a SIEM',
    description: [
      STREAM_ACCESS,
      '',
      "Events are delivered as they arrive (typically within seconds, at least once, in `received_at` order as far as retries allow): Standard Webhooks-signed batches to a `webhook`, Splunk HEC, or Datadog logs. A `webhook` stream's signing `secret` is in this answer only. Tokens and secrets are stored encrypted and never returned. Writes a `trailkeeper.stream.created` event.",
    ].join('\n'),
    security: STREAM_ADMIN,
    requestBody: {
      required: true,
      content: jsonBody(createStreamBody, {
        webhook: {
          summary: 'A signed webhook for member and key events',
          value: ex.createWebhookStreamInput,
        },
        splunk: { summary: 'Splunk HEC, every event', value: ex.createSplunkStreamInput },
      }),
    },
    responses: {
      '201': ok('Created; deliveries start with the next event.', createdStreamSchema, {
        webhook: { summary: 'A webhook stream and its secret', value: ex.createdStream },
      }),
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'GET /v1/streams': {
    operationId: 'listStreams',
    tags: ['Streams'],
    summary: "The tenant's streams",
    description: `${STREAM_ACCESS} Each with its status and health: \`last_delivered_at\`, \`last_error\`, \`lag_seconds\`.`,
    security: STREAM_ADMIN,
    responses: {
      '200': ok('Oldest first.', streamListSchema, { list: { summary: 'One stream', value: ex.streamList } }),
      ...AUTHORIZED,
    },
  },

  'GET /v1/streams/{id}': {
    operationId: 'getStream',
    tags: ['Streams'],
    summary: 'A stream and its health',
    description: `${STREAM_ACCESS} A \`failing\` stream says since when and its next attempt; a \`disabled\` one says from when it stopped, and why.`,
    security: STREAM_ADMIN,
    requestParams: { path: streamIdParams },
    responses: {
      '200': ok('The stream.', streamSchema, {
        healthy: { summary: 'Delivering', value: ex.healthyStream },
        failing: { summary: 'Retrying', value: ex.failingStream },
        disabled: { summary: 'Disabled by a 410', value: ex.disabledStream },
      }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'PATCH /v1/streams/{id}': {
    operationId: 'updateStream',
    tags: ['Streams'],
    summary: 'Pause, resume or change a stream',
    description: [
      STREAM_ACCESS,
      '',
      '`status: "paused"` keeps the backlog (within the hot retention) and delivers it on resume; `status: "active"` resumes at once. A `disabled` stream resumes from now: it kept nothing received while disabled. A new `url` or `token` of a failing stream is tried at once. Writes a `trailkeeper.stream.updated` event with what changed (a token only as replaced).',
    ].join('\n'),
    security: STREAM_ADMIN,
    requestParams: { path: streamIdParams },
    requestBody: {
      required: true,
      content: jsonBody(updateStreamBody, {
        pause: { summary: 'Pause', value: ex.pauseStreamInput },
        change: { summary: 'A new URL, every event', value: ex.changeStreamInput },
      }),
    },
    responses: {
      '200': ok('The stream after the change.', streamSchema, {
        paused: { summary: 'Paused', value: ex.pausedStream },
      }),
      '404': R.notFound,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'DELETE /v1/streams/{id}': {
    operationId: 'deleteStream',
    tags: ['Streams'],
    summary: 'Delete a stream',
    description: `${STREAM_ACCESS} Nothing more is delivered; what waited for it expires. Writes a \`trailkeeper.stream.deleted\` event.`,
    security: STREAM_ADMIN,
    requestParams: { path: streamIdParams },
    responses: {
      '204': { description: 'Deleted.' },
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'POST /v1/streams/{id}/test': {
    operationId: 'testStream',
    tags: ['Streams'],
    summary: 'Send a test event now',
    description: `${STREAM_ACCESS} Sends one synthetic \`trailkeeper.stream.test\` event (never stored) straight to the destination, in the stream's format and signed like a delivery, and answers what the receiver said. Does not touch the stream's status or backlog.`,
    security: STREAM_ADMIN,
    requestParams: { path: streamIdParams },
    responses: {
      '200': ok('What the receiver answered.', streamTestSchema, {
        ok: { summary: 'Accepted', value: ex.streamTestOk },
        failed: { summary: 'Nobody answered', value: ex.streamTestFailed },
      }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'POST /v1/streams/{id}/replay': {
    operationId: 'replayStream',
    tags: ['Streams'],
    summary: 'Deliver a window again',
    description: `${STREAM_ACCESS} The stream's events received in [from, to) are delivered again (receivers dedupe on the event \`id\`). Only the hot table is read: a \`from\` older than the tenant's retention is a 400 naming \`from\` (export older events instead). A disabled stream must be resumed first (409). Writes a \`trailkeeper.stream.updated\` event with the window.`,
    security: STREAM_ADMIN,
    requestParams: { path: streamIdParams },
    requestBody: {
      required: true,
      content: jsonBody(replayStreamBody, { window: { summary: 'Half a day', value: ex.replayStreamInput } }),
    },
    responses: {
      '202': ok('Accepted: the deliverer sends the window.', streamReplaySchema, {
        accepted: { summary: 'Accepted', value: ex.streamReplayAccepted },
      }),
      '404': R.notFound,
      '409': R.conflict,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'POST /v1/streams/{id}/rotate-secret': {
    operationId: 'rotateStreamSecret',
    tags: ['Streams'],
    summary: "Rotate a webhook stream's signing secret",
    description: `${STREAM_ACCESS} A new secret, shown this once; for 24 h deliveries carry a signature with each secret (\`webhook-signature\` lists both), so receivers can switch without losing a delivery. Rotating again within the 24 h drops the oldest secret at once. A \`splunk_hec\` or \`datadog\` stream has no secret (409; PATCH its \`token\`). Writes a \`trailkeeper.stream.updated\` event.`,
    security: STREAM_ADMIN,
    requestParams: { path: streamIdParams },
    responses: {
      '201': ok('The new secret.', rotatedSecretSchema, {
        rotated: { summary: 'Rotated', value: ex.rotatedSecret },
      }),
      '404': R.notFound,
      '409': R.conflict,
      ...AUTHORIZED,
    },
  },

  'POST /v1/alerts': {
    operationId: 'createAlert',
    tags: ['Alerts'],
    summary: 'Create an alert rule',
    description: [
      STREAM_ACCESS,
      '',
      "A rule is evaluated on every new event within seconds (never on the service's own `trailkeeper.alert.*` events). On a fire it writes `trailkeeper.alert.triggered` (the rule, the matching event ids, what the cooldown held back) into the trail and notifies each target once per cooldown: an email, a Slack message, or a `webhook_url` POST signed like a stream delivery with the alert's `secret` (in this answer only). Writes a `trailkeeper.alert.created` event.",
    ].join('\n'),
    security: STREAM_ADMIN,
    requestBody: {
      required: true,
      content: jsonBody(createAlertBody, {
        unlisted: {
          summary: 'An API key created by anyone but a known list',
          value: ex.createUnlistedKeyAlertInput,
        },
        hours: { summary: 'Impersonation outside business hours', value: ex.createImpersonationAlertInput },
      }),
    },
    responses: {
      '201': ok('Created; evaluated from the next event on.', createdAlertSchema, {
        created: { summary: 'With a webhook target and its secret', value: ex.createdAlert },
      }),
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'GET /v1/alerts': {
    operationId: 'listAlerts',
    tags: ['Alerts'],
    summary: "The tenant's alerts",
    description: `${STREAM_ACCESS} Each with \`last_fired_at\`, what the cooldown holds back and the last notification error.`,
    security: STREAM_ADMIN,
    responses: {
      '200': ok('Oldest first.', alertListSchema, { list: { summary: 'One alert', value: ex.alertList } }),
      ...AUTHORIZED,
    },
  },

  'GET /v1/alerts/{id}': {
    operationId: 'getAlert',
    tags: ['Alerts'],
    summary: 'An alert',
    description: `${STREAM_ACCESS} Never its Slack URL (its host only) or signing secret.`,
    security: STREAM_ADMIN,
    requestParams: { path: alertIdParams },
    responses: {
      '200': ok('The alert.', alertSchema, { alert: { summary: 'An alert', value: ex.alertExample } }),
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },

  'PATCH /v1/alerts/{id}': {
    operationId: 'updateAlert',
    tags: ['Alerts'],
    summary: 'Change an alert',
    description: `${STREAM_ACCESS} Any field; \`match\` and \`notify\` replace the whole value. Its cooldown and counts carry on. Adding the first \`webhook_url\` target answers with a new signing \`secret\` (once). Writes a \`trailkeeper.alert.updated\` event with what changed.`,
    security: STREAM_ADMIN,
    requestParams: { path: alertIdParams },
    requestBody: {
      required: true,
      content: jsonBody(updateAlertBody, {
        cooldown: { summary: 'A longer cooldown', value: ex.changeAlertInput },
      }),
    },
    responses: {
      '200': ok('The alert after the change.', createdAlertSchema, {
        changed: { summary: 'Changed', value: { ...ex.alertExample, cooldown_minutes: 60 } },
      }),
      '404': R.notFound,
      ...WITH_BODY,
      ...AUTHORIZED,
    },
  },

  'DELETE /v1/alerts/{id}': {
    operationId: 'deleteAlert',
    tags: ['Alerts'],
    summary: 'Delete an alert',
    description: `${STREAM_ACCESS} Writes a \`trailkeeper.alert.deleted\` event.`,
    security: STREAM_ADMIN,
    requestParams: { path: alertIdParams },
    responses: {
      '204': { description: 'Deleted.' },
      '404': R.notFound,
      ...AUTHORIZED,
    },
  },
};

/** The documented answer of an operation for a status, or undefined when it is not documented. */
export const documentedResponse = (routeKey: string, status: number): ZodOpenApiResponseObject | undefined =>
  (OPERATIONS as Readonly<Record<string, ContractOperation | undefined>>)[routeKey]?.responses[
    String(status)
  ];
