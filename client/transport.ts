/**
 * One HTTP exchange with the API, with retries: builds the URL under the base URL (which may
 * carry a path, e.g. an API Gateway stage), sends the bearer token only where the route needs
 * it, bounds each attempt by a timeout, retries what retry.ts allows, honouring `Retry-After`,
 * and turns error answers into typed errors. Runs on any standard `fetch` (Node 20+, browsers):
 * no Node modules, and the fetch, the clock, the sleep and the randomness are injectable.
 */
import {
  errorFromAnswer,
  type RequestTarget,
  TrailkeeperNetworkError,
  TrailkeeperResponseError,
} from './errors.ts';
import {
  isRetryableStatus,
  mayRetry,
  parseRetryAfter,
  type RetryOptions,
  type RetryPolicy,
  retryDelayMs,
  retryPolicy,
} from './retry.ts';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** What the client reports before each retry (for logs and metrics: no bodies, no query string). */
export interface RetryInfo {
  method: string;
  path: string;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  /** How long the client waits before the next one. */
  delayMs: number;
  /** The status that is retried; undefined when there was no answer. */
  status: number | undefined;
  error: Error;
}

export interface TransportOptions {
  /** The API's base URL, e.g. `https://audit.example.com` or `https://…execute-api…/prod`. */
  baseUrl: string | URL;
  /** Bearer token: a tenant API key, the operator key, or a viewer session token. */
  apiKey?: string;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  retry?: RetryOptions;
  /** Bound of each attempt, answer body included. Default 60 s. */
  timeoutMs?: number;
  /** Default: a timer. Must reject with `signal.reason` when the signal aborts. */
  sleep?: Sleep;
  /** Milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
  /** A number in [0, 1). Default: Math.random. */
  random?: () => number;
  onRetry?: (info: RetryInfo) => void;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ApiRequest extends RequestOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the base URL, e.g. `/v1/events`. */
  path: string;
  query?: Readonly<Record<string, string | undefined>>;
  /** A JSON body, already serialised (so every attempt sends the very same bytes). */
  body?: string;
  /** Send the bearer token (default true; false for public routes). */
  auth?: boolean;
  /** Whether repeating the request is harmless: then 502/504 and network errors are retried too. */
  idempotent: boolean;
  /** Default `application/json`. */
  accept?: string;
  /** `manual` to read a redirect's `Location` instead of following it. */
  redirect?: RequestInit['redirect'];
}

export interface ApiAnswer<T> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; null when the body was empty. */
  body: T;
  requestId: string | undefined;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The global fetch, looked up at call time (a browser's fetch must be called on `globalThis`). */
const globalFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

const requestIdOf = (headers: Headers): string | undefined =>
  headers.get('apigw-requestid') ?? headers.get('x-request-id') ?? undefined;

const parseBody = (text: string): { ok: true; value: unknown } | { ok: false } => {
  if (text === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

/** A signal that aborts when the caller's does or the attempt's timeout fires, and says which. */
const attemptSignal = (timeoutMs: number, outer: AbortSignal | undefined) => {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, timeoutMs);
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
};

export class Transport {
  readonly baseUrl: URL;
  /** A private field: the key never shows when the client is logged or inspected. */
  readonly #apiKey: string | undefined;
  readonly fetch: FetchLike;
  readonly policy: RetryPolicy;
  readonly timeoutMs: number;
  readonly sleep: Sleep;
  readonly now: () => number;
  readonly random: () => number;
  readonly onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(options: TransportOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new TypeError('baseUrl must be an http(s) URL');
    // A base with a path (an API Gateway stage) keeps it: paths are resolved under it.
    if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
    base.search = '';
    base.hash = '';
    this.baseUrl = base;
    this.#apiKey = options.apiKey;
    this.fetch = options.fetch ?? globalFetch;
    this.policy = retryPolicy(options.retry);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
  }

  url(path: string, query: Readonly<Record<string, string | undefined>> = {}): URL {
    const url = new URL(path.replace(/^\/+/, ''), this.baseUrl);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    return url;
  }

  headers(request: Pick<ApiRequest, 'auth' | 'accept' | 'body'>): Record<string, string> {
    const headers: Record<string, string> = { accept: request.accept ?? 'application/json' };
    if (request.auth !== false) {
      if (this.#apiKey === undefined || this.#apiKey === '')
        throw new TypeError('this route needs an apiKey: pass one to the client');
      headers.authorization = `Bearer ${this.#apiKey}`;
    }
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    return headers;
  }

  /** Sends the request, retrying as allowed; resolves with a 2xx/3xx answer, else throws. */
  async send<T>(request: ApiRequest): Promise<ApiAnswer<T>> {
    const target: RequestTarget = { method: request.method, url: this.url(request.path, request.query) };
    const headers = this.headers(request);
    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt<T>(request, target, headers);
      if (outcome.answer !== undefined) return outcome.answer;
      const { error, status, retryable } = outcome;
      const delayMs = retryDelayMs(attempt, outcome.retryAfterMs, this.policy, this.random);
      if (!retryable || !mayRetry(attempt, this.now() - started, delayMs, this.policy)) throw error;
      this.onRetry?.({
        method: request.method,
        path: target.url.pathname,
        attempt,
        delayMs,
        status,
        error,
      });
      await this.sleep(delayMs, request.signal);
      if (request.signal?.aborted) throw request.signal.reason;
    }
  }

  private async attempt<T>(
    request: ApiRequest,
    target: RequestTarget,
    headers: Record<string, string>,
  ): Promise<
    | { answer: ApiAnswer<T>; error?: undefined }
    | {
        answer?: undefined;
        error: Error;
        status: number | undefined;
        retryable: boolean;
        retryAfterMs: number | undefined;
      }
  > {
    if (request.signal?.aborted) throw request.signal.reason;
    const bounds = attemptSignal(this.timeoutMs, request.signal);
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(target.url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.redirect === undefined ? {} : { redirect: request.redirect }),
        signal: bounds.signal,
      });
      text = await response.text();
    } catch (cause) {
      if (request.signal?.aborted) throw request.signal.reason;
      return {
        error: new TrailkeeperNetworkError(target, cause, bounds.timedOut()),
        status: undefined,
        retryable: request.idempotent,
        retryAfterMs: undefined,
      };
    } finally {
      bounds.done();
    }
    const parsed = parseBody(text);
    const requestId = requestIdOf(response.headers);
    // A 3xx only reaches here with redirect: 'manual', where it is the answer.
    if (response.status < 400 && response.type !== 'opaqueredirect') {
      const redirect = response.status >= 300;
      if (!parsed.ok && !redirect)
        throw new TrailkeeperResponseError(target, response.status, 'the answer is not JSON');
      const body = (parsed.ok ? parsed.value : null) as T;
      return { answer: { status: response.status, headers: response.headers, body, requestId } };
    }
    if (response.type === 'opaqueredirect') {
      throw new TrailkeeperResponseError(
        target,
        response.status,
        'the answer is a redirect this runtime hides',
      );
    }
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
    return {
      error: errorFromAnswer(target, response.status, parsed.ok ? parsed.value : null, {
        requestId,
        retryAfterMs,
      }),
      status: response.status,
      retryable: isRetryableStatus(response.status, request.idempotent),
      retryAfterMs,
    };
  }
}
