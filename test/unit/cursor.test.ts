import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cursorCodec } from '#shared/adapters/secret-wiring.ts';
import { resetSecretCache } from '#shared/adapters/secrets.ts';
import { CURSOR_MAX_VALUES, CursorCodec } from '#shared/domain/cursor.ts';

const codec = new CursorCodec(randomBytes(32));
const state = {
  position: '2026-11-21T12:00:00.000Z#e1',
  from: '2026-10-22T12:00:00.000Z',
  to: '2026-11-21T12:00:00.000Z',
  filters: 'abc',
};

describe('cursor codec', () => {
  it('round-trips the state for the tenant that made it', () => {
    expect(codec.decode('tnt_a', codec.encode('tnt_a', state))).toEqual(state);
  });

  it("round-trips a path's carried values and weights, and refuses more than a cursor carries", () => {
    const carried = { ...state, path: 'kind', values: ['k1', 'k2'], weights: [3, 1] };
    expect(codec.decode('tnt_a', codec.encode('tnt_a', carried))).toEqual(carried);
    const tooMany = { ...carried, values: Array.from({ length: CURSOR_MAX_VALUES + 1 }, (_, i) => `k${i}`) };
    expect(codec.decode('tnt_a', codec.encode('tnt_a', tooMany))).toBeNull();
  });

  it('rejects a cursor from another tenant', () => {
    expect(codec.decode('tnt_b', codec.encode('tnt_a', state))).toBeNull();
  });

  it('rejects a cursor with any byte altered', () => {
    const cursor = Buffer.from(codec.encode('tnt_a', state), 'base64url');
    for (let i = 0; i < cursor.length; i += 7) {
      const altered = Buffer.from(cursor);
      altered[i] = (altered[i] ?? 0) ^ 0x01;
      expect(codec.decode('tnt_a', altered.toString('base64url'))).toBeNull();
    }
  });

  it('rejects garbage and cursors made with another key', () => {
    expect(codec.decode('tnt_a', 'not-a-cursor')).toBeNull();
    expect(codec.decode('tnt_a', '')).toBeNull();
    expect(new CursorCodec(randomBytes(32)).decode('tnt_a', codec.encode('tnt_a', state))).toBeNull();
  });

  it('is opaque: the position does not appear in the cursor', () => {
    const cursor = codec.encode('tnt_a', state);
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain('2026-11-21');
  });
});

describe('cursor codec during a key rotation', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const rotated = new CursorCodec(newKey, [oldKey]);

  it('opens a cursor made with the previous key', () => {
    const before = new CursorCodec(oldKey).encode('tnt_a', state);
    expect(rotated.decode('tnt_a', before)).toEqual(state);
  });

  it('makes new cursors with the current key only', () => {
    const cursor = rotated.encode('tnt_a', state);
    expect(new CursorCodec(newKey).decode('tnt_a', cursor)).toEqual(state);
    expect(new CursorCodec(oldKey).decode('tnt_a', cursor)).toBeNull();
  });

  it('still rejects a previous-key cursor of another tenant, and cursors of any other key', () => {
    expect(rotated.decode('tnt_b', new CursorCodec(oldKey).encode('tnt_a', state))).toBeNull();
    expect(rotated.decode('tnt_a', new CursorCodec(randomBytes(32)).encode('tnt_a', state))).toBeNull();
  });

  it('refuses a previous key that is not 32 bytes', () => {
    expect(() => new CursorCodec(newKey, [randomBytes(16)])).toThrow('cursor key must be 32 bytes');
  });
});

describe('production cursor codec (shared/adapters/secret-wiring.ts)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    resetSecretCache();
  });

  it('opens cursors of the previous key while TRAILKEEPER_CURSOR_KEY_PREVIOUS names it, and not after', async () => {
    vi.stubEnv('CURSOR_KEY_SECRET_ARN', '');
    vi.stubEnv('TRAILKEEPER_CURSOR_KEY', 'old-cursor-key');
    const before = (await cursorCodec()).encode('tnt_a', state);

    resetSecretCache();
    vi.stubEnv('TRAILKEEPER_CURSOR_KEY', 'new-cursor-key');
    vi.stubEnv('TRAILKEEPER_CURSOR_KEY_PREVIOUS', 'old-cursor-key');
    const during = await cursorCodec();
    expect(during.decode('tnt_a', before)).toEqual(state);

    resetSecretCache();
    vi.stubEnv('TRAILKEEPER_CURSOR_KEY_PREVIOUS', '');
    const after = await cursorCodec();
    expect(after).not.toBe(during);
    expect(after.decode('tnt_a', before)).toBeNull();
    expect(after.decode('tnt_a', during.encode('tnt_a', state))).toEqual(state);
  });
});
