/**
 * Production wiring of the event data path: the adapters the event Lambdas use, built once per
 * container from the environment (see ENV in shared/config/env.ts). The cursor codec, which
 * reads a secret, is in secret-wiring.ts.
 */
import { ENV } from '../config/env.ts';
import { createRedactor, parseKeyList } from '../domain/sanitize.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoEventStore } from './event-store.ts';

export const eventStore = () => new DynamoEventStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable));
export const redactor = () => createRedactor(parseKeyList(process.env[ENV.redactKeys]));
