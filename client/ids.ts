/**
 * Event ids the client assigns, so that a retried send is recognised as a replay: ULIDs in lower
 * case (the service's own id format: 48 bits of milliseconds, then 80 random bits, time-sortable),
 * from the platform's Web Crypto (`globalThis.crypto`, in Node 20+ and browsers). They never start
 * with `tk_` (the service's own namespace) and hold only `[0-9a-z]`.
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const newClientEventId = (
  nowMs: number = Date.now(),
  randomBytes: (n: number) => Uint8Array = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
): string => {
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  // 16 characters of 5 bits = 80 bits, one byte per character keeps it simple (the top 3 bits dropped).
  const random = Array.from(randomBytes(16), (byte) => ALPHABET.charAt(byte % 32)).join('');
  return time + random;
};
