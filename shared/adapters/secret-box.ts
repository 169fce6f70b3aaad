/**
 * Sealing destination secrets (shared/usecases/ports/secret-box.ts).
 *
 * In AWS, KmsSecretBox: direct KMS `Encrypt`/`Decrypt` under a symmetric key
 * (SYMMETRIC_DEFAULT), the context passed as the EncryptionContext. Direct rather than envelope
 * encryption because the secrets are small (signing secrets, API tokens and webhook URLs of well
 * under KMS's 4 KiB plaintext limit, which seal() enforces), and because then no data key ever
 * exists outside KMS: the ciphertext opens only through a KMS call that IAM grants, CloudTrail
 * records and the context must match. Envelope encryption would save KMS calls only for bulk
 * data; a destination's secret is sealed once and opened by the delivery worker once per
 * container (it may cache the plaintext in memory), so the request cost is negligible. Decrypt
 * names the KeyId too, so a ciphertext of another key is refused rather than opened with it.
 *
 * Locally, LocalSecretBox: AES-256-GCM with a random 96-bit IV, the canonical JSON (RFC 8785,
 * keys sorted) of the context as AAD, and a 32-byte key file created once (0600) under the data
 * directory, the way the digest signing key is (ensureSigningKeyFile in signer.ts).
 *
 * Sealed strings are versioned by prefix: `kms1:<base64 KMS ciphertext blob>` and
 * `local1:<base64 iv | tag | ciphertext>`. Nothing here logs: plaintexts and sealed strings never
 * appear in an error message either.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import canonicalize from 'canonicalize';
import { ENV } from '../config/env.ts';
import {
  MAX_SECRET_BYTES,
  SECRET_CONTEXT_KEYS,
  SECRET_PURPOSES,
  type SecretBox,
  SecretRefusedError,
} from '../usecases/ports/secret-box.ts';

/** The KMS key (id, ARN or alias) sealing destination secrets in AWS. */
export const DESTINATION_KEY_ID_ENV = ENV.destinationKeyId;
/** The local key file (32 bytes, 0600) sealing destination secrets without AWS. */
export const DESTINATION_KEY_FILE_ENV = ENV.destinationKeyFile;

export const KMS_PREFIX = 'kms1:';
export const LOCAL_PREFIX = 'local1:';

const LOCAL_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Context = Readonly<Record<string, string>>;

/** Refuses (as a programming error) a context that does not bind tenant, destination and purpose. */
const checkContext = (context: Context): void => {
  for (const key of SECRET_CONTEXT_KEYS) {
    const value = context[key];
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`a secret context must carry ${SECRET_CONTEXT_KEYS.join(', ')}`);
  }
  if (!(SECRET_PURPOSES as readonly string[]).includes(context.purpose ?? ''))
    throw new TypeError(`a secret's purpose must be one of ${SECRET_PURPOSES.join(', ')}`);
  for (const value of Object.values(context))
    if (typeof value !== 'string') throw new TypeError('a secret context holds strings only');
};

const plaintextBytes = (plaintext: string): Buffer => {
  const bytes = Buffer.from(plaintext, 'utf8');
  if (bytes.length === 0) throw new RangeError('a secret must not be empty');
  if (bytes.length > MAX_SECRET_BYTES)
    throw new RangeError(`a secret must be at most ${MAX_SECRET_BYTES} bytes (UTF-8)`);
  return bytes;
};

/** The bytes after `prefix`, strictly base64; refused when the prefix or encoding is wrong. */
const payloadOf = (sealed: string, prefix: string): Buffer => {
  if (!sealed.startsWith(prefix)) throw new SecretRefusedError(`it is not a ${prefix.slice(0, -1)} secret`);
  const body = sealed.slice(prefix.length);
  if (body === '' || !BASE64.test(body)) throw new SecretRefusedError('it is not base64');
  return Buffer.from(body, 'base64');
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

const isRefusal = (error: unknown): boolean =>
  error instanceof Error &&
  (error.name === 'InvalidCiphertextException' || error.name === 'IncorrectKeyException');

export class KmsSecretBox implements SecretBox {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async seal(plaintext: string, context: Context): Promise<string> {
    checkContext(context);
    const out = await this.kms.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: plaintextBytes(plaintext),
        EncryptionContext: { ...context },
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      }),
    );
    if (out.CiphertextBlob === undefined) throw new Error('KMS returned no ciphertext');
    return `${KMS_PREFIX}${Buffer.from(out.CiphertextBlob).toString('base64')}`;
  }

  async open(sealed: string, context: Context): Promise<string> {
    checkContext(context);
    const blob = payloadOf(sealed, KMS_PREFIX);
    let plaintext: Uint8Array | undefined;
    try {
      ({ Plaintext: plaintext } = await this.kms.send(
        new DecryptCommand({
          KeyId: this.keyId,
          CiphertextBlob: blob,
          EncryptionContext: { ...context },
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        }),
      ));
    } catch (error) {
      // KMS answers one way for a tampered blob, another key and another context, by design.
      if (isRefusal(error))
        throw new SecretRefusedError('KMS could not decrypt it with this key and context');
      throw error;
    }
    if (plaintext === undefined) throw new Error('KMS returned no plaintext');
    return utf8.decode(plaintext);
  }
}

export class LocalSecretBox implements SecretBox {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== LOCAL_KEY_BYTES)
      throw new RangeError(`the local secret key must be ${LOCAL_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
  }

  /** The box of a key file made by ensureSecretBoxKeyFile; refused if others may read the file. */
  static async fromFile(path: string): Promise<LocalSecretBox> {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0)
      throw new Error(`the secret key file ${path} must be readable by its owner only (chmod 600)`);
    return new LocalSecretBox(await readFile(path));
  }

  async seal(plaintext: string, context: Context): Promise<string> {
    checkContext(context);
    const bytes = plaintextBytes(plaintext);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(context));
    const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
    return `${LOCAL_PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  async open(sealed: string, context: Context): Promise<string> {
    checkContext(context);
    const payload = payloadOf(sealed, LOCAL_PREFIX);
    if (payload.length <= IV_BYTES + TAG_BYTES) throw new SecretRefusedError('it is too short');
    const iv = payload.subarray(0, IV_BYTES);
    const tag = payload.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(context));
    decipher.setAuthTag(tag);
    try {
      const plaintext = Buffer.concat([
        decipher.update(payload.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
      return utf8.decode(plaintext);
    } catch {
      throw new SecretRefusedError('it does not authenticate with this key and context');
    }
  }
}

/** The additional authenticated data: the context as RFC 8785 canonical JSON (keys sorted). */
const aad = (context: Context): Buffer => Buffer.from(canonicalize({ ...context }) ?? '{}', 'utf8');

/** Writes a new random 32-byte key file (0600) unless one exists; returns its path. */
export const ensureSecretBoxKeyFile = async (path: string): Promise<string> => {
  try {
    await writeFile(path, randomBytes(LOCAL_KEY_BYTES), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return path;
};

const configured = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

/**
 * The box an environment names: KMS when DESTINATION_KEY_ID_ENV is set (AWS), else the key file of
 * DESTINATION_KEY_FILE_ENV (local). `kms` is the client to use (tests); by default one per container.
 */
export const secretBoxFrom = async (env: NodeJS.ProcessEnv, kms?: KMSClient): Promise<SecretBox> => {
  const keyId = configured(env, DESTINATION_KEY_ID_ENV);
  if (keyId) return new KmsSecretBox(kms ?? kmsClient(), keyId);
  const file = configured(env, DESTINATION_KEY_FILE_ENV);
  if (!file) throw new Error(`neither ${DESTINATION_KEY_ID_ENV} nor ${DESTINATION_KEY_FILE_ENV} is set`);
  return LocalSecretBox.fromFile(file);
};

let client: KMSClient | undefined;
const kmsClient = (): KMSClient => {
  client ??= new KMSClient({});
  return client;
};

let box: Promise<SecretBox> | undefined;

/** The process environment's box, made once per container (a failure is retried next time). */
export const secretBoxFromEnv = (): Promise<SecretBox> => {
  box ??= secretBoxFrom(process.env);
  box.catch(() => {
    box = undefined;
  });
  return box;
};
