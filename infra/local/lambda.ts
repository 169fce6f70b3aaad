/**
 * Invoking a handler module the way Lambda does, for the local event sources (queue, stream
 * poller, schedules): the module is imported lazily (after the stack has set the environment)
 * and once, each invocation gets a fresh context whose remaining time counts down from the
 * function's timeout, and an invocation that outlives the timeout fails.
 */
import type { FunctionDefinition } from '#shared/config/routes.ts';
import { createLambdaContext, importFromRepo, withTimeout } from './gateway.ts';

export type Invoker<E, R = unknown> = (event: E) => Promise<R>;

export const lambdaInvoker = <E, R = unknown>(
  name: string,
  fn: FunctionDefinition,
  loadModule: (entry: string) => Promise<unknown> = importFromRepo,
): Invoker<E, R> => {
  let pending: Promise<unknown> | undefined;
  return async (event) => {
    if (pending === undefined) {
      const loading = loadModule(fn.entry);
      loading.catch(() => {
        if (pending === loading) pending = undefined; // retried on the next invocation
      });
      pending = loading;
    }
    const module = (await pending) as { handler?: unknown };
    if (typeof module.handler !== 'function')
      throw new Error(`${fn.entry} does not export a handler function`);
    const handler = module.handler as (event: E, context: unknown) => R | Promise<R>;
    const run = Promise.resolve(handler(event, createLambdaContext(name, fn)));
    return withTimeout(run, fn.timeoutSeconds * 1000, `function ${name}`);
  };
};
