/**
 * Secret redaction. Before anything is stored, values under keys that look secret are replaced
 * by "[REDACTED]" at any depth. Keys are compared after lower-casing and dropping everything
 * but letters and digits, so `X-Api-Key`, `apiKey` and `api_key` all match `api_key`, and a
 * pattern matches anywhere inside a key (`access_token`, `db_password_hash`).
 */

export const REDACTED = '[REDACTED]';

export const DEFAULT_SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'api_key',
  'apikey',
  'cookie',
  'credit_card',
  'card_number',
  'cvv',
  'private_key',
  'pin_code',
] as const;

const normalize = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

export type Redactor = (value: unknown) => unknown;

/** Builds a redactor for the default list plus `extraKeys` (e.g. from TRAILKEEPER_REDACT_KEYS). */
export const createRedactor = (extraKeys: readonly string[] = []): Redactor => {
  const patterns = [...new Set([...DEFAULT_SECRET_KEYS, ...extraKeys].map(normalize).filter(Boolean))];
  const looksSecret = (key: string): boolean => {
    const k = normalize(key);
    return patterns.some((p) => k.includes(p));
  };
  const redact = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(redact);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = looksSecret(k) ? REDACTED : redact(v);
      return out;
    }
    return value;
  };
  return redact;
};

export const parseKeyList = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
