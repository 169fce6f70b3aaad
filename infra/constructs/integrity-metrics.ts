/**
 * The metrics of the continuous integrity scan (INTEGRITY_SCAN.metrics in shared/config/routes.ts),
 * in the namespace and with the dimension every Trailkeeper handler emits (Powertools EMF): what
 * the handler writes and what monitoring.ts alarms on, named once. The scan itself is an ordinary
 * scheduled job (SCHEDULED_JOBS in stack.ts).
 */
import { INTEGRITY_SCAN } from '#shared/config/routes.ts';
import { serviceMetric } from './service-function.ts';

export const INTEGRITY_SCAN_METRICS = {
  /** A stored event, a Merkle root, a signature or a chain link that no longer checks out. Alarmed. */
  mismatch: serviceMetric(INTEGRITY_SCAN.metrics.mismatch),
  /** Events re-verified: a count to graph. */
  verified: serviceMetric(INTEGRITY_SCAN.metrics.verified),
  /**
   * Sealed events no longer in the hot store: TTL expiries (normal) or deletions the archiver
   * flagged as EventTampering (alarmed there). A count to graph, not alarmed.
   */
  missing: serviceMetric(INTEGRITY_SCAN.metrics.missing),
} as const;

/*
 * No alarm on EventsVerified dropping to zero: a scan with nothing new to verify (no tenant
 * sealed anything since) verifies nothing and is healthy. That the scan runs at all is the
 * integrityScanStalled alarm (monitoring.ts, missing data = breaching); that sealing goes on is
 * sealerStalled.
 */

export const INTEGRITY_MISMATCH_METRIC = INTEGRITY_SCAN_METRICS.mismatch;
