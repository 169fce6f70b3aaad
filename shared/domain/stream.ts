/**
 * Classifies changes seen on the events table's stream. Events are append-only, so the only
 * legitimate changes are inserts, TTL expiries (a REMOVE made by the table's TTL process itself)
 * and retention re-timings (a MODIFY that changed nothing but the TTL attribute, which the event
 * hash does not cover and which only the retention worker's role may write); anything else — an
 * overwrite, an update of any other attribute, a delete by any principal — is tampering.
 * Pure: the stream adapter (shared/adapters/event-stream.ts) reads the records into EventChange.
 */
import { EVENTS_TABLE } from '../config/tables.ts';

export type ChangeKind = 'insert' | 'expiry' | 'retiming' | 'tampering';

/** What the rules need to know of one change to an event item. */
export interface EventChange {
  /** The stream's name for the change: INSERT, MODIFY or REMOVE (anything else is tampering). */
  eventName: string;
  /**
   * Attributes added, removed or given another value between the old and the new item; null when
   * the record lacks either image.
   */
  changedAttributes: readonly string[] | null;
  /** True when the table's TTL process made the change (the database service itself). */
  byTtl: boolean;
}

export const classifyChange = (change: EventChange): ChangeKind => {
  if (change.eventName === 'INSERT') return 'insert';
  if (change.eventName === 'MODIFY') {
    const onlyTtl = change.changedAttributes?.every((name) => name === EVENTS_TABLE.ttlAttribute);
    return onlyTtl === true ? 'retiming' : 'tampering';
  }
  return change.eventName === 'REMOVE' && change.byTtl ? 'expiry' : 'tampering';
};
