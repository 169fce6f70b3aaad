/**
 * Integrity scan (EventBridge schedule, every 15 minutes): re-verifies every newly sealed digest
 * against the hot store (shared/usecases/integrity-scan.ts). Any mismatch is logged as a security
 * finding (tenant, digest sequence, event id — never content) and raises IntegrityMismatch
 * (alarmed).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { digestStore, sealStore } from '#shared/adapters/integrity-wiring.ts';
import { signerFromEnv } from '#shared/adapters/signer.ts';
import { INTEGRITY_SCAN } from '#shared/config/routes.ts';
import { scanAll } from '#shared/usecases/integrity-scan.ts';

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trailkeeper' });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Trailkeeper',
  serviceName: 'trailkeeper',
});

const deps = { control: controlStore(), seals: sealStore(), digests: digestStore() };

const RESERVE_MS = 60_000;

export const handler = async (_event: unknown, context: Context) => {
  const result = await scanAll(
    { ...deps, signer: await signerFromEnv() },
    () => context.getRemainingTimeInMillis(),
    RESERVE_MS,
  );
  for (const finding of result.findings) {
    logger.error('SECURITY FINDING: stored events differ from their signed digest', {
      finding: 'integrity_mismatch',
      tenant_id: finding.tenantId,
      digest_sequence: finding.sequence,
      problem: finding.problem,
    });
  }
  metrics.addMetric(INTEGRITY_SCAN.metrics.mismatch, MetricUnit.Count, result.findings.length);
  metrics.addMetric(INTEGRITY_SCAN.metrics.verified, MetricUnit.Count, result.events);
  metrics.addMetric(INTEGRITY_SCAN.metrics.missing, MetricUnit.Count, result.missing);
  metrics.publishStoredMetrics();
  logger.info('integrity scan', {
    digests: result.digests,
    events: result.events,
    findings: result.findings.length,
  });
  return { digests: result.digests, events: result.events, findings: result.findings };
};
