import { describe, expect, it } from 'vitest';
import { frameAncestors, parseAppUrl, parseEmbedOrigin } from '#shared/domain/embed.ts';
import { updateTenantSchema } from '#shared/domain/tenant-input.ts';

describe('embed origins', () => {
  it.each([
    ['https://app.example.com', 'https://app.example.com'],
    ['https://App.Example.COM', 'https://app.example.com'],
    ['https://app.example.com/', 'https://app.example.com'],
    ['https://app.example.com:8443', 'https://app.example.com:8443'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['https://localhost:3000', 'https://localhost:3000'],
  ])('accepts %s as %s', (raw, origin) => {
    expect(parseEmbedOrigin(raw)).toEqual({ origin });
  });

  it.each([
    'http://app.example.com',
    'https://*.example.com',
    'https://app.example.com/path',
    'https://app.example.com?x=1',
    'https://app.example.com#top',
    'https://user:pw@app.example.com',
    'https://user@app.example.com',
    'app.example.com',
    'https://',
    'https://app.example.com; script-src *',
    'https://app.exa mple.com',
    "https://app.example.com'",
    'https://[::1]',
    '*',
    '',
  ])('refuses %j', (raw) => {
    expect(parseEmbedOrigin(raw)).toHaveProperty('error');
  });
});

describe('app_url', () => {
  it('accepts an https URL with a path and query, as given', () => {
    const url = 'https://app.example.com/settings/audit-log?tab=1';
    expect(parseAppUrl(url)).toEqual({ url });
  });

  it.each([
    'http://app.example.com',
    'javascript:alert(1)',
    'https://user:pw@app.example.com/',
    'not a url',
    `https://app.example.com/${'a'.repeat(2048)}`,
  ])('refuses %j', (raw) => {
    expect(parseAppUrl(raw)).toHaveProperty('error');
  });
});

describe('tenant update: embedding settings', () => {
  it('normalises the origins, drops repeats and accepts an empty list', () => {
    const parsed = updateTenantSchema.parse({
      embed_origins: ['https://App.Example.com', 'https://app.example.com/', 'https://b.example.com:8443'],
    });
    expect(parsed.embed_origins).toEqual(['https://app.example.com', 'https://b.example.com:8443']);
    expect(updateTenantSchema.parse({ embed_origins: [] }).embed_origins).toEqual([]);
  });

  it('names each bad origin by its index, and refuses more than 10', () => {
    const result = updateTenantSchema.safeParse({
      embed_origins: ['https://ok.example.com', 'http://a.com', 'https://*.x.com', 'https://a.com/path'],
    });
    expect(result.error?.issues.map((i) => i.path)).toEqual([
      ['embed_origins', 1],
      ['embed_origins', 2],
      ['embed_origins', 3],
    ]);
    const eleven = Array.from({ length: 11 }, (_, i) => `https://a${i}.example.com`);
    expect(updateTenantSchema.safeParse({ embed_origins: eleven }).success).toBe(false);
  });

  it('takes an https app_url or null, nothing else', () => {
    expect(updateTenantSchema.parse({ app_url: 'https://app.example.com/a' }).app_url).toBe(
      'https://app.example.com/a',
    );
    expect(updateTenantSchema.parse({ app_url: null }).app_url).toBeNull();
    expect(updateTenantSchema.safeParse({ app_url: 'http://app.example.com' }).success).toBe(false);
    expect(updateTenantSchema.safeParse({ app_url: 'x'.repeat(2049) }).success).toBe(false);
  });
});

describe('frame-ancestors', () => {
  it("is 'none' when the tenant lists no origin", () => {
    expect(frameAncestors([])).toBe("'none'");
  });

  it('lists the origins, space-separated', () => {
    expect(frameAncestors(['https://app.example.com', 'https://b.example.com:8443'])).toBe(
      'https://app.example.com https://b.example.com:8443',
    );
  });

  it('never lets a value that is not an exact https origin into the header', () => {
    expect(frameAncestors(['https://a.com; script-src *', '*', 'https://a.com'])).toBe('https://a.com');
    expect(frameAncestors(['*'])).toBe("'none'");
  });
});
