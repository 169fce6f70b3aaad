/**
 * Vitest global setup for the integration tests: one in-memory local stack (DynamoDB Local,
 * s3rver, gateway, the local SQS and SES endpoints) for the whole run. Tests reach it with
 * `inject('baseUrl')` and friends. Test files run in other processes than this one: they wait for
 * the export queue over HTTP (`<origin of exportQueueUrl>/_local/queue/idle`, see fake-sqs.ts)
 * and read emails from `outboxDir`.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    operatorKey: string;
    dynamoEndpoint: string;
    /** Whether DynamoDB Local listens on 127.0.0.1 only (it needs a JDK's javac for that). */
    dynamoLoopbackOnly: boolean;
    s3Endpoint: string;
    /** Where the local SES writes each email (`*.eml`). */
    outboxDir: string;
    /** The export queue's URL (EXPORT_QUEUE_URL). */
    exportQueueUrl: string;
    /** The delivery queue's URL (DELIVERY_QUEUE_URL): `<origin>/_local/queue/idle` waits for it. */
    deliveryQueueUrl: string;
    /** The environment the stack gave the handlers (endpoints, table and bucket names, …). */
    localEnv: Record<string, string>;
  }
}

/** Fixed so a failing test can be replayed by hand; it only ever guards an in-memory stack. */
export const TEST_OPERATOR_KEY = 'tk_op_integration-tests-operator-key-0000000000';

let stack: LocalStack | undefined;

export async function setup(project: TestProject): Promise<void> {
  stack = await startLocalStack({
    port: 0,
    operatorKey: TEST_OPERATOR_KEY,
    logLevel: 'WARN',
    // Force every asynchronous export through many parts and a checkpoint + re-enqueue after
    // each one: the reserve exceeds the worker's whole time budget.
    exportPartBytes: 256 * 1024,
    exportTimeReserveMs: 16 * 60_000,
    // Stream and alert receivers are plain-http servers on 127.0.0.1 (test/support/receiver.ts),
    // and the deliverer's retries come after tens of milliseconds instead of seconds.
    allowHttpLoopback: true,
    deliveryBackoffMs: 100,
    // The sweeper (every 3 s by default locally) wakes streams whose wake message was lost.
    scheduleEveryMs: { 'stream-sweeper': 1000 },
  });
  project.provide('baseUrl', stack.url);
  project.provide('operatorKey', stack.operatorKey);
  project.provide('dynamoEndpoint', stack.dynamoEndpoint);
  project.provide('dynamoLoopbackOnly', stack.dynamoLoopbackOnly);
  project.provide('s3Endpoint', stack.s3Endpoint);
  project.provide('outboxDir', stack.outboxDir);
  project.provide('exportQueueUrl', stack.queue.url);
  project.provide('deliveryQueueUrl', stack.queues.deliveries.url);
  project.provide('localEnv', { ...stack.env });
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  stack = undefined;
}
