/**
 * Vitest global setup for the integration tests: one in-memory local stack (DynamoDB Local,
 * s3rver, gateway) for the whole run. Tests reach it with `inject('baseUrl')` and friends.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    operatorKey: string;
    dynamoEndpoint: string;
    s3Endpoint: string;
  }
}

/** Fixed so a failing test can be replayed by hand; it only ever guards an in-memory stack. */
export const TEST_OPERATOR_KEY = 'tk_op_integration-tests-operator-key-0000000000';

let stack: LocalStack | undefined;

export async function setup(project: TestProject): Promise<void> {
  stack = await startLocalStack({ port: 0, operatorKey: TEST_OPERATOR_KEY, logLevel: 'WARN' });
  project.provide('baseUrl', stack.url);
  project.provide('operatorKey', stack.operatorKey);
  project.provide('dynamoEndpoint', stack.dynamoEndpoint);
  project.provide('s3Endpoint', stack.s3Endpoint);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  stack = undefined;
}
