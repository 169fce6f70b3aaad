/**
 * Viewer sessions, the pure part: the one-time code (its hash is all the store keeps), the
 * session JWT's header and claims, the compact JWS a signer fills in, the DER → JOSE signature
 * conversion a KMS signature needs, and the revocation rule. No I/O, no AWS types; verification
 * itself is shared/adapters/session-keys.ts (jose, algorithm pinned).
 */
import { createHash, randomBytes } from 'node:crypto';
import { base64url } from 'jose';
import { monotonicFactory } from 'ulid';
import type { PersonIdentity, Role, SessionClaims } from './people.ts';
import { SESSION_TOKEN } from './people.ts';

const ulid = monotonicFactory();

/**
 * The only KMS signing request the sessions function makes (its IAM grant is pinned to it): ECDSA
 * over the SHA-256 of the JWS signing input, sent as a DIGEST (a team admin's token can exceed
 * KMS's 4 KiB raw-message limit).
 */
export const SESSION_SIGNING = { algorithm: 'ECDSA_SHA_256', messageType: 'DIGEST' } as const;

/** A new one-time code: 256 random bits, base64url (43 characters). */
export const newSessionCode = (): string => randomBytes(32).toString('base64url');

/** What the store keys a code by: its SHA-256 (hex). The code itself is never stored. */
export const hashSessionCode = (code: string): string =>
  createHash('sha256').update(code, 'utf8').digest('hex');

/** A session id (`jti`): `ses_` and a lower-case ULID. */
export const newSessionId = (): string => `ses_${ulid().toLowerCase()}`;

/** What a minted code stands for until it is exchanged (or expires). */
export interface SessionGrant {
  tenant_id: string;
  user: PersonIdentity;
  role: Role;
  /** The team admin's teams; empty for every other role. */
  team_ids: string[];
  /**
   * When the session ends (epoch seconds): `ttl_seconds` after the mint, whenever the code is
   * exchanged, so the mint's answer and the token agree on it.
   */
  expires_at: number;
  /** When the code was minted (epoch ms): a revocation at or after it refuses the code too. */
  minted_at_ms: number;
  /** When the code stops working (epoch seconds; the control table's TTL attribute holds the same). */
  code_expires_at: number;
}

export interface SessionTokenHeader {
  alg: typeof SESSION_TOKEN.algorithm;
  typ: 'JWT';
  kid: string;
}

/** Every claim of a session token. */
export interface SessionTokenClaims extends SessionClaims {
  iss: string;
  aud: string;
  /** Epoch seconds. */
  iat: number;
  exp: number;
}

/** The claims of the token a grant is exchanged for, issued at `nowMs`. */
export const sessionClaimsOf = (
  grant: SessionGrant,
  sessionId: string,
  nowMs: number,
): SessionTokenClaims => {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: SESSION_TOKEN.issuer,
    aud: SESSION_TOKEN.audience,
    sub: grant.user.id,
    jti: sessionId,
    tid: grant.tenant_id,
    role: grant.role,
    ...(grant.role === 'team_admin' ? { teams: [...grant.team_ids] } : {}),
    ...(grant.user.email === undefined ? {} : { email: grant.user.email }),
    ...(grant.user.name === undefined ? {} : { name: grant.user.name }),
    iat,
    exp: grant.expires_at,
  };
};

const encodeJson = (value: unknown): string => base64url.encode(JSON.stringify(value));

/** `<header>.<payload>` of a compact JWS: the bytes the signer signs. */
export const signingInputOf = (kid: string, claims: SessionTokenClaims): string =>
  `${encodeJson({ alg: SESSION_TOKEN.algorithm, typ: 'JWT', kid } satisfies SessionTokenHeader)}.${encodeJson(claims)}`;

/** The compact JWS: signing input and the raw (r || s, 64 bytes) ES256 signature. */
export const compactJws = (signingInput: string, rawSignature: Uint8Array): string => {
  if (rawSignature.length !== 64) throw new Error('an ES256 signature is 64 bytes (r || s)');
  return `${signingInput}.${base64url.encode(rawSignature)}`;
};

/** One DER INTEGER of an ECDSA signature, left-padded to 32 bytes (a leading 0x00 sign byte dropped). */
const readInteger = (der: Uint8Array, offset: number): { value: Uint8Array; next: number } => {
  if (der[offset] !== 0x02) throw new Error('not a DER ECDSA signature (INTEGER expected)');
  const length = der[offset + 1] ?? 0;
  if (length < 1 || length > 33 || offset + 2 + length > der.length)
    throw new Error('not a DER ECDSA signature (bad INTEGER length)');
  let bytes = der.subarray(offset + 2, offset + 2 + length);
  while (bytes.length > 32 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length > 32) throw new Error('not a P-256 signature (integer over 32 bytes)');
  const value = new Uint8Array(32);
  value.set(bytes, 32 - bytes.length);
  return { value, next: offset + 2 + length };
};

/**
 * A DER ECDSA signature (`SEQUENCE { INTEGER r, INTEGER s }`, what KMS returns for
 * ECDSA_SHA_256) as JOSE's raw `r || s` (RFC 7518 §3.4: 64 bytes for ES256).
 */
export const derToJoseSignature = (der: Uint8Array): Uint8Array => {
  if (der[0] !== 0x30 || der.length < 8) throw new Error('not a DER ECDSA signature (SEQUENCE expected)');
  // P-256 signatures are at most 72 bytes: the SEQUENCE length always fits the short form.
  const length = der[1] ?? 0;
  if (length !== der.length - 2) throw new Error('not a DER ECDSA signature (bad SEQUENCE length)');
  const r = readInteger(der, 2);
  const s = readInteger(der, r.next);
  if (s.next !== der.length) throw new Error('not a DER ECDSA signature (trailing bytes)');
  const raw = new Uint8Array(64);
  raw.set(r.value, 0);
  raw.set(s.value, 32);
  return raw;
};

/** Whether a bearer token has the shape of a JWS (`eyJ…` and three base64url parts): a session token, not a key. */
export const looksLikeJwt = (token: string): boolean =>
  /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);

/**
 * Revocations of a tenant's sessions: "every session issued at or before T" for the whole tenant
 * and for one person (epoch seconds; null = none).
 */
export interface SessionRevocations {
  tenant: number | null;
  user: number | null;
}

/**
 * Whether a token issued at `iat` (epoch seconds) is revoked. A token issued in the very second of
 * a revocation counts as revoked: `iat` has a one-second resolution, and the safe side is refusal.
 */
export const isRevoked = (iat: number, revocations: SessionRevocations): boolean =>
  [revocations.tenant, revocations.user].some((at) => at !== null && iat <= at);

/** The revocation time stored for "now" (epoch seconds, the token's `iat` resolution). */
export const revocationSecond = (nowMs: number): number => Math.floor(nowMs / 1000);
