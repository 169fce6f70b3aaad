import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CursorCodec } from '#shared/domain/cursor.ts';

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
