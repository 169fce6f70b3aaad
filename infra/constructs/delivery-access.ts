/**
 * Least-privilege grants and environment for the stream delivery resources (Deliveries
 * construct), derived from the `outbox` / `deliveryQueue` / `destinationKey` / `destinations`
 * fields of a FunctionDefinition (shared/config/manifest.ts). Explicit action lists: the outbox
 * router may only put, the sweeper only query, the deliverer query, put and delete; KMS Encrypt
 * and Decrypt are separate grants, so only the functions that open secrets can read them.
 *
 * TRAILKEEPER_ALLOW_HTTP_LOOPBACK is never set here (or anywhere in the stack): the loopback
 * exception is the local runtime's alone (test/infra/deliveries.test.ts proves it).
 */

import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { ENV } from '#shared/config/env.ts';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { DELIVERY_QUEUE } from '#shared/config/storage.ts';
import { OUTBOX_TABLE } from '#shared/config/tables.ts';

export interface DeliveryResources {
  readonly outbox: ITableV2;
  readonly queue: IQueue;
  readonly destinationKey: IKey;
  /** TRAILKEEPER_PRIVATE_DESTINATIONS (the operator's allow-list), '' for none. */
  readonly privateDestinations: string;
}

export const OUTBOX_ACTIONS: Readonly<Record<NonNullable<FunctionDefinition['outbox']>, readonly string[]>> =
  {
    write: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
    read: ['dynamodb:Query'],
    'read-write': ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  };

export const DESTINATION_KEY_ACTIONS: Readonly<
  Record<NonNullable<FunctionDefinition['destinationKey']>, readonly string[]>
> = {
  seal: ['kms:Encrypt'],
  open: ['kms:Decrypt'],
  'seal-open': ['kms:Encrypt', 'kms:Decrypt'],
};

export const grantDeliveryAccess = (
  grantee: IRole,
  deliveries: DeliveryResources,
  definition: FunctionDefinition,
): void => {
  if (definition.outbox) {
    Grant.addToPrincipal({
      grantee,
      actions: [...OUTBOX_ACTIONS[definition.outbox]],
      resourceArns: [deliveries.outbox.tableArn],
    });
  }
  // The consumer's Receive/Delete/ChangeVisibility come from its SqsEventSource.
  if (definition.deliveryQueue) {
    Grant.addToPrincipal({
      grantee,
      actions: ['sqs:SendMessage'],
      resourceArns: [deliveries.queue.queueArn],
    });
  }
  if (definition.destinationKey) {
    Grant.addToPrincipal({
      grantee,
      actions: [...DESTINATION_KEY_ACTIONS[definition.destinationKey]],
      resourceArns: [deliveries.destinationKey.keyArn],
    });
  }
};

/** The variables through which a function finds the delivery resources its definition asks for. */
export const deliveryEnvironment = (
  deliveries: DeliveryResources,
  definition: FunctionDefinition,
): Record<string, string> => ({
  ...(definition.outbox ? { [OUTBOX_TABLE.envVar]: deliveries.outbox.tableName } : {}),
  ...(definition.deliveryQueue ? { [DELIVERY_QUEUE.envVar]: deliveries.queue.queueUrl } : {}),
  ...(definition.destinationKey ? { [ENV.destinationKeyId]: deliveries.destinationKey.keyArn } : {}),
  ...(definition.destinations && deliveries.privateDestinations !== ''
    ? { [ENV.privateDestinations]: deliveries.privateDestinations }
    : {}),
});
