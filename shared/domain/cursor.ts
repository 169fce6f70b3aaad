/**
 * Opaque, tamper-proof page cursors. A cursor is AES-256-GCM over the position (the last sort
 * key returned), the resolved time window and the filters' fingerprint, with the tenant id as
 * additional authenticated data: a cursor altered, forged, or replayed by another tenant or
 * with other filters fails to open. During a key rotation cursors are made with the current key
 * and opened with the current or the previous one, so a page fetched just before the rotation
 * can still be followed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as z from 'zod';

export interface CursorState {
  /** Sort key of the last event returned; the next page starts strictly below it. */
  position: string;
  from: string;
  to: string;
  /** filtersFingerprint() of the query that produced the cursor. */
  filters: string;
  /** The access path the planner chose on the first page (later pages read the same way). */
  path?: string;
  /**
   * That path's key values still holding events below `position` (kind ids, actor ids, …) and
   * their weights: a later page reads only these, and not the kind registry again.
   */
  values?: string[];
  weights?: number[];
}

/** A cursor carries a path's values only up to this many (beyond, later pages plan them again). */
export const CURSOR_MAX_VALUES = 64;
/**
 * …and only up to this many characters of them and their weights (as JSON): with the rest of the
 * state (a sort key, the window, the fingerprint: under 600), AES-GCM's 28 bytes and base64url's
 * 4/3, a cursor stays under the 4,096 characters `cursor` accepts (query.ts listQuerySchema).
 */
export const CURSOR_MAX_CARRIED_CHARS = 2_048;

const stateSchema = z.strictObject({
  v: z.literal(1),
  p: z.string(),
  f: z.string(),
  t: z.string(),
  q: z.string(),
  w: z.string().max(32).optional(),
  k: z.array(z.string().max(256)).max(CURSOR_MAX_VALUES).optional(),
  n: z.array(z.number().nonnegative()).max(CURSOR_MAX_VALUES).optional(),
});

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class CursorCodec {
  private readonly key: Buffer;
  /** Keys cursors may still have been made with: tried after `key`, never used to make one. */
  private readonly previousKeys: readonly Buffer[];

  constructor(key: Buffer, previousKeys: readonly Buffer[] = []) {
    for (const k of [key, ...previousKeys])
      if (k.length !== 32) throw new Error('cursor key must be 32 bytes');
    this.key = key;
    this.previousKeys = previousKeys;
  }

  encode(tenantId: string, state: CursorState): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(tenantId, 'utf8'));
    const plain = JSON.stringify({
      v: 1,
      p: state.position,
      f: state.from,
      t: state.to,
      q: state.filters,
      ...(state.path === undefined ? {} : { w: state.path }),
      ...(state.values === undefined ? {} : { k: state.values }),
      ...(state.weights === undefined ? {} : { n: state.weights }),
    });
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * Returns the state, or null when the cursor is malformed, tampered with, not this tenant's, or
   * made with a key that is neither the current nor a previous one.
   */
  decode(tenantId: string, cursor: string): CursorState | null {
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 1) return null;
    for (const key of [this.key, ...this.previousKeys]) {
      const state = open(key, tenantId, raw);
      if (state !== null) return state;
    }
    return null;
  }
}

/** Decrypts and parses a cursor with one key; null when that fails in any way. */
const open = (key: Buffer, tenantId: string, raw: Buffer): CursorState | null => {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(tenantId, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]);
    const parsed = stateSchema.safeParse(JSON.parse(plain.toString('utf8')));
    if (!parsed.success) return null;
    return {
      position: parsed.data.p,
      from: parsed.data.f,
      to: parsed.data.t,
      filters: parsed.data.q,
      ...(parsed.data.w === undefined ? {} : { path: parsed.data.w }),
      ...(parsed.data.k === undefined ? {} : { values: parsed.data.k }),
      ...(parsed.data.n === undefined ? {} : { weights: parsed.data.n }),
    };
  } catch {
    return null;
  }
};
