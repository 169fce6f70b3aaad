/**
 * The one definition of Trailkeeper's DynamoDB tables and indexes. Read by the CDK stack
 * (infra/constructs) and by the local runtime (infra/local) so the two can never drift.
 * Key *values* are built in shared/domain/keys.ts; this module only names attributes.
 */
import { ENV } from './env.ts';

export type AttributeType = 'S' | 'N';

export interface IndexDefinition {
  /** DynamoDB index name. */
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** Non-key attributes copied into the index (INCLUDE; empty = KEYS_ONLY); the keys always are. */
  readonly projection: readonly string[];
}

export interface TableDefinition {
  /** CDK construct id and the stem of the table name. */
  readonly id: string;
  /** Environment variable through which handlers learn the physical table name. */
  readonly envVar: string;
  /** Table name used by the local runtime (CDK lets CloudFormation name it). */
  readonly localName: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly ttlAttribute?: string;
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  readonly indexes: Readonly<Record<string, IndexDefinition>>;
}

/** Attribute shared by every event index as its sort key: `<occurred_at ISO>#<event id>`. */
export const EVENT_SORT_KEY = 'sk';
/** Sort key of the seal index: `<received_at ISO>#<event id>`. */
export const SEAL_SORT_KEY = 'seal_sk';

/**
 * What a list query needs from an index item: the event document, its hash and its expiry.
 * Nothing else is projected, so an index item costs little more than the event itself
 * (every filter condition is evaluated on the document in code; a FilterExpression would not
 * save read units anyway — DynamoDB bills what the key condition reads).
 */
export const EVENT_INDEX_PROJECTION = ['doc', 'hash', 'expires_at'] as const;

const eventIndex = (name: string, partitionKey: string): IndexDefinition => ({
  name,
  partitionKey,
  sortKey: EVENT_SORT_KEY,
  projection: EVENT_INDEX_PROJECTION,
});

/**
 * Events: one item per event, keyed by `<tenant>#<event id>` (idempotent conditional put,
 * direct lookup by id). Every list filter is served by one of the GSIs below or by a plan over
 * them (shared/domain/query.ts); all of them sort by occurred_at then id, and all partition keys
 * are sharded per tenant (see keys.ts). Each GSI an event lands in costs a write unit, so there
 * are few: one per high-cardinality id (actor, target, team), one for the event's *kind* — its
 * low-cardinality fields together (action, area, method, target type, status, actor type; see
 * kinds.ts) — and a sparse one for the rare events worth finding fast: impersonated, failed, or
 * both (a failure share of a few % costs a few hundredths of a write unit). Filters on a kind field fan out
 * over the kinds the tenant's registry names (shared/usecases/ports/kinds.ts); an actor email
 * resolves to actor ids through the same registry.
 */
export const EVENTS_TABLE = {
  id: 'Events',
  envVar: ENV.eventsTable,
  localName: 'trailkeeper-events',
  partitionKey: 'pk',
  ttlAttribute: 'expires_at',
  stream: 'NEW_AND_OLD_IMAGES',
  indexes: {
    byTenantTime: eventIndex('byTenantTime', 'time_pk'),
    byActor: eventIndex('byActor', 'actor_pk'),
    byTarget: eventIndex('byTarget', 'target_pk'),
    byTeam: eventIndex('byTeam', 'team_pk'),
    byKind: eventIndex('byKind', 'kind_pk'),
    byFlag: eventIndex('byFlag', 'flag_pk'),
    /**
     * Not a filter: the sealer's view. Partition `<tenant>#<shard>#<UTC hour received>`, sorted
     * by `<received_at>#<id>`, projecting only the hash: what a digest's Merkle tree is built from.
     */
    bySeal: { name: 'bySeal', partitionKey: 'seal_pk', sortKey: 'seal_sk', projection: ['hash'] },
  },
} as const satisfies TableDefinition;

export type EventIndexName = keyof typeof EVENTS_TABLE.indexes;

/**
 * Control plane: tenants, API keys (hash only), and later exports and digests. Everything of a
 * tenant lives in its partition `TENANT#<id>`; sort keys name the record type.
 */
export const CONTROL_TABLE = {
  id: 'Control',
  envVar: ENV.controlTable,
  localName: 'trailkeeper-control',
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; short-lived records only (per-second rate-limit counters). */
  ttlAttribute: 'ttl',
  indexes: {
    /**
     * Sparse: only tenants with a pending or running retention job carry `active_job`, so the
     * retention worker finds its work with one small query.
     */
    activeJobs: { name: 'activeJobs', partitionKey: 'active_job', sortKey: 'active_since', projection: [] },
    /** Sparse: every tenant record carries `entity: 'tenant'`, so the sealer can list tenants. */
    tenants: { name: 'tenants', partitionKey: 'entity', sortKey: 'id', projection: [] },
    /**
     * Sparse: only stream configurations carry `entity_stream: 'stream'`, so the stream sweeper
     * lists every stream (and its tenant, status and lease) with one query.
     */
    streams: {
      name: 'streams',
      partitionKey: 'entity_stream',
      sortKey: 'id',
      projection: ['tenant_id', 'status', 'lease_until', 'next_attempt_at'],
    },
  },
} as const satisfies TableDefinition;

/**
 * The stream outbox: each event a stream must still deliver, one item per (stream, event),
 * written by the stream router and deleted by the deliverer once its receiver accepted it.
 * Partition `<tenant_id>#<stream_id>`, sort `<received_at>#<event_id>` (received_at order, and
 * idempotent: the router's retries rewrite the same item). `doc` is the event as the API shows
 * it (JSON). Items expire (TTL) four days after receipt: past the three-day give-up, so a stream
 * that is still retrying never loses its backlog to the TTL.
 */
export const OUTBOX_TABLE = {
  id: 'Outbox',
  envVar: ENV.outboxTable,
  localName: 'trailkeeper-outbox',
  partitionKey: 'dest',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: {},
} as const satisfies TableDefinition;

export const TABLES = [
  EVENTS_TABLE,
  CONTROL_TABLE,
  OUTBOX_TABLE,
] as const satisfies readonly TableDefinition[];

/** Every key attribute in this project is a string. */
export const attributeType = (_name: string): AttributeType => 'S';
