/**
 * The OIDC door against a test identity provider: a discovery document and a JWKS served over
 * HTTP on 127.0.0.1 by this test, tokens signed with its keys. A valid token names the person;
 * everything an attacker or a misconfiguration produces is refused (null), and an IdP whose keys
 * cannot be fetched is an error (the authorizer answers 503, not 401).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_OIDC_CLAIMS,
  OIDC_FETCH_TIMEOUT_MS,
  type OidcConfig,
  OidcVerifier,
  oidcConfigOf,
  oidcEnvironment,
  oidcSettingsFromEnv,
  oidcVerifierFromEnv,
} from '#shared/adapters/oidc.ts';

const AUDIENCE = 'trailkeeper-audit-log';
let server: Server;
let issuer: string;
let jwks: { keys: JWK[] } = { keys: [] };
let jwksAnswers = 0;
let failJwks = false;
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: KeyPair;
let other: KeyPair;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  other = await generateKeyPair('RS256');
  jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] };
  server = createServer((request, response) => {
    if (request.url === '/.well-known/openid-configuration') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    } else if (request.url === '/keys') {
      jwksAnswers += 1;
      response.statusCode = failJwks ? 500 : 200;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(jwks));
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const config = (): OidcConfig => ({ issuer, audience: AUDIENCE, claims: DEFAULT_OIDC_CLAIMS });

const token = async (
  claims: Record<string, unknown> = {},
  options: {
    key?: KeyPair['privateKey'];
    kid?: string;
    alg?: string;
    iss?: string;
    aud?: string;
    exp?: number | string;
  } = {},
) =>
  new SignJWT({ tenant_id: 'tnt_a', role: 'admin', email: 'ada@example.com', name: 'Ada', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'idp-1' })
    .setSubject('user_ada')
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '10m')
    .sign(options.key ?? rsa.privateKey);

describe('OIDC door', () => {
  it('names the person of a valid token, through discovery and the JWKS', async () => {
    const person = await new OidcVerifier(config()).verify(await token({ jti: 'idp-session-1' }));
    expect(person).toMatchObject({
      tenantId: 'tnt_a',
      person: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
      role: 'admin',
      teamIds: [],
      sessionId: 'idp-session-1',
      issuedAt: expect.any(Number),
    });
    // Revocations compare `iat`; the authorizer caches the person no longer than `exp`.
    expect(person && person.expiresAt - person.issuedAt).toBe(600);
  });

  it('keeps a team admin to the teams of the token, as a list or a comma-separated string', async () => {
    const verifier = new OidcVerifier(config());
    const fromList = await verifier.verify(await token({ role: 'team_admin', team_ids: ['t1', 't2', 't1'] }));
    expect(fromList?.teamIds).toEqual(['t1', 't2']);
    const fromString = await verifier.verify(await token({ role: 'team_admin', team_ids: 't3, t4' }));
    expect(fromString?.teamIds).toEqual(['t3', 't4']);
    // No token id: a hash of the token stands in, the same for the same token.
    expect(fromString?.sessionId).toMatch(/^oidc_[0-9a-f]{32}$/);
  });

  it.each([
    ['the SaaS application’s own audience', () => token({}, { aud: 'saas-app' })],
    ['another issuer', () => token({}, { iss: 'https://evil.example' })],
    ['a key the IdP does not publish', () => token({}, { key: other.privateKey })],
    [
      'an expired token beyond the 30 s tolerance',
      () => token({}, { exp: Math.floor(Date.now() / 1000) - 60 }),
    ],
    ['no tenant claim', () => token({ tenant_id: undefined })],
    ['an unknown role', () => token({ role: 'superuser' })],
    ['a team admin without teams', () => token({ role: 'team_admin' })],
    ['teams that are not strings', () => token({ role: 'team_admin', team_ids: [1, 2] })],
    ['a tampered payload', async () => swapPayload(await token(), { role: 'owner', tenant_id: 'tnt_b' })],
    ['alg none', async () => unsigned(await token())],
    ['HS256 signed with the public key as the secret', () => hmacWithPublicKey()],
  ])('refuses %s', async (_, make) => {
    expect(await new OidcVerifier(config()).verify(await make())).toBeNull();
  });

  it('accepts a token expired within the 30 s clock tolerance', async () => {
    const late = await token({}, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await new OidcVerifier(config()).verify(late)).not.toBeNull();
  });

  it('is an error, not a refusal, when the IdP’s keys cannot be fetched, and retries later', async () => {
    failJwks = true;
    const verifier = new OidcVerifier({ ...config(), jwksUri: `${issuer}/keys` });
    await expect(verifier.verify(await token())).rejects.toThrow();
    failJwks = false;
    const before = jwksAnswers;
    expect(await verifier.verify(await token())).not.toBeNull();
    expect(jwksAnswers).toBeGreaterThan(before);
  });
});

describe('an IdP that does not answer', () => {
  it('is an error within the fetch timeout, for discovery and for the JWKS alike', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hanging = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      for (const settings of [{ issuer: hanging }, { issuer, jwksUri: `${hanging}/keys` }]) {
        const started = Date.now();
        const verifier = new OidcVerifier({ ...config(), ...settings });
        await expect(verifier.verify(await token({}, { iss: settings.issuer }))).rejects.toThrow();
        expect(Date.now() - started).toBeLessThan(OIDC_FETCH_TIMEOUT_MS + 1_000);
      }
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('OIDC settings', () => {
  it('are off without an issuer, and round-trip through the environment with the default claims', () => {
    expect(oidcConfigOf({}, 'env')).toBeNull();
    expect(oidcVerifierFromEnv({})).toBeNull();
    const config = oidcConfigOf({ issuer: 'https://idp.example.com/', audience: ' trailkeeper ' }, 'context');
    expect(config).toEqual({
      issuer: 'https://idp.example.com/',
      audience: 'trailkeeper',
      claims: { tenant: 'tenant_id', role: 'role', teams: 'team_ids' },
    });
    expect(oidcConfigOf(oidcSettingsFromEnv(oidcEnvironment(config as OidcConfig)), 'env')).toEqual(config);
    expect(oidcVerifierFromEnv(oidcEnvironment(config as OidcConfig))?.issuer).toBe(
      'https://idp.example.com/',
    );
  });

  it('allow http only to a loopback host, and only where asked (the local runtime)', () => {
    const local = { issuer: 'http://127.0.0.1:9000', audience: 'tk' };
    expect(oidcConfigOf(local, 'env', { allowLoopbackHttp: true })?.issuer).toBe('http://127.0.0.1:9000');
    expect(() => oidcConfigOf(local, 'env')).toThrow('TRAILKEEPER_OIDC_ISSUER must be an https:// URL');
    expect(() =>
      oidcConfigOf({ issuer: 'http://idp.example.com', audience: 'tk' }, 'env', { allowLoopbackHttp: true }),
    ).toThrow('TRAILKEEPER_OIDC_ISSUER must be an https:// URL');
  });

  it.each([
    [{ issuer: 'https://idp.example.com' }, 'TRAILKEEPER_OIDC_ISSUER needs TRAILKEEPER_OIDC_AUDIENCE'],
    [{ audience: 'tk' }, 'TRAILKEEPER_OIDC_AUDIENCE given without TRAILKEEPER_OIDC_ISSUER'],
    [{ issuer: 'https://u:p@idp.example.com', audience: 'tk' }, 'without credentials, query or fragment'],
    [
      { issuer: 'https://idp.example.com', audience: 'tk', roleClaim: 'my role' },
      'TRAILKEEPER_OIDC_ROLE_CLAIM',
    ],
  ])('refuse %j, naming the setting', (settings, message) => {
    expect(() => oidcConfigOf(settings, 'env')).toThrow(message);
  });
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const swapPayload = (jwt: string, changes: Record<string, unknown>): string => {
  const [header, payload, signature] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
  return [header, b64({ ...claims, ...changes }), signature].join('.');
};

const unsigned = (jwt: string): string => {
  const [, payload] = jwt.split('.');
  return [b64({ alg: 'none', typ: 'JWT' }), payload, ''].join('.');
};

const hmacWithPublicKey = async (): Promise<string> => {
  const { createHmac } = await import('node:crypto');
  const pem = JSON.stringify(jwks.keys[0]);
  const header = b64({ alg: 'HS256', kid: 'idp-1' });
  const now = Math.floor(Date.now() / 1000);
  const payload = b64({
    sub: 'user_ada',
    iss: issuer,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    tenant_id: 'tnt_a',
    role: 'owner',
  });
  const signature = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
};
