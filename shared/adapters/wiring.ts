/**
 * Production wiring of the event data path: the adapters the event Lambdas use, built once per
 * container from the environment (see ENV in shared/config/env.ts).
 */
import { createHash } from 'node:crypto';
import { ENV } from '../config/env.ts';
import { CursorCodec } from '../domain/cursor.ts';
import { createRedactor, parseKeyList } from '../domain/sanitize.ts';
import type { EventStore } from '../usecases/ports/events.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoEventStore } from './event-store.ts';
import { kindRegisteringStore } from './kind-wiring.ts';
import { loadSecret, type SecretVersions } from './secrets.ts';

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

const stretch = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

let codec: { versions: SecretVersions; codec: CursorCodec } | undefined;
/**
 * The cursor key is whatever the secret holds, stretched to 32 bytes with SHA-256. Cursors are
 * made with the current value and opened with the current or, during a rotation, the previous
 * one; the codec is rebuilt whenever the secret cache hands out new versions.
 */
export const cursorCodec = async (): Promise<CursorCodec> => {
  const versions = await loadSecret(ENV.cursorKeySecretArn, ENV.cursorKey);
  if (codec?.versions !== versions) {
    const previous = versions.previous === null ? [] : [stretch(versions.previous)];
    codec = { versions, codec: new CursorCodec(stretch(versions.current), previous) };
  }
  return codec.codec;
};
