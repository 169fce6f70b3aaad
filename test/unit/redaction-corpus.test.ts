import { describe, expect, it } from 'vitest';
import { buildStoredEvent, type EventInput } from '#shared/domain/event.ts';
import { createRedactor, REDACTED, type Redactor } from '#shared/domain/sanitize.ts';
import { HARMLESS_SAMPLES, SECRET_SAMPLES } from './fixtures/redaction-corpus.ts';

const redact = createRedactor();
const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const tenant = { tenantId: 'tnt_corpus', retentionDays: 90 };

/** The places a value turns up in real events: under an innocent key, in a list, nested deep. */
const placements = (value: unknown, embeddable: boolean): Record<string, unknown>[] => [
  { note: value },
  { notes: ['first note', value] },
  { outer: { inner: [{ detail: { note: value } }] } },
  ...(embeddable && typeof value === 'string'
    ? [{ note: `Support ticket says: ${value} -- please rotate` }]
    : []),
];

/** Metadata and request exactly as the ingest use case stores them. */
const stored = (placement: Record<string, unknown>, redactor: Redactor): string => {
  const input = {
    action: 'support.note_added',
    actor: { id: 'user_1' },
    metadata: placement,
    request: placement,
  };
  const built = buildStoredEvent(input as EventInput, tenant, NOW, redactor);
  if (!built.ok) throw new Error(JSON.stringify(built.errors));
  return JSON.stringify({ metadata: built.event.metadata, request: built.event.request });
};

/** Every placement of every secret sample that still shows one of its secrets once stored. */
const leaksOf = (redactor: Redactor): string[] =>
  SECRET_SAMPLES.flatMap((sample) =>
    placements(sample.value, sample.embeddable).flatMap((placement) => {
      const text = stored(placement, redactor);
      const shows = sample.secrets.some(
        (secret) => text.includes(secret) || text.includes(JSON.stringify(secret).slice(1, -1)),
      );
      return shows ? [`${sample.label}: ${text.slice(0, 160)}`] : [];
    }),
  );

/** Every placement of every harmless sample that the redactor changed. */
const damageOf = (redactor: Redactor): string[] =>
  HARMLESS_SAMPLES.flatMap((sample) =>
    placements(sample.value, true).flatMap((placement) => {
      const out = JSON.stringify(redactor(placement));
      return out === JSON.stringify(placement) ? [] : [`${sample.label}: ${out.slice(0, 160)}`];
    }),
  );

const secretPlacements = SECRET_SAMPLES.flatMap((s) => placements(s.value, s.embeddable)).length;
const harmlessPlacements = HARMLESS_SAMPLES.flatMap((s) => placements(s.value, true)).length;

describe('redaction corpus', () => {
  it('has at least 100 secrets and 100 harmless look-alikes', () => {
    const stringSecrets = SECRET_SAMPLES.filter((s) => typeof s.value === 'string').length;
    console.info(
      `redaction corpus: ${SECRET_SAMPLES.length} secret samples (${stringSecrets} strings), ` +
        `${HARMLESS_SAMPLES.length} harmless samples`,
    );
    expect(SECRET_SAMPLES.length).toBeGreaterThanOrEqual(100);
    expect(HARMLESS_SAMPLES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(SECRET_SAMPLES.map((s) => s.label)).size).toBe(SECRET_SAMPLES.length);
  });

  it('stores none of the secrets, wherever they are placed', () => {
    const leaks = leaksOf(redact);
    console.info(`redaction corpus: ${secretPlacements} secret placements checked, ${leaks.length} leaked`);
    expect(secretPlacements).toBeGreaterThan(3 * SECRET_SAMPLES.length);
    expect(leaks).toEqual([]);
  });

  it('leaves every harmless value untouched, wherever it is placed', () => {
    const damage = damageOf(redact);
    console.info(
      `redaction corpus: ${harmlessPlacements} harmless placements checked, ${damage.length} altered`,
    );
    expect(harmlessPlacements).toBeGreaterThan(3 * HARMLESS_SAMPLES.length);
    expect(damage).toEqual([]);
  });

  it('has checks that fail: a redactor that keeps everything leaks every secret, one that drops everything damages every harmless value', () => {
    expect(leaksOf((value) => value)).toHaveLength(secretPlacements);
    expect(damageOf(() => REDACTED)).toHaveLength(harmlessPlacements);
  });

  it('redacts only the secret part of a string, keeping the text around it readable', () => {
    const redacted = SECRET_SAMPLES.filter((s) => s.embeddable && typeof s.value === 'string').map((s) =>
      String(redact(`Support ticket says: ${String(s.value)} -- please rotate`)),
    );
    expect(redacted.filter((text) => !text.startsWith('Support ticket says: '))).toEqual([]);
    expect(redacted.filter((text) => !text.endsWith(' -- please rotate'))).toEqual([]);
    expect(redacted.filter((text) => !text.includes(REDACTED))).toEqual([]);
  });

  it('is idempotent over the whole corpus', () => {
    for (const sample of [...SECRET_SAMPLES, ...HARMLESS_SAMPLES]) {
      const once = redact({ note: sample.value });
      expect(redact(once), sample.label).toEqual(once);
    }
  });
});
