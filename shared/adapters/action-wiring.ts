/**
 * Production wiring of the action registry, built once per container from the environment: the
 * registry itself (read by `GET /v1/actions`) and the event store that registers every appended
 * event's action in it (shared/usecases/actions.ts withActionRegistry). The registering store is a
 * module-scope singleton so its memo of registered actions lives as long as the container.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ENV } from '../config/env.ts';
import { SERVICE_NAME } from '../config/observability.ts';
import { withActionRegistry } from '../usecases/actions.ts';
import type { EventStore } from '../usecases/ports/events.ts';
import { DynamoActionRegistry } from './action-registry.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { eventStore } from './wiring.ts';

export const actionRegistry = () =>
  new DynamoActionRegistry(dynamoDocumentClient(), requiredEnv(ENV.controlTable));

const logger = new Logger({ serviceName: SERVICE_NAME });

let registering: EventStore | undefined;

/**
 * The events table's store, registering the actions of what it appends (after it is stored) —
 * around eventStore(), which registers its kinds (before).
 */
export const registeringEventStore = (): EventStore => {
  registering ??= withActionRegistry(eventStore(), actionRegistry(), {
    // Ids and the error's name only: never the event.
    onError: (error) =>
      logger.warn('action registration failed', { error: error instanceof Error ? error.name : 'unknown' }),
  });
  return registering;
};
