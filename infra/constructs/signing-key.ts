/**
 * The digest signing key (INTEGRITY in shared/config/integrity.ts): an asymmetric KMS key, ECDSA
 * on NIST P-256 for SIGN_VERIFY, whose private half never leaves KMS. The sealer signs every
 * digest with it; auditors verify with its public key (GET /v1/integrity/public-key), without
 * having to trust us. Who may sign and who may only read the public key is decided in
 * signing-access.ts.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IAlias, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { SigningResources } from './signing-access.ts';

/**
 * The longest waiting period KMS allows between scheduling a key's deletion and carrying it out:
 * a month to notice and cancel (`aws kms cancel-key-deletion`) before it is irreversible.
 */
export const SIGNING_KEY_PENDING_WINDOW = Duration.days(30);

export class SigningKey extends Construct implements SigningResources {
  readonly key: Key;
  readonly alias: IAlias;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // RETAIN, never DESTROY: a destroyed key cannot be recovered, and without it no digest ever
    // signed can be verified again (a verifier that kept the public key still could, but nobody
    // could prove that key was ours), nor can the chain be continued under the same key.
    // No automatic rotation: KMS does not rotate asymmetric keys, and rotating would need every
    // digest to name the key it was signed with (digests carry `signing_key_id` for that).
    this.key = new Key(this, 'Key', {
      description:
        'Signs the Trailkeeper integrity digests (ECDSA P-256); retained: digests need it to verify',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      pendingWindow: SIGNING_KEY_PENDING_WINDOW,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // A readable name in the console and CLI; functions are given the key ARN, not the alias, so
    // re-pointing the alias cannot silently switch the key digests are signed with.
    this.alias = this.key.addAlias(`alias/${Stack.of(this).stackName}/digest-signing`);
  }
}
