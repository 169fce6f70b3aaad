/**
 * The console's page shell and the edge in front of it: the tenant's Content-Security-Policy
 * (frame-ancestors from its embed origins, nothing third-party, Trusted Types), a config block no
 * tenant value can break out of, the CloudFront Function's path rewrite (run from its own file,
 * as the local gateway runs it) and the asset reads that cannot leave the build directory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConsoleRequestFunction, readConsoleAsset } from '#infra/local/edge.ts';
import { consolePolicy, renderConsoleShell } from '#shared/domain/console-shell.ts';

const assets = {
  script: { path: '/console/assets/console-ABC.js', integrity: 'sha384-aaa' },
  style: { path: '/console/assets/console-DEF.css', integrity: 'sha384-bbb' },
};
const directives = (policy: string) =>
  new Map(policy.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));

describe('the console page shell', () => {
  it("frames nowhere by default, and exactly the tenant's origins when it lists some", () => {
    expect(directives(consolePolicy([], false)).get('frame-ancestors')).toBe("'none'");
    const listed = directives(
      consolePolicy(['https://app.example.com', 'https://admin.example.com:8443'], false),
    );
    expect(listed.get('frame-ancestors')).toBe('https://app.example.com https://admin.example.com:8443');
  });

  it('allows nothing but its own origin, no inline script, and requires Trusted Types', () => {
    const policy = directives(consolePolicy([], true));
    expect(policy.get('default-src')).toBe("'self'");
    expect(policy.get('script-src')).toBe("'self'");
    expect(policy.get('style-src')).toBe("'self'");
    expect(policy.get('connect-src')).toBe("'self'");
    expect(policy.get('object-src')).toBe("'none'");
    expect(policy.get('base-uri')).toBe("'none'");
    expect(policy.get('require-trusted-types-for')).toBe("'script'");
    expect(policy.get('trusted-types')).toBe("'none'");
    expect(policy.has('upgrade-insecure-requests')).toBe(true);
    expect(consolePolicy([], true)).not.toMatch(/unsafe|\*|https?:\/\/(?!app)/);
    expect(directives(consolePolicy([], false)).has('upgrade-insecure-requests')).toBe(false);
  });

  it('loads the hashed assets with their integrity, and sends the headers of a page holding a token', () => {
    const { headers, body } = renderConsoleShell({
      config: { tenant_id: 'tnt_1', embed_origins: [], app_url: null },
      assets,
      https: true,
    });
    expect(body).toContain(
      '<script type="module" src="/console/assets/console-ABC.js" integrity="sha384-aaa"></script>',
    );
    expect(body).toContain(
      '<link rel="stylesheet" href="/console/assets/console-DEF.css" integrity="sha384-bbb">',
    );
    expect(body).not.toMatch(/<script>|\sstyle=|\son\w+=/);
    expect(headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'strict-transport-security': 'max-age=63072000; includeSubDomains',
    });
    const framed = renderConsoleShell({
      config: { tenant_id: 'tnt_1', embed_origins: ['https://app.example.com'], app_url: null },
      assets,
      https: false,
    });
    expect(framed.headers['x-frame-options']).toBeUndefined();
    expect(framed.headers['strict-transport-security']).toBeUndefined();
  });

  it('carries the config as inert JSON that no value can close or comment out', () => {
    const appUrl = 'https://app.example.com/</script><script>alert(1)</script><!--';
    const { body } = renderConsoleShell({
      config: { tenant_id: 'tnt_1', embed_origins: ['https://app.example.com'], app_url: appUrl },
      assets,
      https: true,
    });
    const block =
      /<script type="application\/json" id="trailkeeper-config">(.*?)<\/script>/s.exec(body)?.[1] ?? '';
    expect(block).not.toMatch(/[<>]/);
    expect(JSON.parse(block)).toEqual({
      tenant_id: 'tnt_1',
      embed_origins: ['https://app.example.com'],
      app_url: appUrl,
    });
    expect(body.match(/<script/g)).toHaveLength(2);
  });
});

describe('the edge in front of the console', () => {
  const rewrite = loadConsoleRequestFunction();

  it("routes every page path of a tenant's console to its one shell route", () => {
    expect(rewrite('GET', '/console/t/tnt_1/')).toBe('/console/t/tnt_1');
    expect(rewrite('GET', '/console/t/tnt_1')).toBe('/console/t/tnt_1');
    expect(rewrite('GET', '/console/t/tnt_1/exports/old/bookmark')).toBe('/console/t/tnt_1');
    expect(rewrite('GET', '/console/t/')).toBe('/console/t/');
    expect(rewrite('GET', '/v1/events')).toBe('/v1/events');
  });

  it('serves only content-hashed asset names from the build directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-assets-'));
    writeFileSync(join(dir, 'console-ABC.js'), 'export {};');
    writeFileSync(join(tmpdir(), 'outside.js'), 'secret');
    const served = await readConsoleAsset(dir, '/console/assets/console-ABC.js');
    expect(served?.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
    expect(served?.body.toString()).toBe('export {};');
    for (const path of [
      '/console/assets/../outside.js',
      '/console/assets/%2e%2e%2foutside.js',
      '/console/assets/sub/console-ABC.js',
      '/console/assets/console-ABC.json',
      '/console/assets/missing.js',
      '/console/assets/',
    ])
      expect(await readConsoleAsset(dir, path), path).toBeUndefined();
  });
});
