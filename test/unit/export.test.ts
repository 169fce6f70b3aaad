import { describe, expect, it } from 'vitest';
import { buildMime } from '#shared/domain/email.ts';
import {
  createExportSchema,
  type ExportRecord,
  emailDomainAllowed,
  emailQuotaWindow,
  exportColumnsProblem,
  exportCutoff,
  exportProgress,
  presentExport,
} from '#shared/domain/export.ts';
import { clampToRetention, retentionFloor } from '#shared/usecases/read-window.ts';

const record: ExportRecord = {
  id: 'exp_01jd0000000000000000000000',
  tenant_id: 'tnt_a',
  status: 'running',
  format: 'csv',
  filters: { action: ['auth.login'] },
  window: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-11T00:00:00.000Z' },
  notify_email: null,
  requested_by: 'key_1',
  base_url: 'https://api.example.com',
  object_key: 'tenant=tnt_a/exports/exp.csv',
  rows: 10,
  bytes: 100,
  error: null,
  created_at: 'c',
  started_at: 's',
  completed_at: null,
  expires_at: 'e',
  checkpoint: { position: '2026-11-06T00:00:00.000Z#e9', uploadId: 'u', parts: [], rows: 10, bytes: 100 },
  version: 3,
};

describe('export records', () => {
  it('reports progress as the share of the window written, newest first', () => {
    expect(exportProgress(record)).toBeCloseTo(0.5);
    expect(exportProgress({ ...record, checkpoint: null })).toBe(0);
    expect(exportProgress({ ...record, status: 'completed' })).toBe(1);
  });

  it('shows a download link only once completed, and never the checkpoint', () => {
    expect(presentExport(record).download_url).toBeNull();
    const done = presentExport({ ...record, status: 'completed' });
    expect(done.download_url).toBe(
      'https://api.example.com/v1/exports/exp_01jd0000000000000000000000/download',
    );
    expect(JSON.stringify(done)).not.toContain('uploadId');
  });

  it('validates the request: filters of GET /v1/events plus format and email', () => {
    expect(createExportSchema.safeParse({ format: 'csv', action: 'secret.*' }).success).toBe(true);
    expect(createExportSchema.safeParse({ format: 'xlsx' }).success).toBe(false);
    expect(createExportSchema.safeParse({ format: 'csv', notify_email: 'nope' }).success).toBe(false);
    expect(createExportSchema.safeParse({}).success).toBe(false);
  });

  it('validates chosen CSV columns, naming each unknown or repeated one by its index', () => {
    const columns = (value: unknown) => createExportSchema.safeParse({ format: 'csv', columns: value });
    expect(columns(['request_json', 'timestamp', 'actor_role']).data?.columns).toEqual([
      'request_json',
      'timestamp',
      'actor_role',
    ]);
    const unknown = columns(['action', 'hash']);
    expect(unknown.error?.issues.map((i) => i.path)).toEqual([['columns', 1]]);
    const repeated = columns(['action', 'area', 'action']);
    expect(repeated.error?.issues.map((i) => i.path)).toEqual([['columns', 2]]);
    expect(columns([]).success).toBe(false);
    expect(columns('action').success).toBe(false);
  });

  it('allows chosen columns with CSV only: JSON and NDJSON hold whole events', () => {
    expect(exportColumnsProblem('csv', ['action'])).toBeNull();
    expect(exportColumnsProblem('json', undefined)).toBeNull();
    expect(exportColumnsProblem('json', ['action'])).toMatch(/whole events/);
    expect(exportColumnsProblem('ndjson', ['action'])).toMatch(/whole events/);
  });

  it('shows the chosen columns of an export that has them, and no `columns` otherwise', () => {
    expect(presentExport({ ...record, columns: ['action', 'area'] }).columns).toEqual(['action', 'area']);
    expect('columns' in presentExport(record)).toBe(false);
  });
});

describe('export cut-off (as_of)', () => {
  const window = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-21T12:00:00.000Z' };
  const readStartMs = Date.parse('2026-11-21T12:00:00.000Z');

  it('is the read time less the sealing lag when `to` defaulted to the request time', () => {
    expect(exportCutoff({ readStartMs, window, toGiven: false, lagMs: 960_000 })).toBe(
      '2026-11-21T11:44:00.000Z',
    );
  });

  it('stays before an explicit `to` by the 5-minute future skew an occurred_at may have', () => {
    const past = { from: window.from, to: '2026-11-15T00:00:00.000Z' };
    expect(exportCutoff({ readStartMs, window: past, toGiven: true, lagMs: 960_000 })).toBe(
      '2026-11-14T23:55:00.000Z',
    );
  });

  it('of a queued export is bounded by the window it was requested with, not only its later start', () => {
    const started = readStartMs + 3_600_000;
    expect(exportCutoff({ readStartMs: started, window, toGiven: false, lagMs: 1_500 })).toBe(
      '2026-11-21T11:59:58.500Z',
    );
  });
});

describe('notify_email limits', () => {
  it('admits any domain when the tenant lists none, else only a listed one, exactly, whatever the case', () => {
    expect(emailDomainAllowed('ada@anything.test', undefined)).toBe(true);
    expect(emailDomainAllowed('ada@anything.test', [])).toBe(true);
    expect(emailDomainAllowed('Ada@Example.COM', ['example.com'])).toBe(true);
    expect(emailDomainAllowed('ada@eu.example.com', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('ada@example.com.evil.test', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('"a@example.com"@evil.test', ['example.com'])).toBe(false);
  });

  it('counts emails per clock hour', () => {
    expect(emailQuotaWindow(Date.parse('2026-11-21T12:59:59.999Z'))).toEqual({
      key: '2026-11-21T12',
      resetsAtMs: Date.parse('2026-11-21T13:00:00.000Z'),
    });
  });
});

describe('read window', () => {
  const now = Date.parse('2026-11-21T12:00:00.000Z');

  it("raises the window's start to the retention floor, and keeps it under unlimited retention", () => {
    const window = { from: '2026-01-01T00:00:00.000Z', to: '2026-11-21T12:00:00.000Z' };
    expect(retentionFloor(30, now)).toBe('2026-10-22T12:00:00.000Z');
    expect(clampToRetention(window, 30, now)).toEqual({ from: '2026-10-22T12:00:00.000Z', to: window.to });
    expect(retentionFloor(null, now)).toBe('');
    expect(clampToRetention(window, null, now)).toEqual(window);
  });

  it('leaves nothing of a window older than the retention', () => {
    const old = { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' };
    expect(clampToRetention(old, 30, now)).toBeNull();
  });
});

describe('notification email', () => {
  it('builds a MIME message with encoded subject and base64 body', () => {
    const mime = buildMime({ from: 'a@x.io', to: 'b@y.io', subject: 'Prêt ✓', text: 'Hello\nworld' });
    expect(mime).toContain('To: b@y.io\r\n');
    expect(mime).toContain('Subject: =?UTF-8?B?');
    const body = mime.split('\r\n\r\n')[1] ?? '';
    expect(Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8')).toBe('Hello\nworld');
  });

  it('refuses header injection through an address', () => {
    expect(() =>
      buildMime({ from: 'a@x.io', to: 'b@y.io\r\nBcc: c@z.io', subject: 's', text: 't' }),
    ).toThrow();
  });
});
