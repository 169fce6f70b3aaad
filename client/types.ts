/**
 * What the Trailkeeper API answers, written by hand from its presenters (shared/domain/event.ts
 * presentEvent, tenant.ts presentTenant/presentKey, export.ts presentExport, the integrity and
 * events use cases). Every response type of the client lives in this one file, so that its body
 * can become re-exports of the API contract's inferred types without touching the client.
 * Types only: nothing here exists at run time.
 */

// ---------------------------------------------------------------------------------------------
// Events

export type ActorType = 'user' | 'api_key' | 'service' | 'system' | 'support';

export interface Actor {
  id: string;
  type?: ActorType;
  name?: string;
  email?: string;
  /** The actor's role when the action was taken. */
  role?: string;
}

export interface Impersonator {
  id: string;
  email?: string;
}

export interface Target {
  type?: string;
  id?: string;
  name?: string;
}

export interface EventContext {
  ip?: string;
  user_agent?: string;
  request_id?: string;
  location?: string;
}

/** An event as the service stored it (`GET /v1/events/{id}`, pages, a new event's `201`). */
export interface StoredEvent {
  id: string;
  tenant_id: string;
  action: string;
  occurred_at: string;
  received_at: string;
  actor: Actor;
  impersonator?: Impersonator;
  impersonated: boolean;
  target?: Target;
  team_id?: string;
  context?: EventContext;
  area?: string;
  method?: string;
  status?: 'success' | 'failure' | number;
  duration_ms?: number;
  /** Redacted before storage. */
  request?: Record<string, unknown>;
  /** Redacted before storage. */
  metadata?: Record<string, unknown>;
  /** When hot storage drops the event; null when the tenant's retention is unlimited. */
  expires_at: string | null;
  /** Hex SHA-256 of the event's RFC 8785 canonical JSON without `expires_at` and `hash`. */
  hash: string;
}

/** A replay answered to a key without `events:read`: never the stored event. */
export interface DuplicateAck {
  id: string;
  duplicate: true;
}

/** One entry of an ingest answer: the stored event, or a replay acknowledgement. */
export type IngestedEvent = StoredEvent | DuplicateAck;

/** The body of a batch `POST /v1/events`: one entry per submitted event, in order. */
export interface IngestBatchBody {
  data: IngestedEvent[];
}

/**
 * A page of `GET /v1/events`, newest first. A page may be short or even empty while
 * `next_cursor` is not null (the request reached its work budget): only `null` is the end.
 */
export interface EventPage {
  data: StoredEvent[];
  next_cursor: string | null;
  /** How far back the request searched (when the service reports it). */
  scanned_until?: string;
}

// ---------------------------------------------------------------------------------------------
// Integrity

export interface EventRef {
  id: string;
  received_at: string;
}

/** A signed, chained digest of a tenant's events received in `(interval.start, interval.end]`. */
export interface SignedDigest {
  version: 1;
  tenant_id: string;
  sequence: number;
  interval: { start: string; end: string };
  event_count: number;
  first_event: EventRef | null;
  last_event: EventRef | null;
  merkle_root: string;
  previous_digest_hash: string | null;
  sealed_at: string;
  signing_key_id: string;
  signature_algorithm: 'ECDSA_SHA_256';
  /** Base64 DER ECDSA P-256 signature. */
  signature: string;
}

/** A page of `GET /v1/integrity/digests`, oldest first; `next` is the `from` of the next page. */
export interface DigestPage {
  data: SignedDigest[];
  next: string | null;
}

/** `GET /v1/events/{id}/proof`: the RFC 6962 audit path from the event's leaf to its digest's root. */
export interface InclusionProof {
  event_id: string;
  event_hash: string;
  leaf_index: number;
  tree_size: number;
  /** Hex sibling hashes, from the leaf up. */
  audit_path: string[];
  digest: SignedDigest;
}

/** `GET /v1/integrity/public-key`. */
export interface PublicKey {
  key_id: string;
  algorithm: 'ECDSA_SHA_256';
  curve: 'P-256';
  public_key_pem: string;
}

// ---------------------------------------------------------------------------------------------
// Tenants and keys

export type Plan = 'free' | 'pro' | 'business' | 'enterprise' | 'compliance';

export type Scope = 'events:write' | 'events:read' | 'exports:write' | 'admin';

/** The latest re-timing of a tenant's events after its retention changed. */
export interface RetentionJob {
  id: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  retention_days: number | 'unlimited';
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  events_done: number;
  events_retimed: number;
  error?: string;
}

export interface Tenant {
  id: string;
  name: string;
  plan: Plan;
  /** The effective hot retention: the plan's or the custom one. */
  retention_days: number | 'unlimited';
  shards: number;
  /** The effective request rate limit: the operator's override or the plan's. */
  rate_limit_rps: number;
  /** Allowed domains of export notification emails; empty = any. */
  email_domains: string[];
  created_at: string;
  updated_at: string;
  retention_job?: RetentionJob;
}

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  scopes: Scope[];
  created_at: string;
  revoked_at: string | null;
}

/** A new key: the secret `key` is shown this once. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

export interface ApiKeyList {
  data: ApiKey[];
}

// ---------------------------------------------------------------------------------------------
// Exports

export type ExportStatus = 'queued' | 'running' | 'completed' | 'failed';

export type ExportFormat = 'csv' | 'json' | 'ndjson';

/** The filters an export was made with, its window resolved. */
export interface ExportFilters {
  from: string;
  to: string;
  action?: string[];
  actor_id?: string;
  actor_email?: string;
  target_id?: string;
  target_type?: string;
  team_id?: string;
  area?: string;
  method?: string;
  status?: string;
  impersonated?: 'true' | 'false';
}

export interface Export {
  id: string;
  status: ExportStatus;
  format: ExportFormat;
  filters: ExportFilters;
  rows: number;
  bytes: number;
  /** Share of the time window written, 0..1. */
  progress: number;
  error: string | null;
  notify_email: string | null;
  email_error: string | null;
  /** The export's cut-off: every matching event received up to then is in the file. */
  as_of: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** When the file is deleted. */
  expires_at: string;
  /** The API's `/v1/exports/{id}/download`, once completed. */
  download_url: string | null;
}

/** Where a completed export's file can be fetched from, for a short while. */
export interface ExportDownload {
  url: string;
  /** When the URL stops working, when the service says. */
  expires_at: string | null;
}

// ---------------------------------------------------------------------------------------------
// Health and errors

export interface Health {
  status: 'ok';
}

/** One entry of a problem's `errors` list. */
export interface ProblemFieldError {
  /** Dotted path of the field, e.g. `events[1].action`. */
  field: string;
  message: string;
  /** Index in a batch. */
  index?: number;
  /** The reused event id of an `/problems/id-conflict`. */
  id?: string;
}

/** An RFC 9457 problem document, as every error answer carries it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemFieldError[];
  /** The total, when `errors` lists only the first ones. */
  error_count?: number;
  [extension: string]: unknown;
}
