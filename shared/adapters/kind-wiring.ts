/**
 * Production wiring of the kind registry, built once per container from the environment: the
 * registry itself (read by the query planner: `GET /v1/events`, exports) and the wrapping that
 * registers every appended event's kind and actor email in it before the event is stored
 * (shared/usecases/kinds.ts withKindRegistry). shared/adapters/wiring.ts `eventStore()` applies the
 * wrapping once per container, so every function's appends go through it and its memo lives as
 * long as the container.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ENV } from '../config/env.ts';
import { SERVICE_NAME } from '../config/observability.ts';
import { withKindRegistry } from '../usecases/kinds.ts';
import type { EventStore } from '../usecases/ports/events.ts';
import type { KindRegistry } from '../usecases/ports/kinds.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoKindRegistry } from './kind-registry.ts';

let registry: KindRegistry | undefined;

/** The control table's kind registry (one per container). */
export const kindRegistry = (): KindRegistry => {
  registry ??= new DynamoKindRegistry(dynamoDocumentClient(), requiredEnv(ENV.controlTable));
  return registry;
};

const logger = new Logger({ serviceName: SERVICE_NAME });

/** `store`, registering the kinds and actor emails of what it appends first. Call once per container. */
export const kindRegisteringStore = (store: EventStore): EventStore =>
  withKindRegistry(store, kindRegistry(), {
    // The error's name only: never the event. Counts are estimates; the append already succeeded.
    onCountError: (error) =>
      logger.warn('kind count flush failed', { error: error instanceof Error ? error.name : 'unknown' }),
  });
