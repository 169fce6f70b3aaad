/**
 * Production wiring of the event data path: the adapters the event Lambdas use, built once per
 * container from the environment (see ENV in shared/config/env.ts). The cursor codec, which
 * reads a secret, is in secret-wiring.ts.
 */
import { ENV } from '../config/env.ts';
import { createRedactor, parseKeyList } from '../domain/sanitize.ts';
import type { EventStore } from '../usecases/ports/events.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoEventStore } from './event-store.ts';
import { kindRegisteringStore } from './kind-wiring.ts';

export { kindRegistry } from './kind-wiring.ts';

let events: EventStore | undefined;

/**
 * The events table's store, one per container, registering the kinds and actor emails of what it
 * appends before storing it (shared/usecases/kinds.ts): the query planner finds events through
 * that registry, so no function may append around it.
 */
export const eventStore = (): EventStore => {
  events ??= kindRegisteringStore(new DynamoEventStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable)));
  return events;
};
export const redactor = () => createRedactor(parseKeyList(process.env[ENV.redactKeys]));
