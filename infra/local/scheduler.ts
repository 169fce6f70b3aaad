/**
 * The local stand-in for EventBridge schedules: every `schedule` function of the manifest (the
 * local stack passes them) is invoked on a timer with a ScheduledEvent, never twice at once (as
 * reserved concurrency 1 does in AWS). Locally the period may be shorter (`everyMs`, from the
 * manifest's `localEveryMs`) so jobs such as the retention backfill start within seconds; `runNow(name)` invokes one at once and returns its
 * result (tests and `npm run archive -- compact` use it).
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { type Invoker, lambdaInvoker } from './lambda.ts';

export interface ScheduledTask {
  readonly name: string;
  readonly fn: FunctionDefinition;
  /** Local period; 0 = only on runNow. */
  readonly everyMs: number;
}

export interface Scheduler {
  runNow(name: string): Promise<unknown>;
  stop(): Promise<void>;
}

type LogFn = (level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string) => void;

export const scheduledEvent = (name: string, now = new Date()): ScheduledEvent => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region: 'us-east-1',
  resources: [`arn:aws:events:us-east-1:000000000000:rule/trailkeeper-${name}`],
  detail: {},
});

export const startScheduler = (
  tasks: readonly ScheduledTask[],
  log: LogFn = () => {},
  loadModule?: (entry: string) => Promise<unknown>,
): Scheduler => {
  const running = new Map<string, Promise<unknown>>();
  const invokers = new Map<string, Invoker<ScheduledEvent>>(
    tasks.map((task) => [task.name, lambdaInvoker<ScheduledEvent>(task.name, task.fn, loadModule)]),
  );
  let stopped = false;

  const invoke = (name: string): Promise<unknown> => {
    const current = running.get(name);
    // One at a time: a call while a run is in progress waits for it and then runs again.
    const previous = current ?? Promise.resolve();
    const invoker = invokers.get(name);
    if (invoker === undefined) return Promise.reject(new Error(`no scheduled function named ${name}`));
    const run = previous
      .catch(() => {})
      .then(() => invoker(scheduledEvent(name)))
      .finally(() => {
        if (running.get(name) === run) running.delete(name);
      });
    running.set(name, run);
    return run;
  };

  const timers = tasks
    .filter((task) => task.everyMs > 0)
    .map((task) =>
      setInterval(() => {
        if (stopped || running.has(task.name)) return; // a tick while running is skipped
        invoke(task.name).catch((error: unknown) =>
          log('ERROR', `${task.name} failed: ${error instanceof Error ? error.message : String(error)}`),
        );
      }, task.everyMs),
    );

  return {
    runNow: (name) => invoke(name),
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running.values()]);
    },
  };
};
