/**
 * POST /v1/exports, GET /v1/exports/{id}, GET /v1/exports/{id}/download, for tenant keys and
 * people whose role may export (a person reads back their own exports; see
 * shared/usecases/exports.ts). Thin adapter over the use cases. Links (download_url, the emailed
 * link) are built from `request.baseUrl`: the configured public URL, never a request header.
 */
import { exportDeps } from '#shared/adapters/export-wiring.ts';
import { DOWNLOAD_URL_TTL_SECONDS } from '#shared/config/storage.ts';
import { createApiHandler, type ReaderRequirement, requireReader } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { createExport, downloadExport, getExport } from '#shared/usecases/exports.ts';

const deps = exportDeps();
const CREATE: ReaderRequirement = { scopes: ['exports:write'], permission: 'export' };
const READ_BACK: ReaderRequirement = { scopes: ['exports:write', 'events:read'], permission: 'export' };

export const handler = createApiHandler('exports', {
  'POST /v1/exports': async (request) => {
    const reader = requireReader(request, CREATE);
    const outcome = await createExport(deps, reader, request.body, request.baseUrl, request.requestId);
    request.annotate({
      export_id: outcome.export.id,
      export_status: outcome.export.status,
      rows: outcome.export.rows,
    });
    return json(outcome.status, outcome.export);
  },
  'GET /v1/exports/{id}': async (request) => {
    const reader = requireReader(request, READ_BACK);
    return json(200, await getExport(deps, reader, request.params.id));
  },
  'GET /v1/exports/{id}/download': async (request) => {
    const reader = requireReader(request, READ_BACK);
    const url = await downloadExport(deps, reader, request.params.id, request.requestId);
    // The console fetches the link as JSON and navigates to it (a redirect would be followed by fetch).
    if (/\bapplication\/json\b/i.test(request.accept ?? '')) {
      const expiresAt = new Date(Date.now() + DOWNLOAD_URL_TTL_SECONDS * 1000).toISOString();
      return json(200, { url, expires_at: expiresAt }, { 'referrer-policy': 'no-referrer' });
    }
    return {
      statusCode: 302,
      headers: { location: url, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    };
  },
});
