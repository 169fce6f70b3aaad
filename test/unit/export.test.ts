import { describe, expect, it } from 'vitest';
import { buildMime } from '#shared/domain/email.ts';
import {
  createExportSchema,
  type ExportRecord,
  exportProgress,
  presentExport,
} from '#shared/domain/export.ts';

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
