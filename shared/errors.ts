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

export class ValidationError extends HttpError {
  constructor(
    readonly errors: FieldError[],
    detail = `${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${errors
      .slice(0, 5)
      .map((e) => e.field)
      .join(', ')}`,
  ) {
    super(400, 'validation-error', 'Invalid request', detail, { errors });
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

export class TooManyRequestsError extends HttpError {
  constructor(
    readonly retryAfterSeconds: number,
    detail = 'Too many requests for this tenant; retry after the time in Retry-After.',
  ) {
    super(429, 'too-many-requests', 'Too many requests', detail);
  }
}
