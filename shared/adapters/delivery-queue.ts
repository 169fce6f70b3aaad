/**
 * The stream delivery queue (SQS, DELIVERY_QUEUE): `wake` and `replay` messages for the
 * deliverer, retries as messages sent with DelaySeconds. Implements the streams API's
 * DeliveryQueue port and the pipeline's raw `send`. A message names a stream only; the deliverer
 * loads everything else, so a duplicate or late message is harmless.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MAX_QUEUE_DELAY_SECONDS } from '../config/storage.ts';
import type { AlertFire } from '../domain/alert-rules.ts';
import type { AlertNotification } from '../usecases/ports/alerts.ts';
import type {
  DeliveryMessage,
  DeliveryMessageQueue,
  DeliveryQueueMessage,
} from '../usecases/ports/deliveries.ts';
import type { StreamRef } from '../usecases/ports/streams.ts';

export class SqsDeliveryQueue implements DeliveryMessageQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: DeliveryQueueMessage, delaySeconds = 0): Promise<void> {
    const delay = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        ...(delay > 0 ? { DelaySeconds: delay } : {}),
      }),
    );
  }

  wake(ref: StreamRef, delaySeconds?: number): Promise<void> {
    return this.send({ kind: 'wake', tenant_id: ref.tenant_id, stream_id: ref.stream_id }, delaySeconds);
  }

  replay(ref: StreamRef, window: { from: string; to: string }): Promise<void> {
    return this.send({ kind: 'replay', tenant_id: ref.tenant_id, stream_id: ref.stream_id, ...window });
  }
}

const clients = new Map<string, SQSClient>();

/**
 * A client whose endpoint is the queue URL's origin: in AWS that is the regional SQS endpoint
 * anyway, and locally each queue is its own fake SQS (infra/local/fake-sqs.ts) while
 * AWS_ENDPOINT_URL_SQS can name only one.
 */
export const sqsClientFor = (queueUrl: string): SQSClient => {
  const origin = new URL(queueUrl).origin;
  let client = clients.get(origin);
  if (client === undefined) {
    client = new SQSClient({ endpoint: origin });
    clients.set(origin, client);
  }
  return client;
};

/** Parses a message body; undefined for anything that is not a delivery message. */
export const parseDeliveryMessage = (body: string): DeliveryMessage | undefined => {
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    if (typeof value.tenant_id !== 'string' || typeof value.stream_id !== 'string') return undefined;
    const ref = { tenant_id: value.tenant_id, stream_id: value.stream_id };
    if (value.kind === 'wake') return { kind: 'wake', ...ref };
    if (value.kind === 'replay' && typeof value.from === 'string' && typeof value.to === 'string')
      return {
        kind: 'replay',
        ...ref,
        from: value.from,
        to: value.to,
        ...(typeof value.cursor === 'string' ? { cursor: value.cursor } : {}),
      };
    return undefined;
  } catch {
    return undefined;
  }
};

/** Parses an alert notification (its fire as the router or sweeper wrote it); undefined otherwise. */
export const parseAlertNotification = (body: string): AlertNotification | undefined => {
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    const fire = value.fire as Partial<AlertFire> | undefined;
    if (
      value.kind !== 'alert' ||
      typeof value.tenant_id !== 'string' ||
      typeof value.alert_id !== 'string' ||
      typeof value.target !== 'number' ||
      typeof value.fire_id !== 'string' ||
      typeof value.fired_at !== 'string' ||
      typeof value.attempt !== 'number' ||
      typeof fire !== 'object' ||
      fire === null ||
      !Array.isArray(fire.events) ||
      typeof fire.suppressed !== 'number'
    )
      return undefined;
    return value as unknown as AlertNotification;
  } catch {
    return undefined;
  }
};
