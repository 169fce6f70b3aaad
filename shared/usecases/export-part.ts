/**
 * The part of an export's multipart upload being filled. Text is encoded as UTF-8 straight into
 * one buffer, which the job reuses for every part it uploads, so an export holds one part's bytes
 * and nothing else of its size: no list of page strings, no part-sized string joined from them
 * (a two-byte string when an event holds any non-Latin-1 character), no second copy made by
 * encoding that string. Strings that size live in V8's large-object space, which only a full
 * collection frees; they made the process's RSS climb to the heap limit rather than to the part.
 */

/** UTF-8 needs at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_BYTES_PER_UNIT = 3;

export class PartBuffer {
  private bytes: Buffer;
  private used = 0;

  /**
   * `capacity`: what one part usually reaches, so it never grows: the part size plus one page of
   * rows, since a part is sent once it reaches the part size, after the page that got it there.
   */
  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Bytes written since the last clear. */
  get length(): number {
    return this.used;
  }

  write(text: string): void {
    if (this.bytes.length - this.used < text.length * MAX_UTF8_BYTES_PER_UNIT)
      this.reserve(Buffer.byteLength(text, 'utf8'));
    this.used += this.bytes.write(text, this.used, 'utf8');
  }

  /**
   * The bytes written since the last clear: a view of the buffer, not a copy, so it is only valid
   * until the next write or clear (the job uploads it, awaits the upload, then clears).
   */
  view(): Buffer {
    return this.bytes.subarray(0, this.used);
  }

  clear(): void {
    this.used = 0;
  }

  private reserve(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, Math.ceil(this.bytes.length * 1.25)));
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}

/**
 * A part buffer's capacity for parts of `partBytes`: a part is sent once it reaches that size,
 * after the page that got it there, so it ends up to one page of rows larger (about 2 MiB of
 * CSV). Pages never written to are never resident, so the headroom costs no memory unless used.
 */
export const partCapacity = (partBytes: number): number => Math.ceil(partBytes * 1.5);
