/**
 * The metrics handlers emit (the `metrics` of their manifest entry, Powertools EMF in the
 * namespace and with the `service` dimension every Trailkeeper handler uses), as CloudWatch sees
 * them: what the handler writes and what monitoring.ts alarms on, named once.
 */
import { type FunctionDefinition, type FunctionName, MANIFEST } from '#shared/config/manifest.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/observability.ts';

/** A metric a handler emits and an alarm may watch. Change one, change both. */
export interface ServiceMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: { readonly service: string };
}

/** A handler metric by name. */
export const serviceMetric = (metricName: string): ServiceMetric => ({
  namespace: METRICS_NAMESPACE,
  metricName,
  dimensions: { service: SERVICE_NAME },
});

type MetricKeys<N extends FunctionName> = (typeof MANIFEST)[N] extends { metrics: infer M } ? keyof M : never;

/** Every metric function `name` emits, by the key its manifest entry gives it. */
export const functionMetrics = <N extends FunctionName>(name: N): Record<MetricKeys<N>, ServiceMetric> => {
  const definition: FunctionDefinition = MANIFEST[name];
  return Object.fromEntries(
    Object.entries(definition.metrics ?? {}).map(([key, metricName]) => [key, serviceMetric(metricName)]),
  ) as Record<MetricKeys<N>, ServiceMetric>;
};

/** The archiver's: tampering and quarantined are alarmed; the others are counts to graph. */
export const ARCHIVER_METRICS = functionMetrics('archiver');
export const TAMPERING_METRIC = ARCHIVER_METRICS.tampering;
export const QUARANTINE_METRIC = ARCHIVER_METRICS.quarantined;

/**
 * The integrity scan's: `mismatch` (a stored event, a Merkle root, a signature or a chain link
 * that no longer checks out) is alarmed; `verified` and `missing` (sealed events no longer in the
 * hot store: TTL expiries, or deletions the archiver flagged as EventTampering) are counts to graph.
 *
 * No alarm on EventsVerified dropping to zero: a scan with nothing new to verify (no tenant
 * sealed anything since) verifies nothing and is healthy. That the scan runs at all is the
 * integrityScanStalled alarm (monitoring.ts, missing data = breaching); that sealing goes on is
 * sealerStalled.
 */
export const INTEGRITY_SCAN_METRICS = functionMetrics('integrityScan');
export const INTEGRITY_MISMATCH_METRIC = INTEGRITY_SCAN_METRICS.mismatch;
