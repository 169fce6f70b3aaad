/**
 * An event's *kind*: its low-cardinality fields together — action, area, method, target type,
 * status and actor type. One GSI (`byKind`) keys every event by its kind, so a filter on any of
 * these fields, alone or combined, reads exactly the partitions of the kinds it matches (listed by
 * the tenant's kind registry) instead of one index per field: one write unit per event instead
 * of six. A kind is named in keys by a short digest of its fields (kindId). Pure.
 */
import { createHash } from 'node:crypto';
import type { StoredEvent } from './event.ts';

export const KIND_FIELDS = ['action', 'area', 'method', 'target_type', 'status', 'actor_type'] as const;
export type KindField = (typeof KIND_FIELDS)[number];

/** The kind fields of an event; an absent field is absent (never ''). */
export type EventKind = { action: string } & Partial<Record<Exclude<KindField, 'action'>, string>>;

/** A kind as the tenant's registry lists it: its fields, and about how many events it has had. */
export interface RegisteredKind {
  id: string;
  kind: EventKind;
  /** Events counted so far (approximate: a container may stop before adding its last counts). */
  count: number;
}

export const kindOf = (
  event: Pick<StoredEvent, 'action' | 'area' | 'method' | 'target' | 'status' | 'actor'>,
): EventKind => {
  const kind: EventKind = { action: event.action };
  if (event.area !== undefined) kind.area = event.area;
  if (event.method !== undefined) kind.method = event.method;
  if (event.target?.type !== undefined) kind.target_type = event.target.type;
  if (event.status !== undefined) kind.status = String(event.status);
  if (event.actor.type !== undefined) kind.actor_type = event.actor.type;
  return kind;
};

/**
 * 16 base64url characters (96 bits) of SHA-256 over the fields in a fixed order: short in every
 * key, and no two kinds of a tenant will share one. (If two ever did, nothing wrong would be
 * returned: every filter is also evaluated on each event read; the partition would only be read
 * for both.)
 */
export const kindId = (kind: EventKind): string =>
  createHash('sha256')
    .update(JSON.stringify(KIND_FIELDS.map((field) => kind[field] ?? null)))
    .digest('base64url')
    .slice(0, 16);
