/**
 * Sealing parameters, derived from the manifest so they cannot drift from it.
 */
import { type FunctionDefinition, MANIFEST } from './manifest.ts';

/** Every function that writes events, whatever its kind. */
const appenders: readonly FunctionDefinition[] = Object.values(MANIFEST).filter(
  (fn: FunctionDefinition) => fn.events === 'append' || fn.events === 'read-append',
);

export const INTEGRITY = {
  /**
   * An interval is sealed only this long after its end: an event's `received_at` is stamped when
   * its function starts building it, and no function that writes events can still be running (so
   * still writing) after its timeout. One minute more covers a request already on the wire and
   * clock differences between functions.
   */
  watermarkLagSeconds: Math.max(...appenders.map((fn) => fn.timeoutSeconds)) + 60,
  /** At most this many events per digest (proofs stay ≤ 16 hashes and cheap to build). */
  maxLeavesPerDigest: 65_536,
  /** A tenant without events still gets a digest this often: the chain shows nothing was dropped. */
  heartbeatHours: 24,
  /** Digests in the archive bucket (Object Lock): `digests/tenant=<id>/<sequence>.json`. */
  digestsPrefix: 'digests/',
} as const;
