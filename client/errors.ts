/**
 * The client's errors. An error answer becomes a TrailkeeperError carrying the RFC 9457 problem
 * and the request id; a reused event id becomes an IdConflictError naming every id; a request
 * that never got an answer is a TrailkeeperNetworkError; an answer that is not what the API
 * promises is a TrailkeeperResponseError. Messages name the method and path, never the query
 * string (filters may hold emails) nor the key.
 */
import type { Export, Problem, ProblemFieldError } from './types.ts';

/** Where a request went: its method and the URL it was sent to. */
export interface RequestTarget {
  method: string;
  url: URL;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const fieldErrorsOf = (value: unknown): ProblemFieldError[] =>
  Array.isArray(value)
    ? value.filter(
        (e): e is ProblemFieldError =>
          isRecord(e) && typeof e.field === 'string' && typeof e.message === 'string',
      )
    : [];

/** The API answered with an error status. */
export class TrailkeeperError extends Error {
  readonly status: number;
  /** The problem's `type` (`/problems/validation-error`, …); `about:blank` when the answer had none. */
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  /** The problem's field errors (validation errors, id conflicts); empty when none. */
  readonly errors: ProblemFieldError[];
  /** The problem document as received; null when the answer was not a JSON object. */
  readonly problem: Problem | null;
  /** The service's id of the request (`apigw-requestid`, else the problem's `instance`). */
  readonly requestId: string | undefined;
  readonly method: string;
  /** The URL the request was sent to (query string included: not in the message). */
  readonly url: URL;
  /** What the answer's `Retry-After` asked for, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    target: RequestTarget,
    status: number,
    body: unknown,
    details: { requestId?: string | undefined; retryAfterMs?: number | undefined } = {},
  ) {
    const problem = isRecord(body) ? (body as Problem) : null;
    const title = typeof problem?.title === 'string' ? problem.title : `HTTP ${status}`;
    const detail = typeof problem?.detail === 'string' ? problem.detail : undefined;
    super(
      `${target.method} ${target.url.pathname}: HTTP ${status} (${title}${detail === undefined ? '' : `: ${detail}`})`,
    );
    this.name = new.target.name;
    this.status = status;
    this.type = typeof problem?.type === 'string' ? problem.type : 'about:blank';
    this.title = title;
    this.detail = detail;
    this.errors = fieldErrorsOf(problem?.errors);
    this.problem = problem;
    this.requestId =
      details.requestId ?? (typeof problem?.instance === 'string' ? problem.instance : undefined);
    this.method = target.method;
    this.url = target.url;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** One event id that already names a stored event with other content. */
export interface IdConflict {
  id: string;
  /** Its index in the batch (absent for a single event). */
  index?: number;
  field: string;
}

/**
 * 409 `/problems/id-conflict`: ids reused with other content. Nothing was overwritten; in a
 * batch, every other event was stored, so sending them again is safe.
 */
export class IdConflictError extends TrailkeeperError {
  readonly conflicts: IdConflict[];
  /** The conflicting ids, in batch order. */
  readonly ids: string[];

  constructor(
    target: RequestTarget,
    status: number,
    body: unknown,
    details: { requestId?: string | undefined } = {},
  ) {
    super(target, status, body, details);
    this.conflicts = this.errors.flatMap((e) =>
      typeof e.id === 'string'
        ? [{ id: e.id, field: e.field, ...(typeof e.index === 'number' ? { index: e.index } : {}) }]
        : [],
    );
    this.ids = this.conflicts.map((c) => c.id);
  }
}

export const ID_CONFLICT_TYPE = '/problems/id-conflict';

/** A TrailkeeperError, or its IdConflictError subclass for a 409 id conflict. */
export const errorFromAnswer = (
  target: RequestTarget,
  status: number,
  body: unknown,
  details: { requestId?: string | undefined; retryAfterMs?: number | undefined },
): TrailkeeperError => {
  const type = isRecord(body) && typeof body.type === 'string' ? body.type : '';
  return status === 409 && type.endsWith(ID_CONFLICT_TYPE)
    ? new IdConflictError(target, status, body, details)
    : new TrailkeeperError(target, status, body, details);
};

/** No answer: the connection failed, or the attempt outlived its timeout. */
export class TrailkeeperNetworkError extends Error {
  readonly method: string;
  readonly url: URL;
  readonly timedOut: boolean;

  constructor(target: RequestTarget, cause: unknown, timedOut: boolean) {
    const reason = timedOut
      ? 'no answer within the timeout'
      : cause instanceof Error
        ? cause.message
        : String(cause);
    super(`${target.method} ${target.url.pathname}: ${reason}`, { cause });
    this.name = new.target.name;
    this.method = target.method;
    this.url = target.url;
    this.timedOut = timedOut;
  }
}

/** A successful answer that is not what the API promises (not JSON, not a page, …). */
export class TrailkeeperResponseError extends Error {
  readonly method: string;
  readonly url: URL;
  readonly status: number;

  constructor(target: RequestTarget, status: number, what: string) {
    super(`${target.method} ${target.url.pathname}: ${what}`);
    this.name = new.target.name;
    this.method = target.method;
    this.url = target.url;
    this.status = status;
  }
}

/** waitForExport: the export ended `failed`. */
export class ExportFailedError extends Error {
  /** The export as last read. */
  readonly export: Export;

  constructor(record: Export) {
    super(`export ${record.id} failed: ${record.error ?? 'no reason given'}`);
    this.name = new.target.name;
    this.export = record;
  }
}

/** waitForExport: the export was still queued or running when the time was up. */
export class ExportTimeoutError extends Error {
  /** The export as last read. */
  readonly export: Export;

  constructor(
    record: Export,
    readonly timeoutMs: number,
  ) {
    super(`export ${record.id} is still ${record.status} after ${timeoutMs} ms`);
    this.name = new.target.name;
    this.export = record;
  }
}
