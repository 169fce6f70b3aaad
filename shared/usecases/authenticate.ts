/**
 * Resolves a bearer token to a principal: the operator key, or an unrevoked API key whose
 * hash matches, with its tenant's settings. Returns null for anything else (the caller answers 401).
 */
import type { Principal } from '../domain/principal.ts';
import { effectiveRateLimitRps } from '../domain/rate-limit.ts';
import { effectiveRetentionDays } from '../domain/retention.ts';
import { hashToken, parseToken, secretsEqual } from '../domain/tenant.ts';
import type { ControlStore } from './ports/control.ts';

/** The operator key during a rotation: the current value and, for a grace period, the one it replaced. */
export interface OperatorKeys {
  readonly current: string;
  readonly previous: string | null;
}

export interface AuthDeps {
  control: ControlStore;
  /** The operator key: one value, or its current and previous values (shared/adapters/secrets.ts). */
  operatorKey: () => Promise<string | OperatorKeys>;
}

/**
 * Whether `token` is an accepted operator key. It is compared with every accepted value, so the
 * time taken does not tell which one matched.
 */
const isOperatorKey = (token: string, keys: string | OperatorKeys): boolean => {
  const accepted = typeof keys === 'string' ? [keys] : [keys.current, keys.previous ?? ''];
  return accepted.map((key) => key !== '' && secretsEqual(token, key)).includes(true);
};

export const bearerToken = (header: string | undefined): string | null => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? (match[1] as string) : null;
};

export const authenticate = async (deps: AuthDeps, token: string | null): Promise<Principal | null> => {
  if (token === null) return null;
  const parsed = parseToken(token);
  if (parsed === null) return isOperatorKey(token, await deps.operatorKey()) ? { kind: 'operator' } : null;
  const [key, tenant] = await Promise.all([
    deps.control.getKey(parsed.tenantId, parsed.keyId),
    deps.control.getTenant(parsed.tenantId),
  ]);
  if (key === null || tenant === null || key.revoked_at !== null) return null;
  if (!secretsEqual(hashToken(token), key.secret_hash)) return null;
  return {
    kind: 'key',
    tenantId: tenant.id,
    keyId: key.id,
    keyName: key.name,
    scopes: key.scopes,
    retentionDays: effectiveRetentionDays(tenant.plan, tenant.custom_retention_days),
    shards: tenant.shards,
    rateLimitRps: effectiveRateLimitRps(tenant.plan, tenant.rate_limit_rps),
  };
};
