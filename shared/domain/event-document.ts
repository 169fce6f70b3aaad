/**
 * An event as a document: the field order the API shows, its hash and the fingerprint of what a
 * client submitted. Without zod (the event schemas stay in event.ts), so the readers that only
 * store and present events — the event store, and through it the archiver and the sealer — do not
 * carry the validation code. Pure.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { StoredEvent } from './event.ts';

/** Field order of events in API answers (canonical JSON sorts keys; people read ids first). */
const FIELD_ORDER = [
  'id',
  'tenant_id',
  'action',
  'occurred_at',
  'received_at',
  'actor',
  'impersonator',
  'impersonated',
  'target',
  'team_id',
  'context',
  'area',
  'method',
  'status',
  'duration_ms',
  'request',
  'metadata',
  'expires_at',
  'hash',
] as const satisfies readonly (keyof StoredEvent)[];

/** The event as the API shows it: the same fields in a fixed, readable order. */
export const presentEvent = (event: StoredEvent): StoredEvent => {
  const ordered: Record<string, unknown> = {};
  for (const field of FIELD_ORDER) if (event[field] !== undefined) ordered[field] = event[field];
  return ordered as unknown as StoredEvent;
};

const sha256Canonical = (value: unknown): string => {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new Error('event is not serialisable');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
};

/** The fields the hash covers: everything but `expires_at` (retention may change) and the hash itself. */
export const hashEvent = (event: Omit<StoredEvent, 'hash' | 'expires_at'> | StoredEvent): string => {
  const { expires_at: _expires, hash: _hash, ...covered } = event as Partial<StoredEvent>;
  return sha256Canonical(covered);
};

/** Fields the service fills in, never part of what a client submitted. */
const SERVER_FILLED = ['tenant_id', 'received_at', 'impersonated', 'expires_at', 'hash'] as const;

/**
 * Fingerprint of what a client submitted (SHA-256 hex of RFC 8785 canonical JSON), read off the
 * event built from it: after sanitizing and normalising (trimmed strings, `occurred_at` in UTC),
 * without the fields the service fills, and without `occurred_at` when it was defaulted to the
 * time received. Two submissions of one id are the same event when their fingerprints agree.
 */
export const contentHash = (
  event: Omit<StoredEvent, 'hash' | 'expires_at'> | StoredEvent,
  occurredAtSent: boolean,
): string => {
  const submitted: Record<string, unknown> = { ...event };
  for (const field of SERVER_FILLED) delete submitted[field];
  if (!occurredAtSent) delete submitted.occurred_at;
  return sha256Canonical(submitted);
};
