/**
 * What the Trailkeeper API answers: the API contract's types (shared/contract/schemas.ts, inferred
 * from the zod schemas the OpenAPI document is built from), under the client's names. Type-only
 * imports: nothing here exists at run time, and the client loads no zod.
 */
import type {
  ActionList,
  ApiKey,
  ApiKeyList,
  CreatedApiKey,
  Digest,
  DigestPage,
  Event,
  EventBatchResult,
  EventPage,
  Export,
  ExportFilters,
  FeedPage,
  Health,
  InclusionProof,
  PublicKey,
  ReplayAck,
  RetentionJob,
  SessionToken,
  Tenant,
  ViewerSession,
} from '../shared/contract/schemas.ts';

export type {
  ActionList,
  ApiKey,
  ApiKeyList,
  CreatedApiKey,
  DigestPage,
  EventPage,
  Export,
  ExportFilters,
  FeedPage,
  Health,
  InclusionProof,
  PublicKey,
  RetentionJob,
  SessionToken,
  Tenant,
  ViewerSession,
};

// ---------------------------------------------------------------------------------------------
// Events

/** A stored event, as reads answer it. */
export type StoredEvent = Event;
export type Actor = StoredEvent['actor'];
export type ActorType = Actor['type'];
export type Impersonator = NonNullable<StoredEvent['impersonator']>;
export type Target = NonNullable<StoredEvent['target']>;
export type EventContext = NonNullable<StoredEvent['context']>;

/** A replay answered to a key without `events:read`: never the stored event. */
export type DuplicateAck = ReplayAck;

/** One entry of an ingest answer: the stored event, or a replay acknowledgement. */
export type IngestedEvent = StoredEvent | DuplicateAck;

/** The body of a batch `POST /v1/events`: one entry per submitted event, in order. */
export type IngestBatchBody = EventBatchResult;

// ---------------------------------------------------------------------------------------------
// Integrity

/** A signed, chained digest of a tenant's events received in `(interval.start, interval.end]`. */
export type SignedDigest = Digest;
export type EventRef = NonNullable<SignedDigest['first_event']>;

// ---------------------------------------------------------------------------------------------
// Tenants, keys and exports

export type Plan = Tenant['plan'];
export type Scope = ApiKey['scopes'][number];
export type ExportStatus = Export['status'];
export type ExportFormat = Export['format'];

/** Where a completed export's file can be fetched from, for a short while. */
export interface ExportDownload {
  url: string;
  /** When the URL stops working, when the service says. */
  expires_at: string | null;
}

// ---------------------------------------------------------------------------------------------
// Health and errors

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
