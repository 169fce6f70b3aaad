/**
 * Ports of viewer sessions: where one-time codes and revocations are kept (the control table,
 * shared/adapters/session-store.ts), the key that signs session tokens (KMS in AWS, a PEM file
 * locally: shared/adapters/session-keys.ts) and the verifier the authorizer checks them with.
 */
import type { SessionGrant, SessionRevocations, SessionTokenClaims } from '../../domain/session-token.ts';

export interface SessionStore {
  /** Stores a code's grant under its hash; refuses (throws) when that hash exists. */
  saveCode(codeHash: string, grant: SessionGrant): Promise<void>;
  /**
   * Takes the code: deletes it and returns its grant when it exists and is unexpired at
   * `nowSeconds`, atomically (of two concurrent exchanges one gets the grant, the other null).
   */
  consumeCode(codeHash: string, nowSeconds: number): Promise<SessionGrant | null>;
  /** Revokes the tenant's sessions issued until `atSeconds`, or only one person's (`userId`). */
  revoke(tenantId: string, userId: string | null, atSeconds: number): Promise<void>;
  /** The tenant-wide and the person's revocation times. */
  revocations(tenantId: string, userId: string): Promise<SessionRevocations>;
}

/** Signs session tokens (ES256). */
export interface SessionSigner {
  /** The `kid` of the tokens it signs: a stable id of the key. */
  keyId(): Promise<string>;
  /** The raw ES256 signature (r || s, 64 bytes) over a JWS signing input. */
  sign(signingInput: string): Promise<Uint8Array>;
}

/** Verifies a session token; null for anything not valid (bad signature, alg, kid, iss, aud, time). */
export interface SessionVerifier {
  verify(token: string): Promise<SessionTokenClaims | null>;
}
