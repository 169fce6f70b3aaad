/**
 * GET /health — liveness, unauthenticated. Says only that the function runs.
 */
import { createApiHandler } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';

export const handler = createApiHandler('health', {
  'GET /health': async () => json(200, { status: 'ok' }),
});
