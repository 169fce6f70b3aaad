import { describe, expect, it } from 'vitest';
import { PartBuffer, partCapacity } from '#shared/usecases/export-part.ts';

describe('export part buffer', () => {
  it('holds the UTF-8 bytes of what was written, multi-byte characters included', () => {
    const part = new PartBuffer(64);
    part.write('a,"b"\r\n');
    part.write('Zoë — 日本 😀\n');
    expect(part.length).toBe(Buffer.byteLength('a,"b"\r\nZoë — 日本 😀\n'));
    expect(part.view().toString('utf8')).toBe('a,"b"\r\nZoë — 日本 😀\n');
  });

  it('grows past its capacity without losing or splitting what it holds', () => {
    const part = new PartBuffer(8);
    const text = ['😀😀😀', 'x'.repeat(100), 'é'.repeat(50), '日本'];
    for (const piece of text) part.write(piece);
    expect(part.view().toString('utf8')).toBe(text.join(''));
    expect(part.view()).toEqual(Buffer.from(text.join(''), 'utf8'));
  });

  it('starts the next part at the beginning of the same buffer once cleared', () => {
    const part = new PartBuffer(32);
    part.write('first part, longer');
    const first = part.view();
    part.clear();
    expect(part.length).toBe(0);
    part.write('second');
    expect(part.view().toString('utf8')).toBe('second');
    expect(part.view().buffer).toBe(first.buffer);
  });

  it('has room for a part and the page that takes it past the part size', () => {
    expect(partCapacity(8 * 1024 * 1024)).toBe(12 * 1024 * 1024);
  });
});
