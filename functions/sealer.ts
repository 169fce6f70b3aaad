/**
 * Sealer (EventBridge schedule, every 5 minutes; a timer locally): seals every tenant's newly
 * received events into its next signed, chained digest (shared/usecases/seal.ts). Reserved
 * concurrency 1, and each digest is saved conditioned on the chain not having moved. Logs ids
 * and counts only.
 */
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { digestStore, sealStore } from '#shared/adapters/integrity-wiring.ts';
import { signerFromEnv } from '#shared/adapters/signer.ts';
import { ENV } from '#shared/config/env.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { sealAll } from '#shared/usecases/seal.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;

/** Locally the watermark lag may be shortened (tests); AWS always uses INTEGRITY's. */
const lagOverride = (): { watermarkLagMs?: number } => {
  const value = Number(process.env[ENV.sealWatermarkLagMs]);
  return process.env[ENV.sealWatermarkLagMs] !== undefined && Number.isFinite(value)
    ? { watermarkLagMs: value }
    : {};
};

const deps = {
  control: controlStore(),
  events: sealStore(),
  digests: digestStore(),
  now: () => Date.now(),
  ...lagOverride(),
};

/** Stop starting tenants this long before the timeout. */
const RESERVE_MS = 30_000;

export const handler = lambdaHandler('sealer', telemetry, async (_event, context) => {
  const result = await sealAll(
    { ...deps, signer: await signerFromEnv() },
    () => context.getRemainingTimeInMillis(),
    RESERVE_MS,
  );
  logger.info('sealed', result);
  return result;
});
