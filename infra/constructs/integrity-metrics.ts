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
} as const;

export const INTEGRITY_MISMATCH_METRIC = INTEGRITY_SCAN_METRICS.mismatch;
