/**
 * The fixed-rate trigger of a scheduled function (a FunctionDefinition with `schedule`): an
 * EventBridge rule invoking it every `rateMinutes`, with a bounded retry policy and a dead-letter
 * queue for invocations EventBridge could not deliver. ServiceFunction adds one to every
 * definition that has a schedule; the local runtime runs the same definitions on a timer.
 *
 * Scheduled functions are jobs that resume where the previous run stopped (the compactor is
 * idempotent per day, the retention worker checkpoints after every page, the sealer and the
 * integrity scan go on from the last digest they sealed or verified), so a run that fails or is
 * skipped is simply picked up by the next tick: nothing here retries a failed run.
 *
 * No concurrency is reserved by default (ServiceFunction's RESERVE_CONCURRENCY_CONTEXT), so two
 * runs of a job may overlap: when a run outlasts the interval (the retention worker: every minute,
 * 5-minute timeout), or when EventBridge delivers a tick twice (it delivers at least once). What
 * keeps that safe, job by job:
 * - retention worker: each tenant's job is claimed with a lease and every checkpoint is
 *   conditioned on the job's version; a second run finds the job busy and moves on.
 * - sealer: a digest is created only if absent (S3 If-None-Match, then a DynamoDB transaction
 *   conditioned on the chain's previous sequence); a racing run fails on the condition.
 * - integrity scan: read-only verification; an overlapping run re-verifies the same digests (a
 *   finding may be reported twice) and the checkpoint is last-writer-wins.
 * - compactor: no lease. Runs over the same staged batches write the same key with the same
 *   content (one extra locked object version); only a restage landing between two overlapping
 *   runs' listings could archive an event twice. Its timeout (15 min) is far below its hourly
 *   rate, so only a duplicated tick or a manual invocation overlaps it.
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

    // EventBridge invokes asynchronously. A throttled tick (account quota exhausted, or reserved
    // concurrency 1 with the previous run still going) would wait in Lambda's queue for up to
    // 6 hours, piling runs up back to back; drop it after one interval instead. No retry of a
    // failed run either: the next tick is the retry (and the Errors alarm says it failed).
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: tickLifetime });
  }
}
