/**
 * The console's page shell: the one HTML document served at `/console/t/{tenant_id}/`, with the
 * tenant's own Content-Security-Policy. Everything else the console loads is a static,
 * content-hashed asset (console/build.ts), the same for every tenant; only this document knows
 * the tenant, which is why it is rendered by a function rather than stored as a file.
 *
 * The policy: nothing but the console's own origin (no third-party request of any kind), no
 * inline script or style, Trusted Types required for every DOM sink that could run script (and no
 * policy may be created, so none ever can), and `frame-ancestors` naming exactly the tenant's
 * https `embed_origins` — `'none'` when it lists none. Pure: the `console` function and its tests.
 */
import { frameAncestors } from './embed.ts';

/** The path of a tenant's console (every path below it serves the same page). */
export const consolePath = (tenantId: string): string => `/console/t/${encodeURIComponent(tenantId)}/`;

/**
 * The console opened at an export (`#export=<id>`), the link export emails carry: a signed-in
 * person who made it downloads at once; anyone else is sent back to the tenant's application.
 */
export const consoleExportPath = (tenantId: string, exportId: string): string =>
  `${consolePath(tenantId)}#export=${encodeURIComponent(exportId)}`;

export interface ConsoleAssetRefs {
  readonly script: { readonly path: string; readonly integrity: string };
  readonly style: { readonly path: string; readonly integrity: string };
}

/** What the page learns from its shell (the `trailkeeper-config` JSON block). */
export interface ConsoleConfig {
  readonly tenant_id: string;
  /** The origins that may embed the console: the only targets of its `postMessage`. */
  readonly embed_origins: readonly string[];
  /** Where people are sent to open the audit log again (the tenant's application), or null. */
  readonly app_url: string | null;
}

export const consolePolicy = (embedOrigins: readonly string[], https: boolean): string =>
  [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "worker-src 'none'",
    "manifest-src 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
    `frame-ancestors ${frameAncestors(embedOrigins)}`,
    ...(https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON that is safe inside a `<script type="application/json">` block (no `</script>`, no `<!--`). */
const scriptSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

export interface ShellResponse {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const renderConsoleShell = (input: {
  readonly config: ConsoleConfig;
  readonly assets: ConsoleAssetRefs;
  /** Whether the console is served over https (AWS): adds HSTS and upgrade-insecure-requests. */
  readonly https: boolean;
}): ShellResponse => {
  const { config, assets, https } = input;
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Audit log</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(assets.style.path)}" integrity="${escapeHtml(assets.style.integrity)}">
<script type="application/json" id="trailkeeper-config">${scriptSafeJson(config)}</script>
<script type="module" src="${escapeHtml(assets.script.path)}" integrity="${escapeHtml(assets.script.integrity)}"></script>
</head>
<body>
<div id="console"><noscript>The audit log needs JavaScript.</noscript></div>
</body>
</html>
`;
  const headers: Record<string, string> = {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': consolePolicy(config.embed_origins, https),
    // The page holds a session token in memory: never cache it, never send where it came from.
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    // For browsers without frame-ancestors; omitted when origins are listed (it cannot name them).
    ...(config.embed_origins.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
    ...(https ? { 'strict-transport-security': 'max-age=63072000; includeSubDomains' } : {}),
  };
  return { headers, body };
};
