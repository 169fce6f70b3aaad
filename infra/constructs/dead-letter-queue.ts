/**
 * A dead-letter queue for a non-SQS source (a stream event source mapping's on-failure
 * destination, a schedule target's DLQ): encrypted, TLS only, kept 14 days, alarmed by the
 * monitoring construct. cdk-nag's SQS3 asks every queue for a DLQ of its own unless another
 * queue uses it as one; these are the end of the line, which the acknowledgement says.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export const deadLetterQueue = (scope: Construct, id: string, whatFor: string): Queue => {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself the ${whatFor}; nothing consumes it automatically, so it needs no dead-letter queue of its own.`,
  });
  return queue;
};
