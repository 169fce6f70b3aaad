/**
 * Input schemas of the people API (zod; kept out of people.ts so the authorizer bundles no zod):
 * minting a viewer session, exchanging its code, revoking sessions, and a tenant's access policy.
 */
import * as z from 'zod';
import { type AccessPolicy, MAX_SESSION_TEAMS, ROLES, type Role, SESSION_TTL_SECONDS } from './people.ts';

const role = z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` });
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
/** Ids of the SaaS application (users, teams): what events carry as `actor.id` / `team_id`. */
const externalId = text(256).refine((v) => !v.includes(','), 'must not contain a comma');

export const mintSessionSchema = z
  .strictObject({
    user: z.strictObject({
      id: externalId,
      email: z.email('must be an email address').max(320).optional(),
      name: text(200).optional(),
    }),
    role,
    team_ids: z
      .array(externalId)
      .min(1, 'must hold at least one team')
      .max(MAX_SESSION_TEAMS, `must hold at most ${MAX_SESSION_TEAMS} teams`)
      .transform((teams) => [...new Set(teams)])
      .optional(),
    ttl_seconds: z
      .int('must be an integer')
      .min(SESSION_TTL_SECONDS.min, `must be at least ${SESSION_TTL_SECONDS.min}`)
      .max(SESSION_TTL_SECONDS.max, `must be at most ${SESSION_TTL_SECONDS.max}`)
      .default(SESSION_TTL_SECONDS.default),
  })
  .superRefine((value, ctx) => {
    if (value.role === 'team_admin' && value.team_ids === undefined)
      ctx.addIssue({ code: 'custom', path: ['team_ids'], message: 'is required for the team_admin role' });
    if (value.role !== 'team_admin' && value.team_ids !== undefined)
      ctx.addIssue({ code: 'custom', path: ['team_ids'], message: 'is only for the team_admin role' });
  });
export type MintSessionInput = z.output<typeof mintSessionSchema>;

export const exchangeCodeSchema = z.strictObject({ code: text(256) });

export const revokeSessionsQuerySchema = z.strictObject({ user_id: externalId.optional() });

const roleList = z
  .array(role)
  .max(ROLES.length)
  .transform((roles) => [...new Set(roles)] as Role[]);

/** `PATCH /v1/tenants/{id}` `{"access": …}`: who may view and who may export (export needs view). */
export const accessPolicySchema = z
  .strictObject({ view: roleList, export: roleList })
  .superRefine((policy, ctx) => {
    for (const r of policy.export)
      if (!policy.view.includes(r))
        ctx.addIssue({ code: 'custom', path: ['export'], message: `${r} may export only if it may view` });
  }) satisfies z.ZodType<AccessPolicy, unknown>;
