/**
 * Least-privilege DynamoDB grants, derived from the `events` / `control` fields of a
 * manifest entry (shared/config/manifest.ts). The events table is append-only: no grant here
 * includes DeleteItem, BatchWriteItem or PartiQL writes on it, which is why the events grants are
 * explicit action lists rather than `grantWriteData` / `grantReadData` (those bundle
 * BatchWriteItem, UpdateItem, DeleteItem and Scan).
 *
 * The one update grant on events is `retime` (the retention backfill): UpdateItem restricted by
 * IAM's `dynamodb:Attributes` condition to the key and the TTL attribute, AWS's documented pattern
 * for write access to specific attributes (the key attribute must be listed or no request
 * matches). DynamoDB refuses a request that accesses any other attribute (so the handler's update
 * and condition expressions name only these two) or asks for ALL_OLD/ALL_NEW return values. So
 * the role can move an event's expiry and nothing else, and that cannot alter an event: the
 * event's stored hash covers every attribute but `expires_at`, and the archiver counts a MODIFY
 * that changes only `expires_at` as a re-timing and any other as tampering.
 */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ControlAccess, EventsAccess } from '#shared/config/manifest.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';
import {
  ACTION_REGISTRY_PARTITION_PREFIX,
  KIND_REGISTRY_ATTRIBUTES,
  KIND_REGISTRY_PARTITION_PREFIX,
  RATE_COUNTER_PARTITION_PREFIX,
  SESSION_CODE_PARTITION_PREFIX,
} from '#shared/domain/control-keys.ts';

interface TableActions {
  /** Actions on the table ARN itself. */
  readonly table: readonly string[];
  /** IAM conditions on the table statement (absent = none). */
  readonly tableConditions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Actions on the table's indexes (only Query reads an index). */
  readonly indexes: readonly string[];
  /** The indexes `indexes` applies to (absent = every index of the table). */
  readonly onlyIndexes?: readonly string[];
}

/** Conditional PutItem for idempotent ingest; ConditionCheckItem for transactions that guard it. */
const APPEND: TableActions = {
  table: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'],
  indexes: [],
};

/** Reads by key and by index. No Scan: every access pattern is a keyed query. */
const READ: TableActions = {
  table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'],
  indexes: ['dynamodb:Query'],
};

const union = (...sets: TableActions[]): TableActions => ({
  table: [...new Set(sets.flatMap((set) => set.table))],
  indexes: [...new Set(sets.flatMap((set) => set.indexes))],
});

const NONE: TableActions = { table: [], indexes: [] };

/**
 * The conditions of the retention backfill's UpdateItem: only the partition key (it must be
 * listed: every UpdateItem names it) and the TTL attribute; and no return values that would
 * read back other attributes.
 */
export const RETIME_UPDATE_CONDITIONS = {
  'ForAllValues:StringEquals': {
    'dynamodb:Attributes': [EVENTS_TABLE.partitionKey, EVENTS_TABLE.ttlAttribute],
  },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
} as const;

/** Walk a tenant's events by time (the byTenantTime index) and move each one's expiry. */
const RETIME: TableActions = {
  table: ['dynamodb:UpdateItem'],
  tableConditions: RETIME_UPDATE_CONDITIONS,
  indexes: ['dynamodb:Query'],
  onlyIndexes: [EVENTS_TABLE.indexes.byTenantTime.name],
};

export const EVENTS_ACTIONS: Readonly<Record<EventsAccess, TableActions>> = {
  none: NONE,
  append: APPEND,
  read: READ,
  'read-append': union(READ, APPEND),
  retime: RETIME,
};

/** The authorizer's view of the control table: key lookups only. */
const CONTROL_READ: TableActions = {
  table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'],
  indexes: ['dynamodb:Query'],
};

/**
 * Tenants, keys, export and retention jobs are mutable records (revocation, plan changes,
 * checkpoints): full item access. Listed rather than `grantReadWriteData`, which adds Scan, stream
 * reads and an `index/*` wildcard; indexes are granted Query by name like everywhere else.
 */
const CONTROL_READ_WRITE: TableActions = union(CONTROL_READ, {
  table: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
  ],
  indexes: [],
});

export interface GrantableTable {
  readonly table: ITableV2;
  readonly indexNames: readonly string[];
}

const grantActions = (grantee: IGrantable, target: GrantableTable, actions: TableActions): void => {
  if (actions.table.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions.table],
      resourceArns: [target.table.tableArn],
      ...(actions.tableConditions
        ? { conditions: actions.tableConditions as Record<string, Record<string, unknown>> }
        : {}),
    });
  }
  // One ARN per named index rather than `index/*`: a new index is a deploy anyway, and it keeps
  // the policy free of wildcards.
  const indexNames = actions.onlyIndexes ?? target.indexNames;
  const unknown = indexNames.filter((name) => !target.indexNames.includes(name));
  if (unknown.length > 0) throw new Error(`no index ${unknown.join(', ')} on ${target.table.node.path}`);
  if (actions.indexes.length > 0 && indexNames.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions.indexes],
      resourceArns: indexNames.map((name) => `${target.table.tableArn}/index/${name}`),
    });
  }
};

export const grantEventsAccess = (grantee: IGrantable, events: GrantableTable, access: EventsAccess): void =>
  grantActions(grantee, events, EVENTS_ACTIONS[access]);

export const grantControlAccess = (
  grantee: IGrantable,
  control: GrantableTable,
  access: ControlAccess,
): void => {
  switch (access) {
    case 'none':
      return;
    case 'read':
      grantActions(grantee, control, CONTROL_READ);
      return;
    case 'read-write':
      grantActions(grantee, control, CONTROL_READ_WRITE);
      return;
  }
};

/**
 * The per-tenant request counters of the rate limit (shared/adapters/rate-counter-store.ts: one
 * control-table item per tenant and second, `RATE#<tenant>` / `W#<window>`, ADD count, set TTL):
 * UpdateItem only on items whose partition key starts with RATE_COUNTER_PARTITION_PREFIX (IAM
 * `dynamodb:LeadingKeys`), naming only the keys, the counter and the TTL attribute. So the
 * authorizer, which otherwise only reads tenants and keys, can count requests but change no
 * tenant, key or job.
 */
export const RATE_COUNTER_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RATE_COUNTER_PARTITION_PREFIX}*`] },
  'ForAllValues:StringEquals': {
    'dynamodb:Attributes': [
      CONTROL_TABLE.partitionKey,
      CONTROL_TABLE.sortKey,
      'count',
      CONTROL_TABLE.ttlAttribute,
    ],
  },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_NEW'] },
} as const;

export const grantRateCounters = (grantee: IGrantable, control: GrantableTable): void => {
  Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:UpdateItem'],
    resourceArns: [control.table.tableArn],
    conditions: RATE_COUNTER_CONDITIONS as Record<string, Record<string, unknown>>,
  });
};

/**
 * The code exchange's one write (shared/adapters/session-store.ts consumeCode: a conditional
 * DeleteItem returning the old item): DeleteItem only on items whose partition key starts with
 * SESSION_CODE_PARTITION_PREFIX. So the public sessions function, which otherwise only reads,
 * can take a code but change or delete no tenant, key, export or revocation.
 */
export const SESSION_CODE_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${SESSION_CODE_PARTITION_PREFIX}*`] },
} as const;

export const grantSessionCodeConsumption = (grantee: IGrantable, control: GrantableTable): void => {
  Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:DeleteItem'],
    resourceArns: [control.table.tableArn],
    conditions: SESSION_CODE_CONDITIONS as unknown as Record<string, Record<string, unknown>>,
  });
};

/**
 * The action registry's writes (shared/adapters/action-registry.ts: the first time a tenant's, or
 * a tenant's team's, action is seen, a create-only PutItem under `ACTIONS#…`): PutItem only on
 * items whose partition key starts with ACTION_REGISTRY_PARTITION_PREFIX, naming only the keys,
 * the action and when it was first seen. So ingest and query, which otherwise never touch the
 * control table, can register actions but read or change no tenant, key, job or session.
 */
export const ACTION_REGISTRY_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${ACTION_REGISTRY_PARTITION_PREFIX}*`] },
  'ForAllValues:StringEquals': {
    'dynamodb:Attributes': [CONTROL_TABLE.partitionKey, CONTROL_TABLE.sortKey, 'action', 'first_seen_at'],
  },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE'] },
} as const;

export const grantActionRegistration = (grantee: IGrantable, control: GrantableTable): void => {
  Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:PutItem'],
    resourceArns: [control.table.tableArn],
    conditions: ACTION_REGISTRY_CONDITIONS as unknown as Record<string, Record<string, unknown>>,
  });
};

/** Listing the registry (the suggestions route): Query only, on `ACTIONS#` partitions only. */
export const ACTION_LISTING_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${ACTION_REGISTRY_PARTITION_PREFIX}*`] },
} as const;

export const grantActionListing = (grantee: IGrantable, control: GrantableTable): void => {
  Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:Query'],
    resourceArns: [control.table.tableArn],
    conditions: ACTION_LISTING_CONDITIONS as unknown as Record<string, Record<string, unknown>>,
  });
};

/**
 * The kind registry's writes (shared/adapters/kind-registry.ts: before an event of a new kind or
 * a new actor email is stored, one UpdateItem per entry under `KINDS#<tenant>`, and the periodic
 * count updates): UpdateItem only on items whose partition key starts with
 * KIND_REGISTRY_PARTITION_PREFIX, naming only the keys, the kind fields, the count, the first-seen
 * time and the email pair's attributes, returning nothing. The adapter never puts or deletes, so
 * neither is granted: every appending function can register kinds but read or change no tenant,
 * key, job, session or action.
 */
export const KIND_REGISTRY_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${KIND_REGISTRY_PARTITION_PREFIX}*`] },
  'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...KIND_REGISTRY_ATTRIBUTES] },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE'] },
} as const;

export const grantKindRegistration = (grantee: IGrantable, control: GrantableTable): void => {
  Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:UpdateItem'],
    resourceArns: [control.table.tableArn],
    conditions: KIND_REGISTRY_CONDITIONS as unknown as Record<string, Record<string, unknown>>,
  });
};

/** Reading the registry (the query planner): Query only, on `KINDS#` partitions only. */
export const KIND_READING_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${KIND_REGISTRY_PARTITION_PREFIX}*`] },
} as const;

export const grantKindReading = (grantee: IGrantable, control: GrantableTable): void => {
  Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:Query'],
    resourceArns: [control.table.tableArn],
    conditions: KIND_READING_CONDITIONS as unknown as Record<string, Record<string, unknown>>,
  });
};
