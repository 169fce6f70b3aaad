/**
 * Who is calling. The Lambda authorizer resolves the bearer token into an AuthorizerContext
 * (flat primitives, as API Gateway requires); handlers turn it back into a Principal and decide
 * 401/403 themselves so every refusal is problem+json.
 */

export const SCOPES = ['events:write', 'events:read', 'exports:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { kind: 'operator' }
  | {
      kind: 'key';
      tenantId: string;
      keyId: string;
      keyName: string;
      scopes: readonly Scope[];
      /** Tenant settings the data path needs, resolved with the key (cached with it). */
      retentionDays: number | null;
      shards: number;
      /** Requests per second the tenant may make (plan or operator override); enforced by the authorizer. */
      rateLimitRps?: number;
    };

/** What the authorizer returns as `context` (and the local gateway passes as `authorizer.lambda`). */
export interface AuthorizerContext {
  /**
   * `unavailable`: the credentials could not be checked (a dependency failed); answered 503.
   * `throttled`: the tenant is over its request rate; answered 429 with `retryAfter` seconds.
   */
  kind: 'operator' | 'key' | 'anonymous' | 'unavailable' | 'throttled';
  retryAfter?: number;
  tenantId?: string;
  keyId?: string;
  keyName?: string;
  /** Space-separated scopes. */
  scopes?: string;
  /** -1 = unlimited retention. */
  retentionDays?: number;
  shards?: number;
  /** Why the caller is anonymous (for logs; never echoed to the client beyond a generic 401). */
  reason?: string;
  [key: string]: string | number | boolean | undefined;
}

export const toAuthorizerContext = (
  principal: Principal | null,
  reason = 'unknown credentials',
): AuthorizerContext => {
  if (principal === null) return { kind: 'anonymous', reason };
  if (principal.kind === 'operator') return { kind: 'operator' };
  return {
    kind: 'key',
    tenantId: principal.tenantId,
    keyId: principal.keyId,
    keyName: principal.keyName,
    scopes: principal.scopes.join(' '),
    retentionDays: principal.retentionDays ?? -1,
    shards: principal.shards,
  };
};

const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

export const fromAuthorizerContext = (context: Partial<AuthorizerContext> | undefined): Principal | null => {
  if (!context) return null;
  if (context.kind === 'operator') return { kind: 'operator' };
  if (context.kind !== 'key' || !context.tenantId || !context.keyId) return null;
  const retention = Number(context.retentionDays ?? -1);
  return {
    kind: 'key',
    tenantId: String(context.tenantId),
    keyId: String(context.keyId),
    keyName: String(context.keyName ?? ''),
    scopes: String(context.scopes ?? '')
      .split(' ')
      .filter(isScope),
    retentionDays: retention < 0 ? null : retention,
    shards: Math.max(1, Number(context.shards ?? 1)),
  };
};
