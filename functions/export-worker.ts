/**
 * Export worker (SQS consumer). Runs each job until done or until its time runs low (then the
 * job re-enqueues itself). A failed attempt is reported back so SQS retries it; the last allowed
 * attempt marks the export failed and emails the requester instead. Emails never fail a job (the
 * use case records them on the export), and the handler never throws: one bad job must not make
 * SQS redeliver the others of its batch. Logs ids, never events.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { exportDeps, exportPartBytes, exportTimeReserveMs } from '#shared/adapters/export-wiring.ts';
import { EXPORT_QUEUE } from '#shared/config/storage.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { failExport, runExportJob } from '#shared/usecases/export-job.ts';
import type { ExportJob } from '#shared/usecases/ports/exports.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;

const deps = {
  ...exportDeps(),
  partBytes: exportPartBytes(),
  reserveMs: exportTimeReserveMs(),
};

const parseJob = (body: string): ExportJob | null => {
  try {
    const job = JSON.parse(body) as Partial<ExportJob>;
    return typeof job.tenantId === 'string' && typeof job.exportId === 'string'
      ? { tenantId: job.tenantId, exportId: job.exportId }
      : null;
  } catch {
    return null;
  }
};

export const handler = lambdaHandler('exportWorker', telemetry, async (event, context) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const job = parseJob(record.body);
    if (job === null) {
      logger.error('dropping a malformed export job', { message_id: record.messageId });
      continue;
    }
    const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    try {
      const outcome = await runExportJob(deps, job, () => context.getRemainingTimeInMillis());
      logger.info('export job', { export_id: job.exportId, tenant_id: job.tenantId, outcome, attempt });
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      logger.warn('export attempt failed', {
        export_id: job.exportId,
        tenant_id: job.tenantId,
        attempt,
        error: name,
      });
      if (attempt < EXPORT_QUEUE.maxReceiveCount) {
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        await failExport(deps, job, `the export failed ${attempt} times (${name})`);
      } catch (failure) {
        // Not even the failure could be recorded: let SQS move the job to its dead-letter queue.
        logger.error('export could not be marked failed', {
          export_id: job.exportId,
          tenant_id: job.tenantId,
          error: failure instanceof Error ? failure.name : 'Error',
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
  }
  return { batchItemFailures };
});
