/**
 * Invoking a handler module the way Lambda does, for the gateway and the local event sources
 * (queue, stream poller, schedules): the module is imported lazily (after the stack has set the
 * environment) and once, each invocation gets a fresh context whose remaining time counts down
 * from the function's timeout, runs with the function's own connection pools (function-pools.ts),
 * and fails with FunctionTimeoutError when it outlives the timeout.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { runInFunction } from './function-pools.ts';

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '000000000000';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Imports a handler module by its repo-relative entry (the default `loadModule`). */
export const importFromRepo = (entry: string): Promise<unknown> =>
  import(pathToFileURL(join(REPO_ROOT, entry)).href);

/** A Lambda `Context` like the one Lambda passes, with the function's memory and timeout. */
export const createLambdaContext = (
  name: string,
  fn: FunctionDefinition,
  startedAt = Date.now(),
): Context => {
  const functionName = `trailkeeper-${name}`;
  const deadline = startedAt + fn.timeoutSeconds * 1000;
  const day = new Date(startedAt).toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = (): never => {
    throw new Error('the callback-style context methods are not supported');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(fn.memoryMiB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
};

/** Something did not finish within its time limit (a function: its configured timeout). */
export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Rejects with a TimeoutError (`<what> timed out after <ms> ms`) unless `promise` settles first. */
export const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

export type Invoker<E, R = unknown> = (event: E) => Promise<R>;

export const lambdaInvoker = <E, R = unknown>(
  name: string,
  fn: FunctionDefinition,
  loadModule: (entry: string) => Promise<unknown> = importFromRepo,
): Invoker<E, R> => {
  let pending: Promise<unknown> | undefined;
  const load = async (): Promise<(event: E, context: Context) => R | Promise<R>> => {
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
    return module.handler as (event: E, context: Context) => R | Promise<R>;
  };
  return (event) =>
    runInFunction(name, async () => {
      // Lambda's timeout covers the invocation, not the cold start's import (its own limit).
      const handler = await load();
      const run = Promise.resolve(handler(event, createLambdaContext(name, fn)));
      return withTimeout(run, fn.timeoutSeconds * 1000, `function ${name}`);
    });
};
