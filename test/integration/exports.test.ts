/**
 * Exports through the HTTP API of the local stack: synchronous files compared row by row with
 * GET /v1/events, CSV quoting and formula neutralisation, a queued export of more than 10,000
 * rows resumed across checkpoints, the emailed link, tenant isolation and scopes, the limits on
 * notify_email (allowed domains, hourly allowance) and the clamp to the tenant's current retention.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, baseUrl, createKey, createTenant, listAll, operator, type TestTenant } from './client.ts';

/** Follows the API's download redirect to the presigned URL and returns the file. */
const download = async (token: string, exportId: string): Promise<string> => {
  const redirect = await api('GET', `/v1/exports/${exportId}/download`, { token });
  expect(redirect.status).toBe(302);
  const location = redirect.headers.get('location') ?? '';
  const file = await fetch(location);
  expect(file.status).toBe(200);
  return (await file.text()).replace(/^\uFEFF/, '');
};

const waitForExport = async (token: string, exportId: string, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api('GET', `/v1/exports/${exportId}`, { token });
    if (res.body.status === 'completed' || res.body.status === 'failed' || Date.now() > deadline)
      return res.body;
    await new Promise((r) => setTimeout(r, 250));
  }
};

describe('synchronous exports', () => {
  let tenant: TestTenant;
  const to = new Date(Date.now() - 1000).toISOString();

  beforeAll(async () => {
    tenant = await createTenant();
    const events = Array.from({ length: 40 }, (_, i) => ({
      id: `x-${String(i).padStart(3, '0')}`,
      action: i % 2 ? 'doc.viewed' : 'doc.shared',
      occurred_at: new Date(Date.now() - 60_000 - i * 1000).toISOString(),
      actor: {
        id: `u${i % 3}`,
        name: i === 5 ? '=HYPERLINK("http://evil.example","click")' : `User, "${i}"`,
        type: 'user' as const,
      },
      target: { type: 'doc', id: `d${i % 4}` },
      context: { ip: '198.51.100.4', user_agent: 'Mozilla/5.0 (X11)' },
      metadata: { note: i === 7 ? 'line one\nline two, with "quotes"' : `+${i}`, n: i },
    }));
    const res = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
    expect(res.status).toBe(201);
  });

  it.each(['csv', 'json', 'ndjson'] as const)(
    'writes %s with the same rows, in the same order, as GET /v1/events',
    async (format) => {
      const filters = { actor_id: 'u1', to };
      const created = await api('POST', '/v1/exports', { token: tenant.key, body: { format, ...filters } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ status: 'completed', format, rows: expect.any(Number) });
      const expected = (await listAll(tenant.key, filters)).events;
      expect(created.body.rows).toBe(expected.length);
      const file = await download(tenant.key, created.body.id);
      let ids: string[];
      if (format === 'json') {
        const rows = JSON.parse(file);
        expect(rows).toEqual(expected);
        ids = rows.map((e: { id: string }) => e.id);
      } else if (format === 'ndjson') {
        const rows = file
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(rows).toEqual(expected);
        ids = rows.map((e: { id: string }) => e.id);
      } else {
        const rows = parse(file, { columns: true }) as Record<string, string>[];
        expect(rows.map((r) => r.timestamp)).toEqual(expected.map((e) => e.occurred_at));
        expect(rows.map((r) => r.actor_id)).toEqual(expected.map((e) => e.actor.id));
        ids = expected.map((e) => e.id);
      }
      expect(ids).toEqual(expected.map((e) => e.id));
      const back = await api('GET', `/v1/exports/${created.body.id}`, { token: tenant.key });
      expect(back.body).toMatchObject({
        id: created.body.id,
        status: 'completed',
        rows: expected.length,
        progress: 1,
      });
    },
  );

  it('quotes commas, quotes and newlines and neutralises formulas in CSV', async () => {
    const created = await api('POST', '/v1/exports', { token: tenant.key, body: { format: 'csv', to } });
    const rows = parse(await download(tenant.key, created.body.id), { columns: true }) as Record<
      string,
      string
    >[];
    const byName = (needle: string) => rows.find((r) => r.actor_name?.includes(needle));
    expect(byName('HYPERLINK')?.actor_name).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(byName('"3"')?.actor_name).toBe('User, "3"');
    const multiline = rows.find((r) => r.metadata_json?.includes('line one'));
    expect(JSON.parse(multiline?.metadata_json ?? '{}').note).toBe('line one\nline two, with "quotes"');
    // A metadata cell starting with "+" stays JSON ('{'), so it is not touched.
    expect(rows.every((r) => r.metadata_json === '' || r.metadata_json?.startsWith('{'))).toBe(true);
  });

  it('audits every export with audit_log.exported', async () => {
    const { events } = await listAll(tenant.key, { action: 'audit_log.exported' });
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events[0]).toMatchObject({
      actor: { id: tenant.keyId },
      metadata: { format: expect.any(String), rows: expect.any(Number) },
    });
  });
});

describe('exports and access', () => {
  it('keeps export ids and downloads within their tenant, and needs the scope', async () => {
    const [a, b] = await Promise.all([createTenant(), createTenant()]);
    const created = await api('POST', '/v1/exports', { token: a.key, body: { format: 'json' } });
    expect(created.status).toBe(201);
    expect((await api('GET', `/v1/exports/${created.body.id}`, { token: b.key })).status).toBe(404);
    expect((await api('GET', `/v1/exports/${created.body.id}/download`, { token: b.key })).status).toBe(404);
    const writer = await createKey(a.id, ['events:write']);
    expect((await api('POST', '/v1/exports', { token: writer.key, body: { format: 'csv' } })).status).toBe(
      403,
    );
    expect((await api('GET', `/v1/exports/${created.body.id}`, { token: writer.key })).status).toBe(403);
    const bad = await api('POST', '/v1/exports', { token: a.key, body: { format: 'pdf', limit: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['format', 'limit']);
  });
});

describe('export limits', () => {
  it("sends notify_email only to the tenant's allowed domains, and at most 20 per hour", async () => {
    const tenant = await createTenant();
    const patched = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: tenant.key,
      body: { email_domains: ['example.com'] },
    });
    expect(patched.status).toBe(200);

    const outside = await api('POST', '/v1/exports', {
      token: tenant.key,
      body: { format: 'json', notify_email: 'someone@elsewhere.test' },
    });
    expect(outside.status).toBe(400);
    expect(outside.body.errors[0].field).toBe('notify_email');

    const hour = () => new Date().toISOString().slice(0, 13);
    const startedIn = hour();
    const answers: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await api('POST', '/v1/exports', {
        token: tenant.key,
        body: { format: 'json', notify_email: `auditor${i}@example.com` },
      });
      answers.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(res.body.detail).toContain('notify_email');
      }
    }
    // Should the clock hour turn during the loop, the allowance renews once.
    if (hour() === startedIn) expect(answers).toEqual([...Array.from({ length: 20 }, () => 201), 429]);
    else expect(answers.filter((status) => status === 201).length).toBeGreaterThanOrEqual(20);
    // Without an email the tenant still exports.
    const silent = await api('POST', '/v1/exports', { token: tenant.key, body: { format: 'json' } });
    expect(silent.status).toBe(201);
  });

  it("clamps an export to the tenant's current retention at once", async () => {
    const tenant = await createTenant();
    const day = 86_400_000;
    const events = [5, 20, 40].map((days) => ({
      id: `aged-${days}`,
      action: 'doc.viewed',
      actor: { id: 'u1' },
      occurred_at: new Date(Date.now() - days * day).toISOString(),
    }));
    expect((await api('POST', '/v1/events', { token: tenant.key, body: { events } })).status).toBe(201);
    const from = new Date(Date.now() - 60 * day).toISOString();
    const before = await api('POST', '/v1/exports', { token: tenant.key, body: { format: 'json', from } });
    expect(before.body.rows).toBe(4);

    const cut = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: operator(),
      body: { retention_days: 10 },
    });
    expect(cut.status).toBe(200);
    const after = await api('POST', '/v1/exports', { token: tenant.key, body: { format: 'json', from } });

    expect(after.status).toBe(201);
    expect(Date.parse(after.body.filters.from)).toBeGreaterThan(Date.now() - 11 * day);
    const file = JSON.parse(await download(tenant.key, after.body.id)) as { id: string; action: string }[];
    // The 5-day-old event, the first export's own audit_log.exported event, the setup key's
    // trailkeeper.api_key.created and the retention change's trailkeeper.tenant.updated.
    expect(after.body.rows).toBe(4);
    expect(file.filter((e) => e.action === 'doc.viewed').map((e) => e.id)).toEqual(['aged-5']);
  });
});

describe('asynchronous export of more than 10,000 rows', () => {
  it('queues, resumes across checkpoints, completes with the exact row count and emails the console link', async () => {
    const tenant = await createTenant({ shards: 2 });
    const total = 10_050;
    for (let i = 0; i < total; i += 100) {
      const events = Array.from({ length: Math.min(100, total - i) }, (_, j) => ({
        id: `big-${i + j}`,
        action: 'api.request',
        actor: { id: 'bulk' },
        metadata: { i: i + j, note: 'x'.repeat(200) },
      }));
      const res = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
      expect(res.status).toBe(201);
    }
    const created = await api('POST', '/v1/exports', {
      token: tenant.key,
      body: { format: 'ndjson', actor_id: 'bulk', notify_email: 'auditor@example.com' },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'queued', download_url: null });

    const done = await waitForExport(tenant.key, created.body.id);
    expect(done).toMatchObject({ status: 'completed', rows: total, error: null });
    const lines = (await download(tenant.key, created.body.id)).trim().split('\n');
    expect(lines).toHaveLength(total);
    const ids = lines.map((l) => JSON.parse(l).id as string);
    expect(new Set(ids).size).toBe(total);
    // Newest first, ties (one batch shares a timestamp) broken by id, as GET /v1/events orders them.
    const keys = lines.map((l) => {
      const e = JSON.parse(l) as { occurred_at: string; id: string };
      return `${e.occurred_at}#${e.id}`;
    });
    expect(keys).toEqual([...keys].sort().reverse());

    const outbox = inject('outboxDir');
    const files = await readdir(outbox);
    const mails = await Promise.all(
      files.filter((f) => f.endsWith('.eml')).map((f) => readFile(join(outbox, f), 'utf8')),
    );
    // Other test files mail exports too: this export's email is the one naming it.
    const bodyOf = (mail: string) =>
      Buffer.from(mail.split('\r\n\r\n')[1]?.replace(/\r\n/g, '') ?? '', 'base64').toString('utf8');
    const mail = mails.find((m) => bodyOf(m).includes(`/v1/exports/${created.body.id}/download`));
    expect(mail).toContain('To: auditor@example.com');
    const body = bodyOf(mail ?? '');
    expect(body).toContain(`${total} events`);
    // The link opens the console at the export (who clicks it is checked there); keys use the API.
    expect(body).toContain(`${baseUrl()}/console/t/${tenant.id}/#export=${created.body.id}`);
    expect(body).toContain(`GET ${baseUrl()}/v1/exports/${created.body.id}/download`);
  }, 240_000);
});
