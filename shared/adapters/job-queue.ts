/**
 * The export job queue (SQS). A message names one export; the worker loads everything else from
 * the export record, so a message can be delivered twice or re-sent as a continuation safely.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ExportJob, JobQueue } from '../usecases/ports/exports.ts';

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(job: ExportJob): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(job) }),
    );
  }
}
