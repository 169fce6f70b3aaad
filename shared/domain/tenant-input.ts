/**
 * Input schemas of the tenant and key admin API (zod; types inferred).
 */
import * as z from 'zod';
import { MAX_APP_URL_LENGTH, MAX_EMBED_ORIGINS, parseAppUrl, parseEmbedOrigin } from './embed.ts';
import { MAX_SHARDS } from './keys.ts';
import { accessPolicySchema } from './people-input.ts';
import { SCOPES } from './principal.ts';
import { MAX_RATE_LIMIT_RPS } from './rate-limit.ts';
import { MAX_RETENTION_DAYS, PLAN_NAMES, type Plan } from './retention.ts';

const name = z.string().trim().min(1, 'must not be empty').max(200);
/** Days, or "unlimited" (events never expire from hot storage; the archive keeps its own period). */
const retentionDays = z.union(
  [
    z.int('must be an integer').min(1, 'must be at least 1 day').max(MAX_RETENTION_DAYS),
    z.literal('unlimited'),
  ],
  { error: `must be a number of days (1–${MAX_RETENTION_DAYS}) or "unlimited"` },
);
const shards = z.int('must be an integer').min(1).max(MAX_SHARDS);
/** Requests per second for this tenant; null (or absent) is the plan's limit. */
const rateLimitRps = z.int('must be an integer').min(1).max(MAX_RATE_LIMIT_RPS).nullable();

export const createTenantSchema = z.strictObject({
  name,
  plan: z.enum(PLAN_NAMES as [Plan, ...Plan[]]).default('free'),
  retention_days: retentionDays.optional(),
  shards: shards.default(1),
  rate_limit_rps: rateLimitRps.optional(),
});

/** A DNS name in lower case (`example.com`), as a recipient domain. */
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'must be a domain name, e.g. example.com',
  );

/** An exact https origin that may frame the console, normalised (lower-case host, no default port). */
const embedOrigin = z.string().transform((raw, ctx) => {
  const parsed = parseEmbedOrigin(raw);
  if ('origin' in parsed) return parsed.origin;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

/** The origins that may embed the console in an iframe: 0–10, each once. */
export const embedOriginsSchema = z
  .array(embedOrigin)
  .max(MAX_EMBED_ORIGINS, `must hold at most ${MAX_EMBED_ORIGINS} origins`)
  .transform((origins) => [...new Set(origins)]);

/** The tenant's application, where the console sends people to open the audit log; null clears it. */
export const appUrlSchema = z
  .string()
  .max(MAX_APP_URL_LENGTH, `must be at most ${MAX_APP_URL_LENGTH} characters`)
  .transform((raw, ctx) => {
    const parsed = parseAppUrl(raw);
    if ('url' in parsed) return parsed.url;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  })
  .nullable();

/** Fields a tenant's own `admin` key may change; everything else in an update is the operator's. */
export const TENANT_SELF_SERVICE_FIELDS = ['email_domains', 'access', 'embed_origins', 'app_url'] as const;

export const updateTenantSchema = z
  .strictObject({
    name: name.optional(),
    plan: z.enum(PLAN_NAMES as [Plan, ...Plan[]]).optional(),
    /** null resets to the plan's retention. */
    retention_days: retentionDays.nullable().optional(),
    shards: shards.optional(),
    rate_limit_rps: rateLimitRps.optional(),
    /** Allowed recipient domains of export notification emails; [] allows any. */
    email_domains: z
      .array(domain)
      .max(50, 'must hold at most 50 domains')
      .transform((d) => [...new Set(d)])
      .optional(),
    /** Which roles may view and export: `{"view": [...roles], "export": [...roles]}`, export ⊆ view. */
    access: accessPolicySchema.optional(),
    /** Exact https origins that may frame the console (its CSP `frame-ancestors`); [] allows none. */
    embed_origins: embedOriginsSchema.optional(),
    /** The tenant's application URL (https), or null to clear it. */
    app_url: appUrlSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const createKeySchema = z.strictObject({
  name,
  scopes: z
    .array(z.enum(SCOPES))
    .min(1, 'must hold at least one scope')
    .transform((s) => [...new Set(s)]),
});
