/**
 * Integrity scan (EventBridge schedule, every 15 minutes): re-verifies every newly sealed digest
 * against the hot store (shared/usecases/integrity-scan.ts). Any mismatch is logged as a security
 * finding (tenant, digest sequence, event id — never content) and raises IntegrityMismatch
 * (alarmed).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { digestStore, sealStore } from '#shared/adapters/integrity-wiring.ts';
import { signerFromEnv } from '#shared/adapters/signer.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { scanAll } from '#shared/usecases/integrity-scan.ts';

const telemetry = createTelemetry();
const { logger, metrics } = telemetry;
const names = MANIFEST.integrityScan.metrics;

const deps = { control: controlStore(), seals: sealStore(), digests: digestStore() };

const RESERVE_MS = 60_000;

export const handler = lambdaHandler('integrityScan', telemetry, async (_event, context) => {
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
  metrics.addMetric(names.mismatch, MetricUnit.Count, result.findings.length);
  metrics.addMetric(names.verified, MetricUnit.Count, result.events);
  metrics.addMetric(names.missing, MetricUnit.Count, result.missing);
  logger.info('integrity scan', {
    digests: result.digests,
    events: result.events,
    findings: result.findings.length,
  });
  return { digests: result.digests, events: result.events, findings: result.findings };
});
