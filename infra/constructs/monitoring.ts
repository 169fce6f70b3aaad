/**
 * Alarms and where they go: API 5xx, errors and throttles of every function (for scheduled jobs
 * errors, and runs that stopped happening), DynamoDB throttling on the events table, the
 * archiver's tampering and quarantine metrics, the integrity scan's mismatches, stream consumers
 * falling behind, messages in any dead-letter queue and jobs waiting too long in a work queue,
 * all sent to one encrypted SNS topic (optionally with an e-mail subscription).
 */
import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITableV2, Operation } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUARANTINE_METRIC, TAMPERING_METRIC } from './archiver.ts';
import { INTEGRITY_MISMATCH_METRIC } from './integrity-metrics.ts';
import type { ServiceMetric } from './service-function.ts';

/** Operations our functions run on the events table (see table-access.ts). */
const EVENTS_OPERATIONS = [
  Operation.PUT_ITEM,
  Operation.GET_ITEM,
  Operation.QUERY,
  Operation.BATCH_GET_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
];

const PERIOD = Duration.minutes(5);

/** A stream consumer whose oldest unprocessed record is older than this is falling behind. */
export const MAX_ITERATOR_AGE = Duration.hours(1);

/**
 * A scheduled job with no run over this many of its ticks (and at least STALLED_MIN_WINDOW) has
 * stopped: its rule was disabled or deleted, EventBridge lost the permission to invoke it, or
 * its reserved concurrency was set to zero (the console's Throttle button). Its work (sealing, compaction, …) silently
 * falls behind: a job that does not run raises no Errors alarm, and a disabled rule puts nothing
 * in its dead-letter queue.
 */
export const STALLED_AFTER_TICKS = 3;
export const STALLED_MIN_WINDOW = Duration.minutes(30);

/** The window over which a job running every `rateMinutes` must have been invoked at least once. */
export const stalledWindow = (rateMinutes: number): Duration =>
  Duration.minutes(Math.max(STALLED_MIN_WINDOW.toMinutes(), STALLED_AFTER_TICKS * rateMinutes));

/** One-minute sums: a single occurrence of a security metric is an alarm. */
const sumOf = (metric: ServiceMetric): Metric =>
  new Metric({
    namespace: metric.namespace,
    metricName: metric.metricName,
    dimensionsMap: { ...metric.dimensions },
    period: Duration.minutes(1),
    statistic: 'Sum',
  });

export interface MonitoringProps {
  readonly httpApi: IHttpApi;
  /** Every function of the stack, by a readable name used in alarm descriptions. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /**
   * Scheduled jobs (reserved concurrency 1) and the minutes between their ticks, alarmed on errors
   * and on no run at all for stalledWindow(rateMinutes), not on throttles: a tick that finds the
   * previous run still going is throttled by design, and the next tick picks the work up.
   */
  readonly scheduledFunctions: Readonly<Record<string, { fn: IFunction; rateMinutes: number }>>;
  /** Functions fed by a stream event source, alarmed when their IteratorAge exceeds MAX_ITERATOR_AGE. */
  readonly streamConsumers: Readonly<Record<string, IFunction>>;
  readonly eventsTable: ITableV2;
  /** Dead-letter queues by a readable name: one message in any of them is an alarm. */
  readonly deadLetterQueues: Readonly<Record<string, { queue: IQueue; description: string }>>;
  /** Work queues by a readable name, alarmed when their oldest message is older than `maxAge`. */
  readonly workQueues: Readonly<Record<string, { queue: IQueue; maxAge: Duration; description: string }>>;
  /** Subscribed to the alarm topic when given (context value `alarmEmail`). */
  readonly alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the topic
    // gets its own key whose policy lets CloudWatch use it.
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the Trailkeeper alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: 'Trailkeeper alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    this.alarmOn('Api5xx', props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' }), {
      description: 'The HTTP API answered 5xx (bad input never should: a handler or dependency failed).',
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarmOn(`${name}Errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), {
        description: `The ${name} function threw or timed out.`,
      });
      this.alarmOn(`${name}Throttles`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), {
        description: `The ${name} function was throttled (account or reserved concurrency exhausted).`,
      });
    }

    for (const [name, { fn, rateMinutes }] of Object.entries(props.scheduledFunctions)) {
      this.alarmOn(`${name}Errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), {
        description: `The scheduled ${name} job threw or timed out; the next run resumes its work, so repeated alarms mean it keeps failing.`,
      });
      const window = stalledWindow(rateMinutes);
      // No invocation means no datapoint at all: missing data is the very thing to alarm on.
      this.alarmOn(`${name}Stalled`, fn.metricInvocations({ period: window, statistic: 'Sum' }), {
        description: `The scheduled ${name} job (every ${rateMinutes} minute(s)) has not run for ${window.toMinutes()} minutes: check its EventBridge rule, its invoke permission and its reserved concurrency.`,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.BREACHING,
      });
    }

    for (const [name, fn] of Object.entries(props.streamConsumers)) {
      this.alarmOn(`${name}IteratorAge`, fn.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum' }), {
        description: `The ${name} function is over ${MAX_ITERATOR_AGE.toHours()} hour behind the events stream (failing or too slow): records leave the stream after 24 hours.`,
        threshold: MAX_ITERATOR_AGE.toMilliseconds(),
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }

    this.alarmOn(
      'EventsTableThrottles',
      props.eventsTable.metricThrottledRequestsForOperations({
        operations: EVENTS_OPERATIONS,
        period: PERIOD,
        statistic: 'Sum',
      }),
      { description: 'DynamoDB throttled requests on the events table (hot partition or account limit).' },
    );

    this.alarmOn('EventTampering', sumOf(TAMPERING_METRIC), {
      description:
        'A stored event was modified other than by a retention re-timing, or deleted other than by TTL. Investigate immediately.',
    });
    this.alarmOn('ArchiveQuarantined', sumOf(QUARANTINE_METRIC), {
      description:
        'The archiver could not read a stream record and wrote it to the archive quarantine/ prefix: that event is not in the regular archive. Inspect the quarantined object.',
    });
    this.alarmOn('IntegrityMismatch', sumOf(INTEGRITY_MISMATCH_METRIC), {
      description:
        "The integrity scan found a sealed interval that no longer verifies: a stored event's hash, a digest's Merkle root, its signature or its chain link. Events were altered, removed or inserted after sealing, or a digest was replaced. Investigate immediately: the scan's SECURITY FINDING log lines name the tenant, the digest sequence and the problem.",
    });

    for (const [name, { queue, description }] of Object.entries(props.deadLetterQueues)) {
      this.alarmOn(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        { description },
      );
    }

    for (const [name, { queue, maxAge, description }] of Object.entries(props.workQueues)) {
      this.alarmOn(
        `${name}OldestMessage`,
        queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
        { description, threshold: maxAge.toSeconds(), comparison: ComparisonOperator.GREATER_THAN_THRESHOLD },
      );
    }
  }

  /**
   * Alarm at ≥ 1 (unless told otherwise) in one period; no data means nothing happened, which is
   * healthy (unless told otherwise).
   */
  private alarmOn(
    id: string,
    metric: IMetric,
    options: {
      description: string;
      threshold?: number;
      comparison?: ComparisonOperator;
      treatMissingData?: TreatMissingData;
    },
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
