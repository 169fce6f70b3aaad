import { randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSServiceException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KmsSecretBox } from '#shared/adapters/secret-box.ts';
import { type DestinationSecretContext, SecretRefusedError } from '#shared/usecases/ports/secret-box.ts';

const kms = mockClient(KMSClient);
const KEY = 'alias/trailkeeper-destinations';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1111';
const CONTEXT: DestinationSecretContext = {
  tenant_id: 'ten_a',
  destination_id: 'str_1',
  purpose: 'splunk_hec_token',
};
const TOKEN = '0b5a6c3e-9f4d-4c2b-8e1a-7d6f5e4c3b2a';

const refused = (name: 'InvalidCiphertextException' | 'IncorrectKeyException') =>
  name === 'InvalidCiphertextException'
    ? new InvalidCiphertextException({ message: 'invalid', $metadata: {} })
    : new IncorrectKeyException({ message: 'incorrect key', $metadata: {} });

/**
 * A KMS stand-in that behaves like the service: an opaque blob per Encrypt, which Decrypt opens
 * only under the same key and exactly the same EncryptionContext.
 */
const fakeKms = () => {
  const blobs = new Map<string, { plaintext: Uint8Array; context: Record<string, string>; key: string }>();
  kms.on(EncryptCommand).callsFake((input) => {
    const blob = randomBytes(64);
    blobs.set(blob.toString('hex'), {
      plaintext: Uint8Array.from(input.Plaintext),
      context: { ...input.EncryptionContext },
      key: input.KeyId,
    });
    return { CiphertextBlob: blob, KeyId: KEY_ARN, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  });
  kms.on(DecryptCommand).callsFake((input) => {
    const stored = blobs.get(Buffer.from(input.CiphertextBlob).toString('hex'));
    if (stored === undefined) throw refused('InvalidCiphertextException');
    if (stored.key !== input.KeyId) throw refused('IncorrectKeyException');
    const context = input.EncryptionContext ?? {};
    const same =
      Object.keys(context).length === Object.keys(stored.context).length &&
      Object.entries(stored.context).every(([k, v]) => context[k] === v);
    if (!same) throw refused('InvalidCiphertextException');
    return { Plaintext: stored.plaintext, KeyId: KEY_ARN, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  });
};

const box = () => new KmsSecretBox(new KMSClient({ region: 'us-east-1' }), KEY);

describe('KMS secret box', () => {
  beforeEach(() => {
    fakeKms();
  });
  afterEach(() => {
    kms.reset();
    vi.restoreAllMocks();
  });

  it('seals with one Encrypt under the key, the context as EncryptionContext', async () => {
    const sealed = await box().seal(TOKEN, CONTEXT);

    expect(kms.commandCalls(EncryptCommand)).toHaveLength(1);
    expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input).toEqual({
      KeyId: KEY,
      Plaintext: Buffer.from(TOKEN, 'utf8'),
      EncryptionContext: { tenant_id: 'ten_a', destination_id: 'str_1', purpose: 'splunk_hec_token' },
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
    expect(sealed).toMatch(/^kms1:[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.toContain(TOKEN);
  });

  it('opens with one Decrypt naming the key, the blob and the same EncryptionContext', async () => {
    const sealed = await box().seal(TOKEN, CONTEXT);

    const opened = await box().open(sealed, CONTEXT);

    expect(opened).toBe(TOKEN);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
    expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input).toEqual({
      KeyId: KEY,
      CiphertextBlob: Buffer.from(sealed.slice('kms1:'.length), 'base64'),
      EncryptionContext: { tenant_id: 'ten_a', destination_id: 'str_1', purpose: 'splunk_hec_token' },
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
  });

  it.each([
    ['another tenant', { ...CONTEXT, tenant_id: 'ten_b' }],
    ['another destination', { ...CONTEXT, destination_id: 'str_2' }],
    ['another purpose', { ...CONTEXT, purpose: 'datadog_api_key' }],
  ])("refuses to open it with %s's context", async (_, context) => {
    const sealed = await box().seal(TOKEN, CONTEXT);

    await expect(box().open(sealed, context)).rejects.toThrow(SecretRefusedError);
    expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input.EncryptionContext).toEqual(context);
  });

  it('refuses a tampered blob', async () => {
    const sealed = await box().seal(TOKEN, CONTEXT);
    const blob = Buffer.from(sealed.slice(5), 'base64');
    blob[10] = (blob[10] ?? 0) ^ 0xff;

    await expect(box().open(`kms1:${blob.toString('base64')}`, CONTEXT)).rejects.toThrow(SecretRefusedError);
  });

  it('refuses a blob of another key', async () => {
    const sealed = await new KmsSecretBox(new KMSClient({ region: 'us-east-1' }), 'alias/other').seal(
      TOKEN,
      CONTEXT,
    );

    await expect(box().open(sealed, CONTEXT)).rejects.toThrow(SecretRefusedError);
  });

  it.each([
    ['a local secret', 'local1:AAAA'],
    ['bad base64', 'kms1:***'],
    ['an empty blob', 'kms1:'],
  ])('refuses %s without calling KMS', async (_, sealed) => {
    await expect(box().open(sealed, CONTEXT)).rejects.toThrow(SecretRefusedError);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
  });

  it('refuses a secret over 4 KiB without calling KMS', async () => {
    await expect(box().seal('x'.repeat(4097), CONTEXT)).rejects.toThrow(RangeError);
    expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
  });

  it('lets a KMS outage through as itself (retryable), not as a refusal', async () => {
    const sealed = await box().seal(TOKEN, CONTEXT);
    const throttled = new KMSServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      message: 'Rate exceeded',
      $metadata: {},
    });
    kms.on(DecryptCommand).rejects(throttled);

    const failure = await box()
      .open(sealed, CONTEXT)
      .catch((error: unknown) => error);

    expect(failure).toBe(throttled);
    expect(failure).not.toBeInstanceOf(SecretRefusedError);
  });

  it('never writes the secret to the console or into an error message', async () => {
    const written: string[] = [];
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        written.push(args.map(String).join(' '));
      });
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const sealed = await box().seal(TOKEN, CONTEXT);
    await box().open(sealed, CONTEXT);
    const refusal = await box()
      .open(sealed, { ...CONTEXT, tenant_id: 'ten_b' })
      .catch((error: unknown) => error);
    const tooLong = await box()
      .seal(`${TOKEN}${'x'.repeat(4096)}`, CONTEXT)
      .catch((error: unknown) => error);
    vi.restoreAllMocks();

    expect(refusal).toBeInstanceOf(SecretRefusedError);
    expect(tooLong).toBeInstanceOf(RangeError);
    for (const error of [refusal, tooLong]) {
      expect((error as Error).message).not.toContain(TOKEN);
      expect((error as Error).message).not.toContain(sealed.slice(5));
    }
    expect(written.join('\n')).not.toContain(TOKEN);
  });
});
