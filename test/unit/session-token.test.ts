/**
 * Session tokens: built by the domain and a local signer, verified by the jose verifier with the
 * algorithm pinned — and every forgery we know of refused (alg none, HS256 keyed with the public
 * key, RS256, unknown or wrong kid, expiry, swapped audience or issuer, a tampered payload), plus
 * the DER → JOSE signature conversion a KMS signature goes through.
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import {
  JoseSessionVerifier,
  LocalSessionSigner,
  localKeyId,
  sessionVerifierFromEnv,
} from '#shared/adapters/session-keys.ts';
import {
  compactJws,
  derToJoseSignature,
  hashSessionCode,
  isRevoked,
  looksLikeJwt,
  newSessionCode,
  type SessionGrant,
  type SessionTokenClaims,
  sessionClaimsOf,
  signingInputOf,
} from '#shared/domain/session-token.ts';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const NOW_S = NOW / 1000;

const newP256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const signer = new LocalSessionSigner(newP256().privateKey);
const verifierAt = (nowMs: number, keys = [signer.publicKey]) =>
  new JoseSessionVerifier(
    async () => keys,
    () => nowMs,
  );
const verifier = verifierAt(NOW);

const grant: SessionGrant = {
  tenant_id: 'tnt_01jd0000000000000000000000',
  user: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
  role: 'team_admin',
  team_ids: ['team_a', 'team_b'],
  expires_at: NOW_S + 3600,
  minted_at_ms: NOW,
  code_expires_at: NOW_S + 300,
};

const claims = (): SessionTokenClaims => sessionClaimsOf(grant, 'ses_01jd0000000000000000000000', NOW);

/** A token signed by the real signer, with any header fields and claims. */
const tokenOf = async (
  payload: object,
  header: object = { alg: 'ES256', typ: 'JWT', kid: signer.publicKey.kid },
) => {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  return compactJws(input, await signer.sign(input));
};

describe('session token', () => {
  it('round-trips: the signed claims come back verified', async () => {
    const input = signingInputOf(await signer.keyId(), claims());
    const token = compactJws(input, await signer.sign(input));
    expect(looksLikeJwt(token)).toBe(true);
    expect(await verifier.verify(token)).toEqual({
      iss: 'trailkeeper',
      aud: 'trailkeeper:viewer',
      sub: 'user_ada',
      jti: 'ses_01jd0000000000000000000000',
      tid: grant.tenant_id,
      role: 'team_admin',
      teams: ['team_a', 'team_b'],
      email: 'ada@example.com',
      name: 'Ada',
      iat: NOW_S,
      exp: NOW_S + 3600,
    });
  });

  it('names its key by the SHA-256 of the public key', () => {
    expect(signer.publicKey.kid).toMatch(/^local:[0-9a-f]{64}$/);
    expect(localKeyId(signer.publicKey.key)).toBe(signer.publicKey.kid);
  });

  it('refuses alg none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: signer.publicKey.kid }));
    const token = `${header}.${base64url.encode(JSON.stringify(claims()))}.`;
    expect(await verifier.verify(token)).toBeNull();
  });

  it('refuses HS256 keyed with the public key (algorithm confusion)', async () => {
    const pem = signer.publicKey.key.export({ format: 'pem', type: 'spki' }).toString();
    const input = `${base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: signer.publicKey.kid }))}.${base64url.encode(JSON.stringify(claims()))}`;
    const mac = createHmac('sha256', pem).update(input).digest();
    expect(await verifier.verify(`${input}.${base64url.encode(mac)}`)).toBeNull();
  });

  it('refuses RS256, even signed by a key under a known kid', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const input = `${base64url.encode(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: signer.publicKey.kid }))}.${base64url.encode(JSON.stringify(claims()))}`;
    const signature = sign('sha256', Buffer.from(input), rsa.privateKey);
    const rsaVerifier = verifierAt(NOW, [signer.publicKey, { kid: 'rsa', key: rsa.publicKey }]);
    expect(await rsaVerifier.verify(`${input}.${base64url.encode(signature)}`)).toBeNull();
    const asRsaKid = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'rsa' }))}.${base64url.encode(JSON.stringify(claims()))}`;
    const rsaSigned = sign('sha256', Buffer.from(asRsaKid), rsa.privateKey);
    expect(await rsaVerifier.verify(`${asRsaKid}.${base64url.encode(rsaSigned)}`)).toBeNull();
  });

  it('refuses an unknown kid, and a known kid over another key', async () => {
    const other = new LocalSessionSigner(newP256().privateKey);
    const byOther = signingInputOf(await other.keyId(), claims());
    expect(await verifier.verify(compactJws(byOther, await other.sign(byOther)))).toBeNull();
    const claimsKnownKid = signingInputOf(signer.publicKey.kid, claims());
    expect(await verifier.verify(compactJws(claimsKnownKid, await other.sign(claimsKnownKid)))).toBeNull();
    expect(await verifier.verify(await tokenOf(claims(), { alg: 'ES256', typ: 'JWT' }))).toBeNull();
  });

  it('accepts a previous key only while it is configured (rotation)', async () => {
    const previous = new LocalSessionSigner(newP256().privateKey);
    const input = signingInputOf(await previous.keyId(), claims());
    const token = compactJws(input, await previous.sign(input));
    expect(await verifierAt(NOW, [signer.publicKey, previous.publicKey]).verify(token)).not.toBeNull();
    expect(await verifierAt(NOW, [signer.publicKey]).verify(token)).toBeNull();
  });

  it('refuses an expired token (beyond a few seconds of clock skew) and one not yet issued', async () => {
    const token = await tokenOf(claims());
    expect(await verifierAt(NOW + 3600_000 + 3_000).verify(token)).not.toBeNull();
    expect(await verifierAt(NOW + 3600_000 + 30_000).verify(token)).toBeNull();
    expect(await verifier.verify(await tokenOf({ ...claims(), exp: NOW_S - 60 }))).toBeNull();
    expect(await verifier.verify(await tokenOf({ ...claims(), iat: NOW_S + 600 }))).toBeNull();
  });

  it('refuses a swapped audience or issuer', async () => {
    expect(await verifier.verify(await tokenOf({ ...claims(), aud: 'someone-else' }))).toBeNull();
    expect(await verifier.verify(await tokenOf({ ...claims(), iss: 'https://idp.example.com' }))).toBeNull();
    expect(await verifier.verify(await tokenOf(claims()))).not.toBeNull();
  });

  it('refuses a tampered payload under the original signature', async () => {
    const token = await tokenOf(claims());
    const [header, , signature] = token.split('.');
    const forged = base64url.encode(JSON.stringify({ ...claims(), role: 'owner', teams: undefined }));
    expect(await verifier.verify(`${header}.${forged}.${signature}`)).toBeNull();
  });

  it('refuses a signed token that lacks a claim or carries a bad role', async () => {
    const { tid: _tid, ...withoutTenant } = claims();
    expect(await verifier.verify(await tokenOf(withoutTenant))).toBeNull();
    expect(await verifier.verify(await tokenOf({ ...claims(), role: 'superuser' }))).toBeNull();
    expect(await verifier.verify(await tokenOf({ ...claims(), teams: [] }))).toBeNull();
  });
});

describe('DER to JOSE signatures', () => {
  const derSigned = (key: KeyObject, data: Buffer) => sign('sha256', data, { key, dsaEncoding: 'der' });

  it('converts KMS-style DER signatures into r || s that verify as ES256', () => {
    const { privateKey, publicKey } = newP256();
    for (let i = 0; i < 50; i++) {
      const data = Buffer.from(`payload ${i}`);
      const raw = derToJoseSignature(derSigned(privateKey, data));
      expect(raw).toHaveLength(64);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
    }
  });

  it('left-pads short integers and drops the sign byte of long ones', () => {
    const r = [0x00, 0x80, ...Array.from({ length: 31 }, () => 0x11)]; // 33 bytes: sign byte + 32
    const s = Array.from({ length: 30 }, () => 0x22); // 30 bytes: padded to 32
    const der = Uint8Array.from([0x30, 4 + r.length + s.length, 0x02, r.length, ...r, 0x02, s.length, ...s]);
    expect([...derToJoseSignature(der)]).toEqual([...r.slice(1), 0, 0, ...s]);
  });

  it('refuses what is not a DER ECDSA signature', () => {
    expect(() => derToJoseSignature(new Uint8Array(64))).toThrow(/DER/);
    expect(() => derToJoseSignature(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]))).toThrow();
  });
});

describe('codes and revocations', () => {
  it('makes 256-bit codes and keys them by SHA-256', () => {
    const code = newSessionCode();
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSessionCode()).not.toBe(code);
    expect(hashSessionCode(code)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSessionCode(code)).not.toContain(code);
  });

  it('revokes tokens issued until the revocation second, tenant-wide or per person', () => {
    expect(isRevoked(100, { tenant: null, user: null })).toBe(false);
    expect(isRevoked(100, { tenant: 100, user: null })).toBe(true);
    expect(isRevoked(101, { tenant: 100, user: null })).toBe(false);
    expect(isRevoked(99, { tenant: null, user: 99 })).toBe(true);
    expect(isRevoked(100, { tenant: 50, user: 99 })).toBe(false);
  });

  it('tells session tokens from API keys', () => {
    expect(looksLikeJwt('tk.tnt_01jd0000000000000000000000.key_01jd0000000000000000000000.secret')).toBe(
      false,
    );
    expect(looksLikeJwt('tk_op_abc')).toBe(false);
    expect(looksLikeJwt('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
  });
});

describe('the local session key files', () => {
  it('verify with the current key file and, during a rotation, the previous one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-session-keys-'));
    try {
      const pemOf = () => newP256().privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      const [current, previous] = [pemOf(), pemOf()];
      await writeFile(join(dir, 'current.pem'), current);
      await writeFile(join(dir, 'previous.pem'), previous);
      const tokenBy = async (pem: string) => {
        const by = LocalSessionSigner.fromPem(pem);
        const live = { ...grant, expires_at: Math.floor(Date.now() / 1000) + 600 };
        const input = signingInputOf(await by.keyId(), sessionClaimsOf(live, 'ses_1', Date.now()));
        return compactJws(input, await by.sign(input));
      };
      const [fresh, old] = [await tokenBy(current), await tokenBy(previous)];
      vi.stubEnv('TRAILKEEPER_SESSION_KEY_ID', '');
      vi.stubEnv('TRAILKEEPER_SESSION_KEY_FILE', join(dir, 'current.pem'));
      vi.stubEnv('TRAILKEEPER_SESSION_KEY_PREVIOUS_FILE', join(dir, 'previous.pem'));
      const rotating = sessionVerifierFromEnv();
      expect(await rotating?.verify(fresh)).not.toBeNull();
      expect(await rotating?.verify(old)).not.toBeNull();
      vi.stubEnv('TRAILKEEPER_SESSION_KEY_PREVIOUS_FILE', '');
      const rotated = sessionVerifierFromEnv();
      expect(await rotated?.verify(fresh)).not.toBeNull();
      expect(await rotated?.verify(old)).toBeNull();
      vi.stubEnv('TRAILKEEPER_SESSION_KEY_FILE', '');
      expect(sessionVerifierFromEnv()).toBeNull();
    } finally {
      vi.unstubAllEnvs();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
