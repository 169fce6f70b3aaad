/**
 * Sealer (EventBridge schedule, every 5 minutes; a timer locally): seals every tenant's newly
 * received events into its next signed, chained digest (shared/usecases/seal.ts). Reserved
 * concurrency 1, and each digest is saved conditioned on the chain not having moved. Logs ids
 * and counts only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { digestStore, sealStore } from '#shared/adapters/integrity-wiring.ts';
import { signerFromEnv } from '#shared/adapters/signer.ts';
import { ENV } from '#shared/config/routes.ts';
import { sealAll } from '#shared/usecases/seal.ts';

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trailkeeper' });

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

export const handler = async (_event: unknown, context: Context) => {
  const result = await sealAll(
    { ...deps, signer: await signerFromEnv() },
    () => context.getRemainingTimeInMillis(),
    RESERVE_MS,
  );
  logger.info('sealed', result);
  return result;
};
