/**
 * The optional second door for people: bearer JWTs from the operator's own identity provider,
 * verified against its JWKS (jose's createRemoteJWKSet: fetched, cached and refreshed when a
 * token names an unknown `kid`). Only when the operator configures an issuer
 * (`-c oidcIssuer=… -c oidcAudience=…`). The same rules as viewer sessions apply afterwards (the
 * tenant's access policy, team scope); this module only turns a token into who the person is.
 *
 * Pinned: the algorithms (never `none`, never an HMAC whose secret could be a public key), the
 * issuer, and an audience used only by Trailkeeper, so the SaaS application's own tokens (its
 * audience) are refused here. 30 s of clock tolerance, as IdPs and Lambda clocks drift.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { isRole, type PersonIdentity, type Role } from '../domain/people.ts';

export interface OidcConfig {
  /** The IdP's issuer, exactly as its tokens' `iss`. */
  issuer: string;
  /** The audience of tokens meant for Trailkeeper (and nothing else). */
  audience: string;
  /** The IdP's JWKS; default: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** Claim names (dotted paths are not supported; namespaced claims like `https://x/tenant` are). */
  claims: { tenant: string; role: string; teams: string };
  /** Accepted signature algorithms. Default RS256 and ES256. */
  algorithms?: readonly string[];
}

export const DEFAULT_OIDC_CLAIMS = { tenant: 'tenant_id', role: 'role', teams: 'team_ids' } as const;
export const OIDC_ALGORITHMS = ['RS256', 'ES256'] as const;
export const OIDC_CLOCK_TOLERANCE_SECONDS = 30;

/** Who an IdP token says the caller is; the authorizer applies the tenant's policy to it. */
export interface OidcPerson {
  tenantId: string;
  person: PersonIdentity;
  role: Role;
  teamIds: string[];
  /** The token's `jti`, else a hash of the token: the session id in the person's audit events. */
  sessionId: string;
  /** Issued-at (epoch seconds), for session revocations. */
  issuedAt: number;
}

const stringClaim = (payload: JWTPayload, name: string): string | undefined => {
  const value = payload[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

const teamsClaim = (payload: JWTPayload, name: string): string[] | null => {
  const value = payload[name];
  if (value === undefined) return [];
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || !list.every((team) => typeof team === 'string')) return null;
  return [...new Set(list.map((team) => team.trim()).filter((team) => team !== ''))];
};

/** Fetches the IdP's discovery document once for its `jwks_uri`. */
const discoverJwksUri = async (issuer: string, fetcher: typeof fetch): Promise<URL> => {
  const response = await fetcher(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
  const document = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
  if (document.issuer !== issuer) throw new Error('OIDC discovery names another issuer');
  if (typeof document.jwks_uri !== 'string') throw new Error('OIDC discovery has no jwks_uri');
  return new URL(document.jwks_uri);
};

export class OidcVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly fetcher: typeof fetch = fetch,
  ) {}

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= (async () => {
      const uri = this.config.jwksUri
        ? new URL(this.config.jwksUri)
        : await discoverJwksUri(this.config.issuer, this.fetcher);
      return createRemoteJWKSet(uri, { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    })();
    // A failed discovery is retried by the next token rather than cached for the container's life.
    this.keys.catch(() => {
      this.keys = undefined;
    });
    return this.keys;
  }

  /**
   * The person a token names, or null when it is not a valid token of this IdP for Trailkeeper
   * (bad signature, algorithm, issuer, audience, expiry, or claims). Throws only when the IdP's
   * keys cannot be fetched (the authorizer answers 503 then, not 401).
   */
  async verify(token: string): Promise<OidcPerson | null> {
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...(this.config.algorithms ?? OIDC_ALGORITHMS)],
        clockTolerance: OIDC_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      if (isKeyFetchFailure(error)) throw error;
      return null;
    }
    const tenantId = stringClaim(payload, this.config.claims.tenant);
    const role = stringClaim(payload, this.config.claims.role);
    const teamIds = teamsClaim(payload, this.config.claims.teams);
    if (tenantId === undefined || !isRole(role) || teamIds === null || payload.sub === undefined) return null;
    if (role === 'team_admin' && teamIds.length === 0) return null;
    const email = stringClaim(payload, 'email');
    const name = stringClaim(payload, 'name');
    return {
      tenantId,
      person: { id: payload.sub, ...(email ? { email } : {}), ...(name ? { name } : {}) },
      role,
      teamIds: role === 'team_admin' ? teamIds : [],
      sessionId: payload.jti ?? `oidc_${createHash('sha256').update(token).digest('hex').slice(0, 32)}`,
      issuedAt: payload.iat ?? 0,
    };
  }
}

/**
 * A JWKS that could not be fetched (as opposed to a token refused): jose's timeout, its generic
 * error for a non-200 or unparsable answer, or the network failure fetch throws.
 */
const isKeyFetchFailure = (error: unknown): boolean => {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (code === 'ERR_JWKS_TIMEOUT') return true;
  if (name === 'JOSEError' && code === 'ERR_JOSE_GENERIC') return true;
  return error instanceof TypeError && code === undefined && error.message === 'fetch failed';
};
