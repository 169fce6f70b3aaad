/**
 * Input schemas of the tenant and key admin API (zod; types inferred).
 */
import * as z from 'zod';
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

/** Fields a tenant's own `admin` key may change; everything else in an update is the operator's. */
export const TENANT_SELF_SERVICE_FIELDS = ['email_domains', 'access'] as const;

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
  })
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const createKeySchema = z.strictObject({
  name,
  scopes: z
    .array(z.enum(SCOPES))
    .min(1, 'must hold at least one scope')
    .transform((s) => [...new Set(s)]),
});
