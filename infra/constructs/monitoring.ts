/**
 * Alarms and where they go: API 5xx, errors and throttles of every function of the manifest (for
 * `schedule` functions errors, and runs that stopped happening; for `stream` functions also their
 * lag), DynamoDB throttling on both tables, the
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
  MathExpression,
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
import { FUNCTION_NAMES, type FunctionName, functionsOfKind, MANIFEST } from '#shared/config/manifest.ts';
import {
  INTEGRITY_MISMATCH_METRIC,
  QUARANTINE_METRIC,
  type ServiceMetric,
  TAMPERING_METRIC,
} from './metrics.ts';

const PERIOD = Duration.minutes(5);

/**
 * The DynamoDB operations our functions run on each table (the grants of table-access.ts; a
 * ConditionCheckItem only ever runs inside TransactWriteItems). DynamoDB publishes
 * ThrottledRequests per operation only, so an operation missing here is throttled unseen:
 * test/infra checks this list against every grant.
 */
export const TABLE_OPERATIONS = {
  /** Ingest (PutItem, TransactWriteItems), reads (GetItem, Query, BatchGetItem), retention re-timing (UpdateItem). */
  events: [
    Operation.PUT_ITEM,
    Operation.TRANSACT_WRITE_ITEMS,
    Operation.GET_ITEM,
    Operation.QUERY,
    Operation.BATCH_GET_ITEM,
    Operation.UPDATE_ITEM,
  ],
  /** Tenants, keys, exports, jobs and digests: the authorizer reads it on every request. */
  control: [
    Operation.GET_ITEM,
    Operation.QUERY,
    Operation.BATCH_GET_ITEM,
    Operation.PUT_ITEM,
    Operation.UPDATE_ITEM,
    Operation.DELETE_ITEM,
    Operation.BATCH_WRITE_ITEM,
    Operation.TRANSACT_WRITE_ITEMS,
  ],
} as const satisfies Record<string, readonly Operation[]>;

/**
 * Throttled requests of `table` summed over `operations`. Each operation's series only has data
 * points when that operation was throttled; a plain `m1 + m2` is missing wherever one of them is
 * (CloudWatch computes arithmetic only where every operand has a value), so a throttle of one
 * operation alone would never reach the alarm. FILL(…, 0) makes every series complete first.
 */
export const throttledRequests = (table: ITableV2, operations: readonly Operation[]): MathExpression => {
  const usingMetrics = Object.fromEntries(
    operations.map((operation) => [
      operation.toLowerCase(),
      table.metric('ThrottledRequests', {
        dimensionsMap: { TableName: table.tableName, Operation: operation },
        period: PERIOD,
        statistic: 'Sum',
      }),
    ]),
  );
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period: PERIOD,
    label: `Throttled requests (${operations.join(', ')})`,
  });
};

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

/** A deployed function: its Lambda and, for a `schedule` function, the rate it was deployed with. */
export interface MonitoredFunction {
  readonly fn: IFunction;
  readonly schedule?: { readonly rateMinutes: number };
}

export interface MonitoringProps {
  readonly httpApi: IHttpApi;
  /**
   * Every function of the manifest, by its name (alarm ids and descriptions use it); what is
   * alarmed follows its kind. `schedule` functions are alarmed on errors and on no run at all
   * for stalledWindow(rateMinutes), not on throttles: with the opt-in reserved concurrency a tick
   * that finds the previous run still going is throttled by design (the next tick picks the work
   * up), and an exhausted account quota throttles the other functions too (their Throttles
   * alarms), or stalls the job (Stalled). `stream` functions are also alarmed when their
   * IteratorAge exceeds MAX_ITERATOR_AGE.
   */
  readonly functions: Readonly<Record<FunctionName, MonitoredFunction>>;
  readonly eventsTable: ITableV2;
  readonly controlTable: ITableV2;
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
      // No data = no requests: nothing failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const name of FUNCTION_NAMES.filter((name) => MANIFEST[name].kind !== 'schedule')) {
      const { fn } = props.functions[name];
      // Errors and Throttles: no data = no invocation, so nothing failed or was refused.
      this.alarmOn(`${name}Errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), {
        description: `The ${name} function threw or timed out.`,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarmOn(`${name}Throttles`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), {
        description: `The ${name} function was throttled (the account's concurrency quota is exhausted).`,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    for (const [name] of functionsOfKind('schedule')) {
      const { fn, schedule } = props.functions[name];
      if (schedule === undefined) throw new Error(`the scheduled ${name} function has no schedule`);
      const { rateMinutes } = schedule;
      this.alarmOn(`${name}Errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), {
        description: `The scheduled ${name} job threw or timed out; the next run resumes its work, so repeated alarms mean it keeps failing.`,
        // No data = no run in the period: the Stalled alarm below is the one that cares.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      const window = stalledWindow(rateMinutes);
      this.alarmOn(`${name}Stalled`, fn.metricInvocations({ period: window, statistic: 'Sum' }), {
        description: `The scheduled ${name} job (every ${rateMinutes} minute(s)) has not run for ${window.toMinutes()} minutes: check its EventBridge rule, its invoke permission, the account's concurrency quota and any reserved concurrency set on it.`,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        // Lambda publishes Invocations only for functions that ran (throttled ticks are not
        // invocations): a stopped job leaves no data point at all, so missing data is the very
        // thing to alarm on. Also right after a deploy, until the first tick.
        treatMissingData: TreatMissingData.BREACHING,
      });
    }

    for (const [name] of functionsOfKind('stream')) {
      const { fn } = props.functions[name];
      this.alarmOn(`${name}IteratorAge`, fn.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum' }), {
        description: `The ${name} function is over ${MAX_ITERATOR_AGE.toHours()} hour behind the events stream (failing or too slow): records leave the stream after 24 hours.`,
        threshold: MAX_ITERATOR_AGE.toMilliseconds(),
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No data = no batch delivered, which is also what a quiet table looks like; a failing
        // consumer keeps being invoked (retries) and reports its age. (A disabled event source
        // mapping reports nothing: `npm run archive -- check` and the integrity scan find what it
        // left unarchived.)
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    // Throttles: every operation's series is FILLed with 0 (throttledRequests), so no data at all
    // means DynamoDB published nothing, i.e. nothing was throttled.
    this.alarmOn('EventsTableThrottles', throttledRequests(props.eventsTable, TABLE_OPERATIONS.events), {
      description: `DynamoDB throttled requests on the events table (${TABLE_OPERATIONS.events.join(', ')}): a hot partition or an account limit.`,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarmOn('ControlTableThrottles', throttledRequests(props.controlTable, TABLE_OPERATIONS.control), {
      description: `DynamoDB throttled requests on the control table (${TABLE_OPERATIONS.control.join(', ')}): the authorizer reads it on every request, so API calls fail with it.`,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // Security metrics: emitted by the archiver per batch and by the scan per run (0 when clean);
    // no data = no batch or no run in that minute, not a finding. A scan that stopped running is
    // the integrityScanStalled alarm's business.

    this.alarmOn('EventTampering', sumOf(TAMPERING_METRIC), {
      description:
        'A stored event was modified other than by a retention re-timing, or deleted other than by TTL. Investigate immediately.',
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarmOn('ArchiveQuarantined', sumOf(QUARANTINE_METRIC), {
      description:
        'The archiver could not read a stream record and wrote it to the archive quarantine/ prefix: that event is not in the regular archive. Inspect the quarantined object.',
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarmOn('IntegrityMismatch', sumOf(INTEGRITY_MISMATCH_METRIC), {
      description:
        "The integrity scan found a sealed interval that no longer verifies: a stored event's hash, a digest's Merkle root, its signature or its chain link. Events were altered, removed or inserted after sealing, or a digest was replaced. Investigate immediately: the scan's SECURITY FINDING log lines name the tenant, the digest sequence and the problem.",
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const [name, { queue, description }] of Object.entries(props.deadLetterQueues)) {
      this.alarmOn(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        // SQS stops publishing for a queue inactive for 6 hours, and an empty, unused dead-letter
        // queue is exactly that; a message arriving makes it active (and reported) again.
        { description, treatMissingData: TreatMissingData.NOT_BREACHING },
      );
    }

    for (const [name, { queue, maxAge, description }] of Object.entries(props.workQueues)) {
      this.alarmOn(
        `${name}OldestMessage`,
        queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
        {
          description,
          threshold: maxAge.toSeconds(),
          comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
          // No data = a queue idle for hours, so empty: no job waiting at all.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      );
    }
  }

  /**
   * Alarm at ≥ 1 (unless told otherwise) in one period. What missing data means differs per
   * metric (nothing happened, or the thing that should happen stopped), so every alarm says.
   */
  private alarmOn(
    id: string,
    metric: IMetric,
    options: {
      description: string;
      threshold?: number;
      comparison?: ComparisonOperator;
      treatMissingData: TreatMissingData;
    },
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
