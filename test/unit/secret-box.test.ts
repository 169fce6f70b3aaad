import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DESTINATION_KEY_FILE_ENV,
  DESTINATION_KEY_ID_ENV,
  ensureSecretBoxKeyFile,
  KmsSecretBox,
  LocalSecretBox,
  secretBoxFrom,
} from '#shared/adapters/secret-box.ts';
import {
  type DestinationSecretContext,
  MAX_SECRET_BYTES,
  SecretRefusedError,
} from '#shared/usecases/ports/secret-box.ts';

const CONTEXT: DestinationSecretContext = {
  tenant_id: 'ten_a',
  destination_id: 'str_1',
  purpose: 'webhook_signing_secret',
};
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const key = (fill: number) => Buffer.alloc(32, fill);

/** The sealed payload (iv | tag | ciphertext) with one byte flipped at `index`. */
const flipByte = (sealed: string, index: number): string => {
  const bytes = Buffer.from(sealed.slice('local1:'.length), 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return `local1:${bytes.toString('base64')}`;
};

describe('local secret box', () => {
  it('opens what it sealed, with the same context', async () => {
    const box = new LocalSecretBox(key(7));

    const sealed = await box.seal(SECRET, CONTEXT);

    expect(sealed).toMatch(/^local1:[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.toContain(SECRET);
    expect(await box.open(sealed, CONTEXT)).toBe(SECRET);
  });

  it('round-trips a Slack webhook URL and non-ASCII text', async () => {
    const box = new LocalSecretBox(key(7));
    const context = { ...CONTEXT, purpose: 'slack_webhook_url' } as const;
    for (const secret of ['https://hooks.slack.com/services/T000/B000/XXXX', 'clé-é-ü-😀']) {
      expect(await box.open(await box.seal(secret, context), context)).toBe(secret);
    }
  });

  it('uses a fresh IV each time: the same secret seals differently', async () => {
    const box = new LocalSecretBox(key(7));

    const [first, second] = [await box.seal(SECRET, CONTEXT), await box.seal(SECRET, CONTEXT)];

    expect(first).not.toBe(second);
    expect(Buffer.from(first.slice(7), 'base64').length).toBe(12 + 16 + Buffer.byteLength(SECRET));
  });

  it.each([
    ['another tenant', { ...CONTEXT, tenant_id: 'ten_b' }],
    ['another destination', { ...CONTEXT, destination_id: 'str_2' }],
    ['another purpose', { ...CONTEXT, purpose: 'splunk_hec_token' }],
    ['an extra key', { ...CONTEXT, generation: '2' }],
  ])('refuses to open a secret with %s in the context', async (_, context) => {
    const box = new LocalSecretBox(key(7));
    const sealed = await box.seal(SECRET, CONTEXT);

    await expect(box.open(sealed, context)).rejects.toThrow(SecretRefusedError);
  });

  it('binds the context whatever order its keys come in', async () => {
    const box = new LocalSecretBox(key(7));
    const sealed = await box.seal(SECRET, CONTEXT);
    const reordered = { purpose: CONTEXT.purpose, destination_id: 'str_1', tenant_id: 'ten_a' };

    expect(await box.open(sealed, reordered)).toBe(SECRET);
  });

  it.each([
    ['the IV', 0],
    ['the tag', 12],
    ['the ciphertext', 28],
  ])('refuses a secret whose %s was tampered with', async (_, index) => {
    const box = new LocalSecretBox(key(7));
    const sealed = await box.seal(SECRET, CONTEXT);

    await expect(box.open(flipByte(sealed, index), CONTEXT)).rejects.toThrow(SecretRefusedError);
  });

  it('refuses a secret sealed with another key', async () => {
    const sealed = await new LocalSecretBox(key(7)).seal(SECRET, CONTEXT);

    await expect(new LocalSecretBox(key(8)).open(sealed, CONTEXT)).rejects.toThrow(SecretRefusedError);
  });

  it.each([
    ['a KMS secret', 'kms1:AQIDBA=='],
    ['no version', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['bad base64', 'local1:not base64!'],
    ['an empty payload', 'local1:'],
    ['a payload shorter than iv and tag', `local1:${Buffer.alloc(28).toString('base64')}`],
  ])('refuses %s', async (_, sealed) => {
    await expect(new LocalSecretBox(key(7)).open(sealed, CONTEXT)).rejects.toThrow(SecretRefusedError);
  });

  it('refuses an empty secret and one over the KMS limit, and takes one at the limit', async () => {
    const box = new LocalSecretBox(key(7));

    await expect(box.seal('', CONTEXT)).rejects.toThrow(/must not be empty/);
    await expect(box.seal('x'.repeat(MAX_SECRET_BYTES + 1), CONTEXT)).rejects.toThrow(/at most 4096 bytes/);
    await expect(box.seal('é'.repeat(MAX_SECRET_BYTES / 2 + 1), CONTEXT)).rejects.toThrow(RangeError);
    const atLimit = 'x'.repeat(MAX_SECRET_BYTES);
    expect(await box.open(await box.seal(atLimit, CONTEXT), CONTEXT)).toBe(atLimit);
  });

  it.each([
    ['no tenant', { destination_id: 'str_1', purpose: 'webhook_signing_secret' }],
    ['an empty destination', { ...CONTEXT, destination_id: '' }],
    ['an unknown purpose', { ...CONTEXT, purpose: 'misc' }],
  ])('refuses to seal with a context of %s', async (_, context) => {
    await expect(new LocalSecretBox(key(7)).seal(SECRET, context as Record<string, string>)).rejects.toThrow(
      TypeError,
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new LocalSecretBox(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});

describe('local secret key file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secret-box-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is created once, 32 random bytes readable by its owner only', async () => {
    const path = join(dir, 'destination-key');

    expect(await ensureSecretBoxKeyFile(path)).toBe(path);

    const info = await stat(path);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(32);
    expect((await readFile(path)).equals(Buffer.alloc(32))).toBe(false);
  });

  it('is reused: a second start keeps the key, and secrets sealed before still open', async () => {
    const path = await ensureSecretBoxKeyFile(join(dir, 'destination-key'));
    const before = await readFile(path);
    const sealed = await (await LocalSecretBox.fromFile(path)).seal(SECRET, CONTEXT);

    await ensureSecretBoxKeyFile(path);

    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await (await LocalSecretBox.fromFile(path)).open(sealed, CONTEXT)).toBe(SECRET);
  });

  it('is refused when others may read it', async () => {
    const path = join(dir, 'destination-key');
    await writeFile(path, Buffer.alloc(32, 1));
    await chmod(path, 0o644);

    await expect(LocalSecretBox.fromFile(path)).rejects.toThrow(/owner only/);
  });

  it('is refused when it does not hold 32 bytes', async () => {
    const path = join(dir, 'destination-key');
    await writeFile(path, 'short', { mode: 0o600 });

    await expect(LocalSecretBox.fromFile(path)).rejects.toThrow(/32 bytes/);
  });
});

describe('secret box from the environment', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secret-box-env-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is KMS when a destination key id is set, even beside a key file', async () => {
    const box = await secretBoxFrom({
      [DESTINATION_KEY_ID_ENV]: 'alias/trailkeeper-destinations',
      [DESTINATION_KEY_FILE_ENV]: join(dir, 'unused'),
    });

    expect(box).toBeInstanceOf(KmsSecretBox);
  });

  it('is the local key file otherwise', async () => {
    const path = await ensureSecretBoxKeyFile(join(dir, 'destination-key'));

    const box = await secretBoxFrom({ [DESTINATION_KEY_ID_ENV]: '  ', [DESTINATION_KEY_FILE_ENV]: path });

    expect(box).toBeInstanceOf(LocalSecretBox);
    expect(await box.open(await box.seal(SECRET, CONTEXT), CONTEXT)).toBe(SECRET);
  });

  it('names both variables when neither is set', async () => {
    await expect(secretBoxFrom({})).rejects.toThrow(
      'neither TRAILKEEPER_DESTINATION_KEY_ID nor TRAILKEEPER_DESTINATION_KEY_FILE is set',
    );
  });
});
