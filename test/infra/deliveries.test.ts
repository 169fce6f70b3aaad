/**
 * Assertions on the stream delivery resources of the synthesized TrailkeeperStack: the outbox
 * table, the delivery queue and its dead-letter queue, the deliverer's event source, the grants
 * each function's definition asks for (and nothing more), the destination key, the operator's
 * private-destination allow-list — and that no deployed function can carry the loopback exception
 * (TRAILKEEPER_ALLOW_HTTP_LOOPBACK), with a test showing that check can fail. Handlers are not
 * bundled (only the template is under test).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_DESTINATIONS_CONTEXT } from '#infra/constructs/deliveries.ts';
import { DESTINATION_KEY_ACTIONS, OUTBOX_ACTIONS } from '#infra/constructs/delivery-access.ts';
import { DELIVERY_QUEUE_MAX_AGE, TrailkeeperStack } from '#infra/stack.ts';
import { ENV } from '#shared/config/env.ts';
import { MANIFEST, theConsumerOf } from '#shared/config/manifest.ts';
import { DELIVERY_QUEUE } from '#shared/config/storage.ts';
import { OUTBOX_TABLE } from '#shared/config/tables.ts';
import {
  asList,
  defaultPolicyId,
  functionCases,
  type Json,
  logicalId,
  type Resource,
  TEST_CONSOLE,
  TEST_SENDER,
} from './stack-helpers.ts';

const synthesize = (context: Record<string, unknown> = {}, before?: (stack: TrailkeeperStack) => void) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    console: TEST_CONSOLE,
    emailFrom: TEST_SENDER,
  });
  before?.(stack);
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
};

type Statement = Record<string, Json>;

/** Every Lambda function of a template whose environment names the loopback exception. */
const functionsAllowingLoopback = (resources: Record<string, Resource>): string[] =>
  Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .filter(([, resource]) => {
      const variables = (resource.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)
        ?.Variables;
      return variables !== undefined && ENV.allowHttpLoopback in variables;
    })
    .map(([id]) => id);

let stack: TrailkeeperStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  ({ stack, template, resources } = synthesize());
});

const statementsOf = (role: Parameters<typeof defaultPolicyId>[0]): Statement[] => {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (policy === undefined) return [];
  return asList(
    (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
      ?.Statement,
  ) as Statement[];
};

/** The actions a role is allowed on a resource (by its logical id, as Fn::GetAtt or Ref). */
const actionsOn = (role: Parameters<typeof defaultPolicyId>[0], resourceId: string): string[] =>
  statementsOf(role)
    .filter((statement) => JSON.stringify(asList(statement.Resource)).includes(`"${resourceId}"`))
    .flatMap((statement) => asList(statement.Action) as string[])
    .sort();

describe('loopback exception', () => {
  it('is in no deployed function’s environment, whatever the deployment context says', () => {
    expect(functionsAllowingLoopback(resources)).toEqual([]);
    const withContext = synthesize({
      [PRIVATE_DESTINATIONS_CONTEXT]: '10.1.0.0/16',
      allowHttpLoopback: '1',
      [ENV.allowHttpLoopback]: '1',
    });
    expect(functionsAllowingLoopback(withContext.resources)).toEqual([]);
  });

  it('would be found by the check above if a function had it', () => {
    const tampered = synthesize({}, (s) =>
      s.functions.streamDeliverer.fn.addEnvironment(ENV.allowHttpLoopback, '1'),
    );
    expect(functionsAllowingLoopback(tampered.resources)).toEqual([
      logicalId(tampered.stack.functions.streamDeliverer.fn),
    ]);
  });
});

describe('outbox table', () => {
  it('is keyed by stream then received_at, expires by TTL and keeps point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: OUTBOX_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: OUTBOX_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: OUTBOX_TABLE.ttlAttribute, Enabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });
});

describe('delivery queue', () => {
  it('outlasts the deliverer’s timeout and dead-letters a message after five failed receives', () => {
    expect(DELIVERY_QUEUE.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(
      MANIFEST.streamDeliverer.timeoutSeconds,
    );
    expect(resources[logicalId(stack.deliveries.queue)]?.Properties).toMatchObject({
      VisibilityTimeout: DELIVERY_QUEUE.visibilityTimeoutSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.deliveries.deadLetterQueue), 'Arn'] },
        maxReceiveCount: DELIVERY_QUEUE.maxReceiveCount,
      },
    });
  });

  it('feeds the deliverer one message at a time, reporting failures per message', () => {
    const [name, definition] = theConsumerOf('deliveries');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.deliveries.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack.functions[name].fn) },
      BatchSize: definition.queue.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('alarms', () => {
  it('alarm when a delivery message has waited longer than any retry delay, and on dead letters', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.deliveries.queue), 'QueueName'] } },
      ],
      Threshold: DELIVERY_QUEUE_MAX_AGE.toSeconds(),
    });
    expect(DELIVERY_QUEUE_MAX_AGE.toSeconds()).toBeGreaterThan(900);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.deliveries.deadLetterQueue), 'QueueName'] },
        },
      ],
    });
  });
});

describe('grants and environment', () => {
  it('give each function the outbox, queue and key actions its definition names, and nothing more', () => {
    const outboxId = logicalId(stack.deliveries.outbox);
    const queueId = logicalId(stack.deliveries.queue);
    const keyId = logicalId(stack.deliveries.destinationKey);
    for (const { name, definition, role } of functionCases(stack)) {
      expect(actionsOn(role, outboxId), `${name} outbox`).toEqual(
        definition.outbox ? [...OUTBOX_ACTIONS[definition.outbox]].sort() : [],
      );
      const consumer = definition.kind === 'queue' && definition.queue.name === 'deliveries';
      expect(
        actionsOn(role, queueId).filter((a) => a === 'sqs:SendMessage'),
        `${name} queue`,
      ).toEqual(definition.deliveryQueue ? ['sqs:SendMessage'] : []);
      if (!consumer)
        expect(actionsOn(role, queueId).length, `${name} queue`).toBe(definition.deliveryQueue ? 1 : 0);
      expect(actionsOn(role, keyId), `${name} destination key`).toEqual(
        definition.destinationKey ? [...DESTINATION_KEY_ACTIONS[definition.destinationKey]].sort() : [],
      );
    }
  });

  it('name the outbox, the queue and the key to exactly the functions granted them', () => {
    for (const { name, definition, fn } of functionCases(stack)) {
      const variables =
        (
          resources[logicalId(fn)]?.Properties?.Environment as
            | { Variables?: Record<string, Json> }
            | undefined
        )?.Variables ?? {};
      expect(variables[ENV.outboxTable], `${name} outbox`).toEqual(
        definition.outbox ? { Ref: logicalId(stack.deliveries.outbox) } : undefined,
      );
      expect(variables[ENV.deliveryQueueUrl], `${name} queue`).toEqual(
        definition.deliveryQueue ? { Ref: logicalId(stack.deliveries.queue) } : undefined,
      );
      expect(variables[ENV.destinationKeyId], `${name} key`).toEqual(
        definition.destinationKey
          ? { 'Fn::GetAtt': [logicalId(stack.deliveries.destinationKey), 'Arn'] }
          : undefined,
      );
      expect(variables[ENV.privateDestinations], `${name} private destinations`).toBeUndefined();
    }
  });

  it('pass the operator’s private destinations to the functions that send to destinations', () => {
    const allowed = synthesize({ [PRIVATE_DESTINATIONS_CONTEXT]: '10.1.0.0/16,192.168.7.7' });
    for (const { name, definition, fn } of functionCases(allowed.stack)) {
      const variables =
        (
          allowed.resources[logicalId(fn)]?.Properties?.Environment as
            | { Variables?: Record<string, Json> }
            | undefined
        )?.Variables ?? {};
      expect(variables[ENV.privateDestinations], name).toBe(
        definition.destinations ? '10.1.0.0/16,192.168.7.7' : undefined,
      );
    }
  });

  it('refuses at synth an allow-list reaching beyond private ranges', () => {
    expect(() => synthesize({ [PRIVATE_DESTINATIONS_CONTEXT]: '8.8.8.0/24' })).toThrow(
      /not inside a private range/,
    );
    expect(() => synthesize({ [PRIVATE_DESTINATIONS_CONTEXT]: '169.254.169.254' })).toThrow(
      /TRAILKEEPER_PRIVATE_DESTINATIONS/,
    );
  });
});

describe('destination key', () => {
  it('is a rotated symmetric key kept on stack deletion', () => {
    expect(resources[logicalId(stack.deliveries.destinationKey)]).toMatchObject({
      Type: 'AWS::KMS::Key',
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
    });
  });
});

it('passes cdk-nag (AwsSolutions) with the delivery resources', () => {
  const report = new AwsSolutionsChecks().validateScope(synthesize().app);
  expect(
    report.violations.map(
      (v) => `${v.ruleName} ${JSON.stringify(v.violatingResources?.map((r) => r.resourceLogicalId) ?? [])}`,
    ),
  ).toEqual([]);
});
