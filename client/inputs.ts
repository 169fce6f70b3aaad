/**
 * What the client sends: inferred from the service's own zod schemas (`z.input`, so the exact
 * fields and literals the API accepts). Type-only imports, erased at build time: the client
 * carries no zod and no server code at run time. Query strings are typed as the client takes
 * them (numbers, booleans, lists) and serialised by the client.
 */
import type * as z from 'zod';
import type { eventInputSchema } from '#shared/domain/event.ts';
import type { createExportSchema } from '#shared/domain/export.ts';
import type { mintSessionSchema } from '#shared/domain/people-input.ts';
import type { eventFiltersSchema } from '#shared/domain/query.ts';
import type { createKeySchema, createTenantSchema, updateTenantSchema } from '#shared/domain/tenant-input.ts';

/** An event as a tenant sends it. Without an `id`, the client assigns one before the first attempt. */
export type EventInput = z.input<typeof eventInputSchema>;

type ListValued = 'action' | 'exclude_action' | 'impersonated';

/**
 * `action` and `exclude_action` take a list as well as the API's comma-separated string;
 * `impersonated` a boolean.
 */
interface FilterConveniences {
  /** Exact actions and prefixes (`secret.*`): a list, or the API's comma-separated string. */
  action?: string | readonly string[];
  /** Actions to leave out (`audit_log.*`), in the same forms as `action`. */
  exclude_action?: string | readonly string[];
  impersonated?: boolean | 'true' | 'false';
}

/** The filters of `GET /v1/events` and of exports (`from`, `to`, `actor_id`, …). */
export type EventFilters = Omit<z.input<typeof eventFiltersSchema>, ListValued> & FilterConveniences;

export type ListEventsQuery = EventFilters & {
  /** Events per page, 1–1000 (the API's default: 100). */
  limit?: number;
  /** Where to continue: a page's `next_cursor`, with the same filters. */
  cursor?: string;
};

/** `GET /v1/feed`: the first call's `from` (default: 24 h ago), or a page's `next_cursor`. */
export interface FeedQuery {
  /** Events per page, 1–1000 (the API's default: 100). */
  limit?: number;
  /** Where to continue: a page's `next_cursor` (never with `from`). */
  cursor?: string;
  /** First call only: the events received at or after this time. */
  from?: string | Date;
}

/** How `events.follow` polls once caught up. */
export interface FollowOptions {
  /** Wait this long after an empty page before asking again (default 5 s). */
  pollIntervalMs?: number;
  /** Stops the iteration (also aborts a request or a wait in flight). */
  signal?: AbortSignal;
}

export type CreateExportInput = Omit<z.input<typeof createExportSchema>, ListValued> & FilterConveniences;

/** `GET /v1/integrity/digests`: digests whose interval ends in [from, to] (default: the last 24 h). */
export interface DigestsQuery {
  from?: string;
  to?: string;
}

export type CreateTenantInput = z.input<typeof createTenantSchema>;
export type UpdateTenantInput = z.input<typeof updateTenantSchema>;
export type CreateKeyInput = z.input<typeof createKeySchema>;

/** `POST /v1/tenants/{id}/viewer-sessions`: the person, their role (and teams), the session's length. */
export type CreateViewerSessionInput = z.input<typeof mintSessionSchema>;
