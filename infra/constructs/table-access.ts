/**
 * Least-privilege DynamoDB grants, derived from the `events` / `control` fields of a
 * FunctionDefinition (shared/config/routes.ts). The events table is append-only: no grant here
 * ever includes UpdateItem, DeleteItem, BatchWriteItem or PartiQL writes on it, which is why the
 * events grants are explicit action lists rather than `grantWriteData` / `grantReadData` (those
 * bundle BatchWriteItem, UpdateItem, DeleteItem and Scan).
 */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ControlAccess, EventsAccess } from '#shared/config/routes.ts';

interface TableActions {
  /** Actions on the table ARN itself. */
  readonly table: readonly string[];
  /** Actions on each of the table's indexes (only Query reads an index). */
  readonly indexes: readonly string[];
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

export const EVENTS_ACTIONS: Readonly<Record<EventsAccess, TableActions>> = {
  none: NONE,
  append: APPEND,
  read: READ,
  'read-append': union(READ, APPEND),
};

/** The authorizer's view of the control table: key lookups only. */
const CONTROL_READ: TableActions = {
  table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'],
  indexes: ['dynamodb:Query'],
};

export interface GrantableTable {
  readonly table: ITableV2;
  readonly indexNames: readonly string[];
}

const grantActions = (grantee: IGrantable, target: GrantableTable, actions: TableActions): void => {
  if (actions.table.length > 0) {
    Grant.addToPrincipal({ grantee, actions: [...actions.table], resourceArns: [target.table.tableArn] });
  }
  // One ARN per named index rather than `index/*`: a new index is a deploy anyway, and it keeps
  // the policy free of wildcards.
  if (actions.indexes.length > 0 && target.indexNames.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions.indexes],
      resourceArns: target.indexNames.map((name) => `${target.table.tableArn}/index/${name}`),
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
      // Tenants and keys are mutable records (revocation, plan changes): full data access is intended.
      control.table.grantReadWriteData(grantee);
      return;
  }
};
