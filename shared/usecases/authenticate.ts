/**
 * Resolves a bearer token to a principal: the operator key, or an unrevoked API key whose
 * hash matches, with its tenant's settings. Returns null for anything else (the caller answers 401).
 */
import type { ControlStore } from '../adapters/control-store.ts';
import type { Principal } from '../domain/principal.ts';
import { effectiveRateLimitRps } from '../domain/rate-limit.ts';
import { effectiveRetentionDays } from '../domain/retention.ts';
import { hashToken, parseToken, secretsEqual } from '../domain/tenant.ts';

export interface AuthDeps {
  control: ControlStore;
  operatorKey: () => Promise<string>;
}

export const bearerToken = (header: string | undefined): string | null => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? (match[1] as string) : null;
};

export const authenticate = async (deps: AuthDeps, token: string | null): Promise<Principal | null> => {
  if (token === null) return null;
  const parsed = parseToken(token);
  if (parsed === null) return secretsEqual(token, await deps.operatorKey()) ? { kind: 'operator' } : null;
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
