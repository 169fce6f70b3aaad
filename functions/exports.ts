/**
 * POST /v1/exports, GET /v1/exports/{id}, GET /v1/exports/{id}/download. Thin adapter over
 * shared/usecases/exports.ts. Links (download_url, the emailed link) are built from
 * `request.baseUrl`: the configured public URL, never a request header.
 */
import { exportDeps } from '#shared/adapters/export-wiring.ts';
import { createApiHandler, requireKey } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { createExport, downloadExport, getExport } from '#shared/usecases/exports.ts';

const deps = exportDeps();

export const handler = createApiHandler('exports', {
  'POST /v1/exports': async (request) => {
    const principal = requireKey(request, 'exports:write');
    const outcome = await createExport(deps, principal, request.body, request.baseUrl, request.requestId);
    request.annotate({
      export_id: outcome.export.id,
      export_status: outcome.export.status,
      rows: outcome.export.rows,
    });
    return json(outcome.status, outcome.export);
  },
  'GET /v1/exports/{id}': async (request) => {
    const principal = requireKey(request, 'exports:write', 'events:read');
    return json(200, await getExport(deps, principal, request.params.id));
  },
  'GET /v1/exports/{id}/download': async (request) => {
    const principal = requireKey(request, 'exports:write', 'events:read');
    const url = await downloadExport(deps, principal, request.params.id);
    return {
      statusCode: 302,
      headers: { location: url, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    };
  },
});
