/**
 * `npm start`: the whole service on this machine, data kept under `.data/` across restarts.
 * Creates a demo tenant and API key through the HTTP API on first start and keeps them in
 * `.data/demo.json` (0600) — a local development convenience, never used outside this machine.
 * An identity provider is configured with the same TRAILKEEPER_OIDC_* variables the authorizer
 * gets in AWS (shared/config/env.ts); the stack checks them before it starts.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OidcConfig } from '#shared/adapters/oidc.ts';
import { ENV, POWERTOOLS_ENV } from '#shared/config/env.ts';
import { startLocalStack, writePrivateFile } from './stack.ts';

interface Demo {
  tenantId: string;
  keyId: string;
  key: string;
}

const DEMO_SCOPES = ['events:write', 'events:read', 'exports:write', 'admin'];

const readDemo = async (path: string): Promise<Demo | undefined> => {
  try {
    const demo = JSON.parse(await readFile(path, 'utf8')) as Partial<Demo>;
    return demo.tenantId && demo.keyId && demo.key ? (demo as Demo) : undefined;
  } catch {
    return undefined;
  }
};

/** POSTs JSON with the operator key; returns the parsed 201 body or throws a readable error. */
const post = async (url: string, operatorKey: string, body: unknown): Promise<Record<string, unknown>> => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(
      `POST ${new URL(url).pathname} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`,
    );
  }
  return JSON.parse(text) as Record<string, unknown>;
};

/** The demo tenant and key: from demo.json, or created through the API on first start. */
const ensureDemo = async (baseUrl: string, operatorKey: string, dataDir: string): Promise<Demo> => {
  const path = join(dataDir, 'demo.json');
  const existing = await readDemo(path);
  if (existing) return existing;
  const tenant = await post(`${baseUrl}/v1/tenants`, operatorKey, { name: 'Demo Workspace', plan: 'pro' });
  const tenantId = String(tenant.id ?? '');
  if (!tenantId) throw new Error('POST /v1/tenants answered without an id');
  const created = await post(`${baseUrl}/v1/tenants/${encodeURIComponent(tenantId)}/keys`, operatorKey, {
    name: 'demo',
    scopes: DEMO_SCOPES,
  });
  const demo = { tenantId, keyId: String(created.id ?? ''), key: String(created.key ?? '') };
  if (!demo.keyId || !demo.key) throw new Error('POST /v1/tenants/{id}/keys answered without id and key');
  await writePrivateFile(path, `${JSON.stringify(demo, null, 2)}\n`);
  return demo;
};

/**
 * A fresh owner session for the demo tenant: the console link SPEC asks `npm start` to print
 * (one-time, 5 minutes; minted with the operator key like any backend would with an admin key).
 */
const mintOwnerLink = async (baseUrl: string, operatorKey: string, tenantId: string): Promise<string> => {
  const minted = await post(
    `${baseUrl}/v1/tenants/${encodeURIComponent(tenantId)}/viewer-sessions`,
    operatorKey,
    { user: { id: 'demo-owner', name: 'Demo owner' }, role: 'owner', ttl_seconds: 43_200 },
  );
  return String(minted.url ?? '');
};

const banner = (
  url: string,
  operatorKey: string,
  dataDir: string,
  outboxDir: string,
  demo: Demo | undefined,
  consoleLink: string | undefined,
  oidc: OidcConfig | null,
): string => {
  const sampleEvent = JSON.stringify({
    action: 'member.role_changed',
    actor: { id: 'user_1', type: 'user', email: 'ada@example.com' },
    target: { type: 'member', id: 'user_2' },
    metadata: { from: 'member', to: 'admin' },
  });
  const lines = [
    '',
    `Trailkeeper is running at ${url}`,
    `  data:          ${dataDir}`,
    `  operator key:  ${operatorKey}`,
    `  emails:        ${outboxDir}   (one .eml file per message sent)`,
    `  archive:       npm run archive -- read --local --tenant <id> --from <YYYY-MM-DD> --to <YYYY-MM-DD>`,
    oidc
      ? `  sign-in:       tokens of ${oidc.issuer} (audience ${oidc.audience}; claims ${oidc.claims.tenant}, ${oidc.claims.role}, ${oidc.claims.teams}), and viewer sessions`
      : '  sign-in:       viewer sessions (set TRAILKEEPER_OIDC_ISSUER and _AUDIENCE to accept your identity provider)',
  ];
  if (demo) {
    lines.push(
      `  demo tenant:   ${demo.tenantId}`,
      `  demo API key:  ${demo.key}   (local convenience, kept in ${join(dataDir, 'demo.json')})`,
      consoleLink
        ? `  console:       ${consoleLink}   (owner of the demo tenant; the link works once, within 5 minutes)`
        : '  console:       no owner link (see the message above)',
      '',
      'Try it:',
      `  curl -sS -X POST ${url}/v1/events -H 'authorization: Bearer ${demo.key}' \\`,
      `    -H 'content-type: application/json' -d '${sampleEvent}'`,
      `  curl -sS '${url}/v1/events?limit=10' -H 'authorization: Bearer ${demo.key}'`,
    );
  } else {
    lines.push('  demo tenant:   not available (see the message above); retried on next start');
  }
  lines.push('', 'Ctrl+C to stop.', '');
  return lines.join('\n');
};

const main = async (): Promise<void> => {
  const dataDir = resolve(process.env[ENV.dataDir] ?? '.data');
  const publicUrl = process.env[ENV.publicUrl];
  const stack = await startLocalStack({
    dataDir,
    port: Number(process.env[ENV.port] ?? 3000),
    ...(publicUrl ? { publicUrl } : {}),
    logLevel: process.env[POWERTOOLS_ENV.logLevel] ?? 'INFO',
  });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130); // second Ctrl+C: don't wait
    stopping = true;
    process.stderr.write(`\n${signal}: stopping…\n`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Where operator tools (`npm run archive -- … --local`) find this stack's endpoints.
  await writePrivateFile(
    join(dataDir, 'local.json'),
    `${JSON.stringify({ url: stack.url, s3Endpoint: stack.s3Endpoint, dynamoEndpoint: stack.dynamoEndpoint }, null, 2)}\n`,
  );

  let demo: Demo | undefined;
  try {
    demo = await ensureDemo(stack.url, stack.operatorKey, dataDir);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `Could not create the demo tenant through the API (${reason}). The API keeps serving.\n`,
    );
  }
  let consoleLink: string | undefined;
  if (demo) {
    try {
      consoleLink = await mintOwnerLink(stack.url, stack.operatorKey, demo.tenantId);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      process.stderr.write(`Could not mint a console link for the demo tenant (${reason}).\n`);
    }
  }
  process.stdout.write(
    banner(stack.url, stack.operatorKey, dataDir, stack.outboxDir, demo, consoleLink, stack.oidc),
  );
};

main().catch((error: unknown) => {
  process.stderr.write(
    `Trailkeeper failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
