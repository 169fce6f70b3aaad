/**
 * The console as the local stack serves it, through the HTTP API and the local edge: the page
 * shell for every path of a tenant's console with the tenant's own Content-Security-Policy
 * (frame-ancestors following its embed_origins as they change), assets that match the shell's
 * subresource-integrity hashes, and nothing in the page that points anywhere but this origin.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, baseUrl, createTenant } from './client.ts';

const page = async (path: string) => {
  const res = await fetch(`${baseUrl()}${path}`);
  return { status: res.status, headers: res.headers, body: await res.text() };
};

const frameAncestors = (headers: Headers) =>
  /frame-ancestors ([^;]+)/.exec(headers.get('content-security-policy') ?? '')?.[1];

const configOf = (html: string) =>
  JSON.parse(
    /<script type="application\/json" id="trailkeeper-config">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null',
  );

describe('the console, served locally', () => {
  it('serves the same shell for every path of a tenant console, filters and all', async () => {
    const tenant = await createTenant();
    for (const path of ['/', '', '/?action=member.*&from=2026-12-01T00:00:00Z', '/some/deeper/bookmark']) {
      const reply = await page(`/console/t/${tenant.id}${path}`);
      expect(reply.status, path).toBe(200);
      expect(reply.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expect(configOf(reply.body)).toEqual({ tenant_id: tenant.id, embed_origins: [], app_url: null });
    }
  });

  it('loads only same-origin assets whose bytes match their integrity hashes', async () => {
    const tenant = await createTenant();
    const shell = await page(`/console/t/${tenant.id}/`);
    const refs = [...shell.body.matchAll(/(?:src|href)="([^"]+)" integrity="([^"]+)"/g)];
    expect(refs).toHaveLength(2);
    // Nothing else is fetched: the only other reference is the empty inline icon.
    expect(shell.body.match(/(?:src|href)="/g)).toHaveLength(3);
    expect(shell.body).toContain('<link rel="icon" href="data:,">');
    for (const [, path = '', integrity = ''] of refs) {
      expect(path).toMatch(/^\/console\/assets\/console-[A-Z0-9]+\.(js|css)$/);
      const asset = await fetch(`${baseUrl()}${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const bytes = Buffer.from(await asset.arrayBuffer());
      expect(`sha384-${createHash('sha384').update(bytes).digest('base64')}`).toBe(integrity);
    }
    expect((await fetch(`${baseUrl()}/console/assets/console-NOPE.js`)).status).toBe(404);
  });

  it("frames the console only from the tenant's listed https origins, and from none by default", async () => {
    const tenant = await createTenant();
    const before = await page(`/console/t/${tenant.id}/`);
    expect(frameAncestors(before.headers)).toBe("'none'");
    expect(before.headers.get('x-frame-options')).toBe('DENY');

    const patched = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: tenant.key,
      body: {
        embed_origins: ['https://app.acme.example', 'https://Admin.Acme.example:8443'],
        app_url: 'https://app.acme.example/settings/audit-log',
      },
    });
    expect(patched.status).toBe(200);
    const after = await page(`/console/t/${tenant.id}/`);
    expect(frameAncestors(after.headers)).toBe('https://app.acme.example https://admin.acme.example:8443');
    expect(after.headers.get('x-frame-options')).toBeNull();
    expect(configOf(after.body)).toEqual({
      tenant_id: tenant.id,
      embed_origins: ['https://app.acme.example', 'https://admin.acme.example:8443'],
      app_url: 'https://app.acme.example/settings/audit-log',
    });

    // Another tenant's page is not framed by these origins.
    const other = await createTenant();
    expect(frameAncestors((await page(`/console/t/${other.id}/`)).headers)).toBe("'none'");

    await api('PATCH', `/v1/tenants/${tenant.id}`, { token: tenant.key, body: { embed_origins: [] } });
    expect(frameAncestors((await page(`/console/t/${tenant.id}/`)).headers)).toBe("'none'");
  });

  it('tells no one which tenants exist', async () => {
    const unknown = await page('/console/t/tnt_01zzzzzzzzzzzzzzzzzzzzzzzz/');
    expect(unknown.status).toBe(200);
    expect(frameAncestors(unknown.headers)).toBe("'none'");
    const malformed = await page('/console/t/%3Cscript%3E/');
    expect(malformed.status).toBe(404);
    expect(malformed.headers.get('content-type')).toBe('application/problem+json');
  });
});
