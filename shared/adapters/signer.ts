/**
 * The digest signing key. In AWS an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY): the private
 * key never leaves KMS, and KMS's ECDSA_SHA_256 signatures are DER, exactly what node:crypto
 * verifies. Locally a P-256 private key in a PEM file under .data/ (the same algorithm and
 * signature format), so digests made locally verify with the same verifier.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ENV } from '../config/env.ts';
import { SIGNATURE_ALGORITHM } from '../domain/digest.ts';
import type { PublicKeyInfo, Signer } from '../usecases/ports/integrity.ts';

const spkiPem = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }).toString();

export class KmsSigner implements Signer {
  private info: Promise<PublicKeyInfo> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyIdOrArn: string,
  ) {}

  async keyId(): Promise<string> {
    return (await this.publicKey()).key_id;
  }

  async sign(payload: Buffer): Promise<Buffer> {
    const out = await this.kms.send(
      new SignCommand({
        KeyId: await this.keyId(),
        Message: payload,
        MessageType: 'RAW',
        SigningAlgorithm: SIGNATURE_ALGORITHM,
      }),
    );
    if (out.Signature === undefined) throw new Error('KMS returned no signature');
    return Buffer.from(out.Signature);
  }

  publicKey(): Promise<PublicKeyInfo> {
    this.info ??= this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyIdOrArn })).then((out) => {
      if (out.PublicKey === undefined || out.KeyId === undefined)
        throw new Error('KMS returned no public key');
      if (out.KeySpec !== 'ECC_NIST_P256')
        throw new Error(`the signing key is ${out.KeySpec}, not ECC_NIST_P256`);
      const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
      return {
        key_id: out.KeyId,
        algorithm: SIGNATURE_ALGORITHM,
        curve: 'P-256',
        public_key_pem: spkiPem(key),
      };
    });
    this.info.catch(() => {
      this.info = undefined;
    });
    return this.info;
  }
}

export class LocalSigner implements Signer {
  private readonly publicKeyObject: KeyObject;
  private readonly id: string;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKeyObject = createPublicKey(privateKey);
    const der = this.publicKeyObject.export({ format: 'der', type: 'spki' });
    this.id = `local:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
  }

  static fromPem(pem: string): LocalSigner {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the local signing key must be an ECDSA P-256 private key');
    }
    return new LocalSigner(key);
  }

  async keyId(): Promise<string> {
    return this.id;
  }

  async sign(payload: Buffer): Promise<Buffer> {
    return sign('sha256', payload, { key: this.privateKey, dsaEncoding: 'der' });
  }

  async publicKey(): Promise<PublicKeyInfo> {
    return {
      key_id: this.id,
      algorithm: SIGNATURE_ALGORITHM,
      curve: 'P-256',
      public_key_pem: spkiPem(this.publicKeyObject),
    };
  }
}

/** A new P-256 private key as PKCS#8 PEM (the local runtime's, written once under .data/). */
export const newSigningKeyPem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();

/** Writes a new key file (0600) unless one exists; returns its path. */
export const ensureSigningKeyFile = async (path: string): Promise<string> => {
  try {
    await writeFile(path, newSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return path;
};

let signer: Promise<Signer> | undefined;

/** KMS when ENV.signingKeyId is set (AWS), else the PEM file of ENV.signingKeyFile (local). */
export const signerFromEnv = (): Promise<Signer> => {
  signer ??= (async () => {
    const keyId = process.env[ENV.signingKeyId];
    if (keyId) return new KmsSigner(new KMSClient({}), keyId);
    const file = process.env[ENV.signingKeyFile];
    if (!file) throw new Error(`neither ${ENV.signingKeyId} nor ${ENV.signingKeyFile} is set`);
    return LocalSigner.fromPem(await readFile(file, 'utf8'));
  })();
  signer.catch(() => {
    signer = undefined;
  });
  return signer;
};
