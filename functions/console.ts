/**
 * GET /console/t/{tenant_id} — the console's page shell (shared/domain/console-shell.ts) with the
 * tenant's own Content-Security-Policy: its `frame-ancestors` are the tenant's `embed_origins`.
 * Public: a person arrives here from a viewer-session link before any token exists. It tells no
 * one whether a tenant exists: an unknown tenant gets the same page with `frame-ancestors 'none'`,
 * and the page then fails to sign in like any bad link. The page itself holds no event data.
 */
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { ENV } from '#shared/config/env.ts';
import { type ConsoleAssetRefs, renderConsoleShell } from '#shared/domain/console-shell.ts';
import { NotFoundError, ServiceUnavailableError } from '#shared/errors.ts';
import { createApiHandler, publicBaseUrl } from '#shared/http/middleware.ts';

/** The ids the service makes (`tnt_<ulid>`) and any an operator could have given: nothing to escape. */
const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

const deps = { control: controlStore() };

/** The built assets this deployment serves (console/build.ts), or undefined when it has none. */
const consoleAssets = (): ConsoleAssetRefs | undefined => {
  const raw = process.env[ENV.consoleAssets];
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = JSON.parse(raw) as ConsoleAssetRefs;
  return { script: parsed.script, style: parsed.style };
};

export const handler = createApiHandler('console', {
  'GET /console/t/{tenant_id}': async (request) => {
    const tenantId = request.params.tenant_id;
    if (!TENANT_ID.test(tenantId)) throw new NotFoundError('No such console page.');
    const assets = consoleAssets();
    if (assets === undefined)
      throw new ServiceUnavailableError('The console is not deployed with this service (no built assets).');
    const tenant = await deps.control.getTenant(tenantId);
    const { headers, body } = renderConsoleShell({
      config: {
        tenant_id: tenantId,
        embed_origins: tenant?.embed_origins ?? [],
        app_url: tenant?.app_url ?? null,
      },
      assets,
      https: publicBaseUrl().startsWith('https://'),
    });
    return { statusCode: 200, headers, body };
  },
});
