/**
 * Production wiring of the event data path: the adapters the event Lambdas use, built once per
 * container from the environment (see ENV in shared/config/routes.ts).
 */
import { createHash } from 'node:crypto';
import { ENV } from '../config/routes.ts';
import { CursorCodec } from '../domain/cursor.ts';
import { createRedactor, parseKeyList } from '../domain/sanitize.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoEventStore } from './event-store.ts';
import { loadSecret } from './secrets.ts';

export const eventStore = () => new DynamoEventStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable));
export const redactor = () => createRedactor(parseKeyList(process.env[ENV.redactKeys]));

let codec: Promise<CursorCodec> | undefined;
/** The cursor key is whatever the secret holds, stretched to 32 bytes with SHA-256. */
export const cursorCodec = (): Promise<CursorCodec> => {
  codec ??= loadSecret(ENV.cursorKeySecretArn, ENV.cursorKey).then(
    (secret) => new CursorCodec(createHash('sha256').update(secret, 'utf8').digest()),
  );
  codec.catch(() => {
    codec = undefined;
  });
  return codec;
};
