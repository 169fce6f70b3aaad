/**
 * GET /v1/openapi.json — the API contract (OpenAPI 3.1), unauthenticated; built from the route
 * table and the zod schemas (shared/contract/), its `servers` from the configured public URL.
 * Its own small function, so the health probe's cold start does not pay for building it.
 */
import { serveOpenApi } from '#shared/contract/serve.ts';
import { createApiHandler } from '#shared/http/middleware.ts';

export const handler = createApiHandler('openapi', {
  'GET /v1/openapi.json': serveOpenApi,
});
