/**
 * Access patterns of the control table by name: every key value of it is built here and nowhere
 * else (as shared/domain/keys.ts does for the events table). Everything of a tenant lives in its
 * partition `TENANT#<id>`, the sort key naming the record: `TENANT` (the tenant itself, which also
 * carries its retention job and seal state), `KEY#<key id>`, `EXPORT#<export id>`,
 * `DIGEST#<interval end>`, `EMAIL_QUOTA#<window>`, `SESSIONS_REVOKED` (and `SESSIONS_REVOKED#USER#<user id>`).
 * A viewer session's one-time code has its own partition, `SESSION_CODE#<SHA-256 of the code>`:
 * exchanging it names nothing but the code. Rate-limit counters have their own partition
 * per tenant (`RATE#<tenant>` / `W#<window>`), so their writes never share one with the tenant's
 * records. The action registry (which actions a tenant's events carry, for suggestions) has its own
 * partitions too, `ACTIONS#<tenant>` and `ACTIONS#<tenant>#TEAM#<team>` / `ACTION#<action>`, so the
 * functions that register actions can be granted exactly those items; so has the kind registry
 * (each event kind and each actor email of a tenant's events), `KINDS#<tenant>` / `KIND#<kind id>`
 * and `EMAIL#<email> <actor id>`. Two sparse indexes list tenants (`tenants`) and tenants with a pending or running
 * retention job (`activeJobs`).
 */
import { CONTROL_TABLE } from '../config/tables.ts';
import { KIND_FIELDS } from './kinds.ts';

const PK = CONTROL_TABLE.partitionKey;
const SK = CONTROL_TABLE.sortKey;
const ACTIVE_JOBS = CONTROL_TABLE.indexes.activeJobs;
const TENANTS = CONTROL_TABLE.indexes.tenants;

const TENANT_PREFIX = 'TENANT#';
/** Sort key of the tenant record in its partition. */
const TENANT_SK = 'TENANT';
/** Sort-key prefix of a tenant's API keys. */
export const API_KEY_SK_PREFIX = 'KEY#';
const EXPORT_SK_PREFIX = 'EXPORT#';
const DIGEST_SK_PREFIX = 'DIGEST#';
const EMAIL_QUOTA_SK_PREFIX = 'EMAIL_QUOTA#';

export interface ControlKey {
  pk: string;
  sk: string;
}

const key = (pk: string, sk: string): ControlKey => ({ [PK]: pk, [SK]: sk });

/** `TENANT#<id>`: the partition of everything a tenant has. */
export const tenantPartition = (tenantId: string): string => `${TENANT_PREFIX}${tenantId}`;

/** The tenant id of a tenant partition's key; null for any other partition. */
export const tenantIdOfPartition = (pk: string): string | null =>
  pk.startsWith(TENANT_PREFIX) ? pk.slice(TENANT_PREFIX.length) : null;

export const tenantKey = (tenantId: string): ControlKey => key(tenantPartition(tenantId), TENANT_SK);

export const apiKeyKey = (tenantId: string, keyId: string): ControlKey =>
  key(tenantPartition(tenantId), `${API_KEY_SK_PREFIX}${keyId}`);

export const exportKey = (tenantId: string, exportId: string): ControlKey =>
  key(tenantPartition(tenantId), `${EXPORT_SK_PREFIX}${exportId}`);

/** `DIGEST#<interval end>`: a tenant's digests sort by the end of their interval. */
export const digestSortKey = (intervalEnd: string): string => `${DIGEST_SK_PREFIX}${intervalEnd}`;

/** Above every digest's sort key (interval ends are ISO times). */
export const DIGEST_SK_LAST = `${DIGEST_SK_PREFIX}\uffff`;

export const digestKey = (tenantId: string, intervalEnd: string): ControlKey =>
  key(tenantPartition(tenantId), digestSortKey(intervalEnd));

/** One counter of notification emails per tenant and window (shared/domain/export.ts emailQuotaWindow). */
export const emailQuotaKey = (tenantId: string, window: string): ControlKey =>
  key(tenantPartition(tenantId), `${EMAIL_QUOTA_SK_PREFIX}${window}`);

/**
 * Leading characters of every session-code partition: the sessions function's DeleteItem grant is
 * pinned to them (infra/constructs/table-access.ts).
 */
export const SESSION_CODE_PARTITION_PREFIX = 'SESSION_CODE#';

/** The one-time code of a viewer session, by its hash (the code itself is never stored). */
export const sessionCodeKey = (codeHash: string): ControlKey =>
  key(`${SESSION_CODE_PARTITION_PREFIX}${codeHash}`, 'SESSION_CODE');

const SESSIONS_REVOKED_SK = 'SESSIONS_REVOKED';

/**
 * "Sessions issued until T are revoked": for the whole tenant (`userId` null), or for one person
 * of it (their id in the SaaS application).
 */
export const sessionRevocationKey = (tenantId: string, userId: string | null): ControlKey =>
  key(
    tenantPartition(tenantId),
    userId === null ? SESSIONS_REVOKED_SK : `${SESSIONS_REVOKED_SK}#USER#${userId}`,
  );

/**
 * Leading characters of every rate-counter partition: the authorizer's IAM grant may write only
 * items whose partition key starts with them (infra/constructs/table-access.ts).
 */
export const RATE_COUNTER_PARTITION_PREFIX = 'RATE#';

/** One request counter per tenant and one-second window (shared/domain/rate-limit.ts windowOf). */
export const rateCounterKey = (tenantId: string, window: number): ControlKey =>
  key(`${RATE_COUNTER_PARTITION_PREFIX}${tenantId}`, `W#${window}`);

/**
 * Leading characters of every action-registry partition: the grant of the functions that register
 * actions (ingest, query) is pinned to them (IAM `dynamodb:LeadingKeys`).
 */
export const ACTION_REGISTRY_PARTITION_PREFIX = 'ACTIONS#';

const ACTION_SK_PREFIX = 'ACTION#';

/**
 * The partition of a tenant's registered actions: the whole tenant's (`teamId` null), or one team's.
 * Matched exactly, never by prefix, so a team's partition never reads another's.
 */
export const actionRegistryPartition = (tenantId: string, teamId: string | null): string =>
  teamId === null
    ? `${ACTION_REGISTRY_PARTITION_PREFIX}${tenantId}`
    : `${ACTION_REGISTRY_PARTITION_PREFIX}${tenantId}#TEAM#${teamId}`;

/** One action seen in a tenant's events (`teamId` null) or in one team's. */
export const actionRegistryKey = (tenantId: string, teamId: string | null, action: string): ControlKey =>
  key(actionRegistryPartition(tenantId, teamId), `${ACTION_SK_PREFIX}${action}`);

/** Sort-key prefix of the registered actions that start with `actionPrefix` (empty: all of them). */
export const actionRegistrySortKeyPrefix = (actionPrefix: string): string =>
  `${ACTION_SK_PREFIX}${actionPrefix}`;

/**
 * Leading characters of every kind-registry partition: the grants of the functions that register
 * kinds (every appender) and that read them (the query planner's) are pinned to them (IAM
 * `dynamodb:LeadingKeys`). Distinct from ACTION_REGISTRY_PARTITION_PREFIX: neither grant reaches
 * the other's items.
 */
export const KIND_REGISTRY_PARTITION_PREFIX = 'KINDS#';

const KIND_SK_PREFIX = 'KIND#';
const ACTOR_EMAIL_SK_PREFIX = 'EMAIL#';

/**
 * The one partition of a tenant's kind registry: its kinds and its actor emails. Kinds are few
 * (low-cardinality fields together) and read whole by one Query of the `KIND#` range; emails are
 * many but each written once per container lifetime and read by an exact `EMAIL#<email> ` range.
 * A partition key with no LSI holds any number of items, and DynamoDB splits a busy one by sort key.
 */
export const kindRegistryPartition = (tenantId: string): string =>
  `${KIND_REGISTRY_PARTITION_PREFIX}${tenantId}`;

/** Sort-key prefix of every kind of a tenant's registry. */
export const KIND_REGISTRY_KIND_PREFIX = KIND_SK_PREFIX;

/** One kind of a tenant's events (`kindId`: shared/domain/kinds.ts kindId). */
export const kindRegistryKey = (tenantId: string, kindId: string): ControlKey =>
  key(kindRegistryPartition(tenantId), `${KIND_SK_PREFIX}${kindId}`);

/** The kind id of a kind item's sort key; null for any other item of the partition. */
export const kindIdOfSortKey = (sk: string): string | null =>
  sk.startsWith(KIND_SK_PREFIX) ? sk.slice(KIND_SK_PREFIX.length) : null;

/**
 * Sort-key prefix of the actor ids seen with one (lower-cased) email: `EMAIL#<email> `. The space
 * ends the email (a valid email holds none, shared/domain/event.ts), so `ada@x.io` never reads
 * `ada@x.io.uk`'s ids; actor ids may hold spaces, being last.
 */
export const actorEmailSortKeyPrefix = (email: string): string => `${ACTOR_EMAIL_SK_PREFIX}${email} `;

/** One (email, actor id) pair seen in a tenant's events. */
export const actorEmailKey = (tenantId: string, email: string, actorId: string): ControlKey =>
  key(kindRegistryPartition(tenantId), `${actorEmailSortKeyPrefix(email)}${actorId}`);

/** Attributes of kind-registry items besides their keys and, on a kind, its fields (KIND_FIELDS). */
export const KIND_REGISTRY_ITEM = {
  /** On a kind: about how many events it has had (grown by `ADD`). */
  count: 'count',
  /** On a kind and an email pair: when it was first registered. */
  firstSeenAt: 'first_seen_at',
  /** On an email pair: the lower-cased email and the actor id (also in its sort key). */
  email: 'email',
  actorId: 'actor_id',
} as const;

/**
 * Every attribute a kind registration may name: the IAM condition of the register grant
 * (infra/constructs/table-access.ts) lists exactly these.
 */
export const KIND_REGISTRY_ATTRIBUTES: readonly string[] = [
  PK,
  SK,
  ...KIND_FIELDS,
  ...Object.values(KIND_REGISTRY_ITEM),
];

/** Sort-key prefix of a tenant's streams (`STREAM#<stream id>`): the router lists them with begins_with. */
export const STREAM_SK_PREFIX = 'STREAM#';

/** A stream of a tenant (shared/adapters/stream-store.ts). */
export const streamKey = (tenantId: string, streamId: string): ControlKey =>
  key(tenantPartition(tenantId), `${STREAM_SK_PREFIX}${streamId}`);

/**
 * The attribute (and its one value) listing a stream in the control table's sparse `streams`
 * index (partition `entity_stream`, sort `id`), which the stream sweeper queries. Only stream
 * items carry it; the `tenants` index uses `entity`.
 */
export const STREAM_LISTING_ATTRIBUTE = 'entity_stream';
export const STREAM_ENTITY = 'stream';

/** The attributes that list a stream in the `streams` index. */
export const streamListing = (): Record<string, string> => ({ [STREAM_LISTING_ATTRIBUTE]: STREAM_ENTITY });

/** Sort-key prefix of a tenant's alert rules (their evaluation state lives on the same item). */
export const ALERT_SK_PREFIX = 'ALERT#';

/** An alert rule of a tenant (shared/adapters/alert-store.ts). */
export const alertKey = (tenantId: string, alertId: string): ControlKey =>
  key(tenantPartition(tenantId), `${ALERT_SK_PREFIX}${alertId}`);

/** The `tenants` index's one partition: every tenant record carries it. */
export const TENANT_ENTITY = 'tenant';

/** The attribute that lists a tenant record in the `tenants` index. */
export const tenantListing = (): Record<string, string> => ({ [TENANTS.partitionKey]: TENANT_ENTITY });

/** The `activeJobs` index's one partition: tenants with a pending or running retention job. */
export const RETENTION_QUEUE = 'retention';

/** The attributes that list a tenant in the `activeJobs` index, oldest request first. */
export const activeRetentionJobKey = (tenantId: string, requestedAt: string): Record<string, string> => ({
  [ACTIVE_JOBS.partitionKey]: RETENTION_QUEUE,
  [ACTIVE_JOBS.sortKey]: `${requestedAt}#${tenantId}`,
});

/** Key attributes of a control record (its table and index keys), never part of the record itself. */
export const CONTROL_KEY_ATTRIBUTES: readonly string[] = [
  PK,
  SK,
  ACTIVE_JOBS.partitionKey,
  ACTIVE_JOBS.sortKey,
  TENANTS.partitionKey,
];
