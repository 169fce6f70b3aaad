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
 *
 * Also the door's settings, named once (OIDC_SETTINGS): the CDK context values an operator
 * deploys with, the environment variables CDK sets on the authorizer from them (and `npm start`
 * reads), and their validation, the same for both.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ENV } from '../config/env.ts';
import { isRole } from '../domain/people.ts';
import type { IdentityProvider, IdpPerson } from '../usecases/authenticate.ts';

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
/**
 * How long the discovery document and the JWKS may each take: the authorizer has 5 s in all
 * (manifest) and must still read the control table and answer its own 503, rather than time out
 * into API Gateway's bare 500.
 */
export const OIDC_FETCH_TIMEOUT_MS = 1_500;

/** Who an IdP token says the caller is; the authorizer applies the tenant's policy to it. */
export type OidcPerson = IdpPerson;

/** Each setting of the door: its CDK context key (`-c oidcIssuer=…`) and its environment variable. */
export const OIDC_SETTINGS = {
  issuer: { context: 'oidcIssuer', env: ENV.oidcIssuer },
  audience: { context: 'oidcAudience', env: ENV.oidcAudience },
  jwksUri: { context: 'oidcJwksUri', env: ENV.oidcJwksUri },
  tenantClaim: { context: 'oidcTenantClaim', env: ENV.oidcTenantClaim },
  roleClaim: { context: 'oidcRoleClaim', env: ENV.oidcRoleClaim },
  teamsClaim: { context: 'oidcTeamsClaim', env: ENV.oidcTeamsClaim },
} as const;

export type OidcSetting = keyof typeof OIDC_SETTINGS;
/** The settings as the operator wrote them (context values or environment variables). */
export type OidcSettings = Partial<Record<OidcSetting, string | undefined>>;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The URL as given (an issuer must equal its tokens' `iss` byte for byte), when it is https
 * without credentials, query or fragment; http only to a loopback host where allowed (a test IdP
 * beside the local runtime).
 */
const checkedUrl = (value: string, name: string, allowLoopbackHttp: boolean): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute https:// URL, got ${JSON.stringify(value)}`);
  }
  const loopbackHttp = allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp) {
    throw new Error(`${name} must be an https:// URL, got ${JSON.stringify(value)}`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new Error(
      `${name} must be a URL without credentials, query or fragment, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

const claimName = (value: string | undefined, name: string, fallback: string): string => {
  if (value === undefined) return fallback;
  if (!/^[^\s]{1,200}$/.test(value))
    throw new Error(`${name} must be a claim name, got ${JSON.stringify(value)}`);
  return value;
};

/**
 * The door's configuration, or null when no issuer is set (only viewer sessions are accepted).
 * Throws, naming the setting as the operator wrote it (`source`), when the issuer comes without
 * an audience, or the issuer or JWKS URL is not https (http to a loopback host only with
 * `allowLoopbackHttp`: the local runtime), or a claim name is blank.
 */
export const oidcConfigOf = (
  settings: OidcSettings,
  source: 'context' | 'env',
  { allowLoopbackHttp = false }: { allowLoopbackHttp?: boolean } = {},
): OidcConfig | null => {
  const value = (key: OidcSetting): string | undefined => {
    const raw = settings[key]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const nameOf = (key: OidcSetting): string => OIDC_SETTINGS[key][source];
  const issuer = value('issuer');
  if (issuer === undefined) {
    const stray = (Object.keys(OIDC_SETTINGS) as OidcSetting[]).filter((key) => value(key) !== undefined);
    if (stray.length > 0) {
      throw new Error(`${stray.map(nameOf).join(', ')} given without ${nameOf('issuer')}`);
    }
    return null;
  }
  const audience = value('audience');
  if (audience === undefined) {
    throw new Error(
      `${nameOf('issuer')} needs ${nameOf('audience')}: the audience your identity provider puts in tokens meant for Trailkeeper only`,
    );
  }
  const jwksUri = value('jwksUri');
  return {
    issuer: checkedUrl(issuer, nameOf('issuer'), allowLoopbackHttp),
    audience,
    ...(jwksUri === undefined ? {} : { jwksUri: checkedUrl(jwksUri, nameOf('jwksUri'), allowLoopbackHttp) }),
    claims: {
      tenant: claimName(value('tenantClaim'), nameOf('tenantClaim'), DEFAULT_OIDC_CLAIMS.tenant),
      role: claimName(value('roleClaim'), nameOf('roleClaim'), DEFAULT_OIDC_CLAIMS.role),
      teams: claimName(value('teamsClaim'), nameOf('teamsClaim'), DEFAULT_OIDC_CLAIMS.teams),
    },
  };
};

/** The environment variables that configure the authorizer with `config` (CDK and the local runtime set them). */
export const oidcEnvironment = (config: OidcConfig): Record<string, string> => ({
  [ENV.oidcIssuer]: config.issuer,
  [ENV.oidcAudience]: config.audience,
  ...(config.jwksUri === undefined ? {} : { [ENV.oidcJwksUri]: config.jwksUri }),
  [ENV.oidcTenantClaim]: config.claims.tenant,
  [ENV.oidcRoleClaim]: config.claims.role,
  [ENV.oidcTeamsClaim]: config.claims.teams,
});

/** The settings found in `env` (the authorizer's environment, or `npm start`'s). */
export const oidcSettingsFromEnv = (env: NodeJS.ProcessEnv = process.env): OidcSettings =>
  Object.fromEntries(
    (Object.entries(OIDC_SETTINGS) as [OidcSetting, { env: string }][]).map(([key, { env: name }]) => [
      key,
      env[name],
    ]),
  );

/**
 * The authorizer's verifier, from its environment: null when no issuer is configured. A bad
 * configuration throws when the module loads (CDK and the local runtime refuse it earlier).
 */
export const oidcVerifierFromEnv = (env: NodeJS.ProcessEnv = process.env): OidcVerifier | null => {
  const config = oidcConfigOf(oidcSettingsFromEnv(env), 'env', { allowLoopbackHttp: true });
  return config === null ? null : new OidcVerifier(config);
};

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
  const response = await fetcher(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(OIDC_FETCH_TIMEOUT_MS),
    redirect: 'manual',
  });
  if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
  const document = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
  if (document.issuer !== issuer) throw new Error('OIDC discovery names another issuer');
  if (typeof document.jwks_uri !== 'string') throw new Error('OIDC discovery has no jwks_uri');
  return new URL(document.jwks_uri);
};

export class OidcVerifier implements IdentityProvider {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly fetcher: typeof fetch = fetch,
  ) {}

  get issuer(): string {
    return this.config.issuer;
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= (async () => {
      const uri = this.config.jwksUri
        ? new URL(this.config.jwksUri)
        : await discoverJwksUri(this.config.issuer, this.fetcher);
      return createRemoteJWKSet(uri, {
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: OIDC_FETCH_TIMEOUT_MS,
      });
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
      expiresAt: payload.exp ?? 0,
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
