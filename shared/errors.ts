/**
 * Typed errors that carry their HTTP status. Use cases throw them; one middleware
 * (shared/http/middleware.ts) turns them into RFC 9457 problem+json. Anything else is a 500
 * with no internals.
 */

export interface FieldError {
  /** Dotted path of the bad field, e.g. `events[3].actor.id` or `limit`. */
  field: string;
  message: string;
  /** Index in a batch, when the request was a batch. */
  index?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    /** Short slug; the problem `type` is `/problems/<slug>`. */
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** At most this many field errors are listed in a problem document; `error_count` says how many there were. */
export const MAX_LISTED_ERRORS = 100;
/** Field names and messages are cut to this length: a field can be named after a key the client sent. */
const MAX_ERROR_TEXT = 256;

const bounded = (text: string): string =>
  text.length <= MAX_ERROR_TEXT ? text : `${text.slice(0, MAX_ERROR_TEXT - 1)}…`;

/**
 * 400 naming each bad field. The answer stays small whatever the input: the first
 * MAX_LISTED_ERRORS errors are listed (each cut to a bounded length) and, when there were more,
 * `error_count` gives the total and `detail` says the list is cut.
 */
export class ValidationError extends HttpError {
  readonly errors: FieldError[];

  constructor(errors: FieldError[], detail?: string) {
    const listed = errors
      .slice(0, MAX_LISTED_ERRORS)
      .map((e) => ({ ...e, field: bounded(e.field), message: bounded(e.message) }));
    const cut = errors.length > MAX_LISTED_ERRORS;
    const summary =
      detail ??
      `${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${listed
        .slice(0, 5)
        .map((e) => e.field)
        .join(', ')}${errors.length > 5 ? ', …' : ''}`;
    super(
      400,
      'validation-error',
      'Invalid request',
      cut ? `${summary} (the first ${MAX_LISTED_ERRORS} of ${errors.length} are listed)` : summary,
      { errors: listed, ...(cut ? { error_count: errors.length } : {}) },
    );
    this.errors = listed;
  }
}

export class BadRequestError extends HttpError {
  constructor(detail: string, slug = 'bad-request') {
    super(400, slug, 'Bad request', detail);
  }
}

export class UnauthorizedError extends HttpError {
  constructor(detail = 'Missing, unknown or revoked credentials.') {
    super(401, 'unauthorized', 'Unauthorized', detail);
  }
}

export class ForbiddenError extends HttpError {
  constructor(detail: string) {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}

/**
 * A person whose role the tenant's access policy does not let do this (view, or export): its own
 * type, so a page can tell "your access was withdrawn" from any other refusal.
 */
export class RoleNotPermittedError extends HttpError {
  constructor(detail: string) {
    super(403, 'role-not-permitted', 'Forbidden', detail);
  }
}

export class NotFoundError extends HttpError {
  constructor(detail = 'Not found.') {
    super(404, 'not-found', 'Not found', detail);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(detail = 'Method not allowed.') {
    super(405, 'method-not-allowed', 'Method not allowed', detail);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'payload-too-large', 'Payload too large', `The request body exceeds ${limitBytes} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor() {
    super(415, 'unsupported-media-type', 'Unsupported media type', 'Send the body as application/json.');
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(detail = 'A dependency is unavailable; retry with backoff.') {
    super(503, 'service-unavailable', 'Service unavailable', detail);
  }
}

export class ConflictError extends HttpError {
  constructor(detail: string) {
    super(409, 'conflict', 'Conflict', detail);
  }
}

/** An event id that already names a stored event with other content (batch: `index` too). */
export interface IdConflict {
  id: string;
  index?: number;
}

/**
 * 409: ids reused with other content. Nothing was overwritten; in a batch, every other event
 * was stored, so the client can fix or drop the conflicting ones and retry the rest safely.
 */
export class IdConflictError extends HttpError {
  constructor(
    readonly conflicts: IdConflict[],
    /** Events of the same request that were stored (new ones and same-content replays). */
    stored: number,
  ) {
    const named = conflicts
      .slice(0, 5)
      .map((c) =>
        c.index === undefined ? JSON.stringify(c.id) : `events[${c.index}] ${JSON.stringify(c.id)}`,
      )
      .join(', ');
    const batch = conflicts.some((c) => c.index !== undefined);
    const detail = batch
      ? `${conflicts.length} event${conflicts.length === 1 ? '' : 's'} reuse${conflicts.length === 1 ? 's' : ''} an id already stored with other content (${named}${conflicts.length > 5 ? ', …' : ''}); nothing was overwritten. The batch's other ${stored} event${stored === 1 ? ' is' : 's are'} stored: retrying them is safe.`
      : `The id ${named} already names a stored event with other content; nothing was overwritten.`;
    super(409, 'id-conflict', 'Conflict', detail, {
      errors: conflicts.map((c) => ({
        field: c.index === undefined ? 'id' : `events[${c.index}].id`,
        message: 'already names a stored event with other content',
        ...(c.index === undefined ? {} : { index: c.index }),
        id: c.id,
      })),
    });
  }
}

export class TooManyRequestsError extends HttpError {
  constructor(
    readonly retryAfterSeconds: number,
    detail = 'Too many requests for this tenant; retry after the time in Retry-After.',
  ) {
    super(429, 'too-many-requests', 'Too many requests', detail);
  }
}
