/**
 * Production wiring of the deployment secrets' two readers: the operator key (the authorizer)
 * and the cursor codec (the query function). Kept apart from wiring.ts and control-wiring.ts so
 * the bundles that read neither secret carry no Secrets Manager client: a client package is
 * bundled whole once imported, since its error registrations run at load.
 */
import { createHash } from 'node:crypto';
import { ENV } from '../config/env.ts';
import { CursorCodec } from '../domain/cursor.ts';
import { loadSecret, type SecretVersions } from './secrets.ts';

export const operatorKey = () => loadSecret(ENV.operatorKeySecretArn, ENV.operatorKey);

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
