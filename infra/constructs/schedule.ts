/**
 * The fixed-rate trigger of a scheduled function (a FunctionDefinition with `schedule`): an
 * EventBridge rule invoking it every `rateMinutes`, with a bounded retry policy and a dead-letter
 * queue for invocations EventBridge could not deliver. ServiceFunction adds one to every
 * definition that has a schedule; the local runtime runs the same definitions on a timer.
 *
 * Scheduled functions are jobs that resume where the previous run stopped (the compactor is
 * idempotent per day, the retention worker checkpoints after every page, the sealer and the
 * integrity scan go on from the last digest they sealed or verified), so a run that fails or is skipped is simply
 * picked up by the next tick: nothing here retries a failed run.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** Delivery retries of EventBridge when invoking the function fails (not the function's own errors). */
export const SCHEDULE_DELIVERY_RETRIES = 3;

export interface FunctionScheduleProps {
  readonly fn: IFunction;
  readonly rateMinutes: number;
}

export class FunctionSchedule extends Construct {
  readonly rule: Rule;
  /** Minutes between two ticks (monitoring.ts alarms when ticks stop producing runs). */
  readonly rateMinutes: number;
  /** Invocations EventBridge gave up delivering land here (alarmed in monitoring.ts). */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: FunctionScheduleProps) {
    super(scope, id);
    const { fn, rateMinutes } = props;
    if (!Number.isInteger(rateMinutes) || rateMinutes < 1) {
      throw new Error(`schedule.rateMinutes must be a whole number of minutes ≥ 1, got ${rateMinutes}`);
    }
    this.rateMinutes = rateMinutes;
    // A tick older than the interval is superseded by the next one. Both EventBridge and Lambda
    // accept no less than a minute.
    const tickLifetime = Duration.minutes(Math.max(1, rateMinutes));

    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', 'dead-letter queue of a schedule target');

    this.rule = new Rule(this, 'Rule', {
      description: `Invokes ${fn.node.path} every ${rateMinutes} minute(s)`,
      schedule: Schedule.rate(Duration.minutes(rateMinutes)),
      targets: [
        new LambdaFunction(fn, {
          retryAttempts: SCHEDULE_DELIVERY_RETRIES,
          maxEventAge: tickLifetime,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    // EventBridge invokes asynchronously. With reserved concurrency 1 a tick that arrives while
    // the previous run is still going is throttled and would wait in Lambda's queue for up to
    // 6 hours, piling runs up back to back; drop it after one interval instead. No retry of a
    // failed run either: the next tick is the retry (and the Errors alarm says it failed).
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: tickLifetime });
  }
}
