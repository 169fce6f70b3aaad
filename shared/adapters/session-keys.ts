/**
 * The session-token key (ES256, P-256), its signers and the verifier. In AWS an asymmetric KMS key
 * of its own (ECC_NIST_P256, SIGN_VERIFY; infra/constructs/session-key.ts): only the sessions
 * function may sign, the authorizer may only read the public key. KMS signs the SHA-256 of the
 * JWS signing input (MessageType DIGEST: a team admin's token can exceed KMS's 4 KiB raw-message
 * limit) and answers DER, converted to JOSE's r || s. Locally a P-256 private key in a PEM file
 * under .data/ (node:crypto signs in the JOSE format directly).
 *
 * A token's `kid` names its key: the KMS key ARN, or `local:<SHA-256 of the public key>`. The
 * verifier accepts the current key and, during a rotation, the previous one
 * (ENV.sessionKeyPreviousId / ENV.sessionKeyPreviousFile), nothing else; jose checks the
 * signature with the algorithm pinned to ES256, then issuer, audience and times.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { errors as joseErrors, jwtVerify } from 'jose';
import { ENV } from '../config/env.ts';
import { isRole, SESSION_TOKEN } from '../domain/people.ts';
import { derToJoseSignature, SESSION_SIGNING, type SessionTokenClaims } from '../domain/session-token.ts';
import type { SessionSigner, SessionVerifier } from '../usecases/ports/sessions.ts';

/** Clock skew tolerated on `iat`/`exp` (SPEC: at most 30 s). */
export const SESSION_CLOCK_TOLERANCE_SECONDS = 5;

/** A public key the verifier accepts, by its `kid`. */
export interface SessionPublicKey {
  readonly kid: string;
  readonly key: KeyObject;
}

const assertP256 = (key: KeyObject, what: string): void => {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error(`${what} must be an ECDSA P-256 key`);
};

/** `local:` and the SHA-256 (hex) of the public key's SPKI DER. */
export const localKeyId = (publicKey: KeyObject): string =>
  `local:${createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')}`;

/** Signs with a P-256 private key held in memory (the local runtime's PEM file, tests). */
export class LocalSessionSigner implements SessionSigner {
  readonly publicKey: SessionPublicKey;

  constructor(private readonly privateKey: KeyObject) {
    assertP256(privateKey, 'the session key');
    const pub = createPublicKey(privateKey);
    this.publicKey = { kid: localKeyId(pub), key: pub };
  }

  static fromPem(pem: string): LocalSessionSigner {
    return new LocalSessionSigner(createPrivateKey(pem));
  }

  async keyId(): Promise<string> {
    return this.publicKey.kid;
  }

  async sign(signingInput: string): Promise<Uint8Array> {
    return sign('sha256', Buffer.from(signingInput, 'ascii'), {
      key: this.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
  }
}

/** The public key of a KMS key, with its ARN as `kid` (cached; a failure is retried next time). */
const kmsPublicKey = (kms: KMSClient, keyIdOrArn: string): (() => Promise<SessionPublicKey>) => {
  let cached: Promise<SessionPublicKey> | undefined;
  return () => {
    cached ??= kms.send(new GetPublicKeyCommand({ KeyId: keyIdOrArn })).then((out) => {
      if (out.PublicKey === undefined || out.KeyId === undefined)
        throw new Error('KMS returned no public key');
      if (out.KeySpec !== 'ECC_NIST_P256')
        throw new Error(`the session key is ${out.KeySpec}, not ECC_NIST_P256`);
      const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
      return { kid: out.KeyId, key };
    });
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
};

export class KmsSessionSigner implements SessionSigner {
  private readonly info: () => Promise<SessionPublicKey>;

  constructor(
    private readonly kms: KMSClient,
    keyIdOrArn: string,
  ) {
    this.info = kmsPublicKey(kms, keyIdOrArn);
  }

  async keyId(): Promise<string> {
    return (await this.info()).kid;
  }

  async sign(signingInput: string): Promise<Uint8Array> {
    const out = await this.kms.send(
      new SignCommand({
        KeyId: await this.keyId(),
        Message: createHash('sha256').update(signingInput, 'ascii').digest(),
        MessageType: SESSION_SIGNING.messageType,
        SigningAlgorithm: SESSION_SIGNING.algorithm,
      }),
    );
    if (out.Signature === undefined) throw new Error('KMS returned no signature');
    return derToJoseSignature(out.Signature);
  }
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The claims, when every claim a session token must carry is there with its type; else null. */
const sessionClaims = (payload: Record<string, unknown>): SessionTokenClaims | null => {
  const { sub, jti, tid, role, teams, email, name, iat, exp, iss, aud } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof tid !== 'string') return null;
  if (!isRole(role) || typeof iat !== 'number' || typeof exp !== 'number') return null;
  if (typeof iss !== 'string' || typeof aud !== 'string') return null;
  if (teams !== undefined && !isStringList(teams)) return null;
  if (role === 'team_admin' && (teams === undefined || teams.length === 0)) return null;
  if ((email !== undefined && typeof email !== 'string') || (name !== undefined && typeof name !== 'string'))
    return null;
  return {
    iss,
    aud,
    sub,
    jti,
    tid,
    role,
    ...(role === 'team_admin' && teams !== undefined ? { teams } : {}),
    ...(email === undefined ? {} : { email }),
    ...(name === undefined ? {} : { name }),
    iat,
    exp,
  };
};

class UnknownKeyError extends Error {}

/** Failures that mean "not a valid token" (anonymous), as opposed to a key that could not be read (503). */
const isTokenError = (error: unknown): boolean =>
  error instanceof joseErrors.JOSEError || error instanceof UnknownKeyError;

/**
 * Verifies session tokens against the keys `keys()` yields (current, previous). The algorithm is
 * pinned to ES256 (never `none`, HS* or RS*), and so is the key type: a public key is never
 * taken as an HMAC secret.
 */
export class JoseSessionVerifier implements SessionVerifier {
  constructor(
    private readonly keys: () => Promise<readonly SessionPublicKey[]>,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async verify(token: string): Promise<SessionTokenClaims | null> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const match = (await this.keys()).find((candidate) => candidate.kid === header.kid);
          if (header.kid === undefined || match === undefined) throw new UnknownKeyError('unknown kid');
          return match.key;
        },
        {
          algorithms: [SESSION_TOKEN.algorithm],
          issuer: SESSION_TOKEN.issuer,
          audience: SESSION_TOKEN.audience,
          clockTolerance: SESSION_CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['iat', 'exp', 'sub', 'jti'],
          currentDate: new Date(this.now()),
        },
      );
      const claims = sessionClaims(payload as Record<string, unknown>);
      // jose checks `exp`; a token issued in the future (or ending before it began) is no session of ours.
      if (claims === null || claims.iat > this.now() / 1000 + SESSION_CLOCK_TOLERANCE_SECONDS) return null;
      return claims.exp > claims.iat ? claims : null;
    } catch (error) {
      if (isTokenError(error)) return null;
      throw error;
    }
  }
}

const publicKeyFromPem = async (path: string): Promise<SessionPublicKey> => {
  const pem = await readFile(path, 'utf8');
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  assertP256(key, `the session key in ${path}`);
  return { kid: localKeyId(key), key };
};

const memo = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load();
    value.catch(() => {
      value = undefined;
    });
    return value;
  };
};

let kmsClient: KMSClient | undefined;
const kms = (): KMSClient => {
  kmsClient ??= new KMSClient({});
  return kmsClient;
};

const configured = (name: string): string | undefined => {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
};

/** The signer: KMS when ENV.sessionKeyId is set (AWS), else the PEM file of ENV.sessionKeyFile (local). */
export const sessionSignerFromEnv = memo(async (): Promise<SessionSigner> => {
  const keyId = configured(ENV.sessionKeyId);
  if (keyId) return new KmsSessionSigner(kms(), keyId);
  const file = configured(ENV.sessionKeyFile);
  if (!file) throw new Error(`neither ${ENV.sessionKeyId} nor ${ENV.sessionKeyFile} is set`);
  return LocalSessionSigner.fromPem(await readFile(file, 'utf8'));
});

/**
 * The verifier of the environment's keys: the current one and the previous one during a rotation
 * (KMS key ids in AWS, PEM files locally). Null when no session key is configured: session
 * tokens are then simply not accepted.
 */
export const sessionVerifierFromEnv = (): SessionVerifier | null => {
  const ids = [configured(ENV.sessionKeyId), configured(ENV.sessionKeyPreviousId)].filter(
    (id): id is string => id !== undefined,
  );
  const files = [configured(ENV.sessionKeyFile), configured(ENV.sessionKeyPreviousFile)].filter(
    (file): file is string => file !== undefined,
  );
  const loaders =
    ids.length > 0
      ? ids.map((id) => kmsPublicKey(kms(), id))
      : files.map((file) => memo(() => publicKeyFromPem(file)));
  if (loaders.length === 0) return null;
  return new JoseSessionVerifier(() => currentAndPrevious(loaders));
};

/**
 * The current key (its failure is the caller's: 503, retried) and the previous one when it can be
 * read (a previous key that is gone only stops its own, old tokens).
 */
const currentAndPrevious = async (
  loaders: readonly (() => Promise<SessionPublicKey>)[],
): Promise<SessionPublicKey[]> => {
  const [current, ...previous] = loaders;
  if (current === undefined) return [];
  const settled = await Promise.allSettled(previous.map((load) => load()));
  return [
    await current(),
    ...settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
  ];
};
