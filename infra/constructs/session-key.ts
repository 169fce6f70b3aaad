/**
 * The viewer-session token key: an asymmetric KMS key of its own (ECDSA P-256, SIGN_VERIFY), never
 * the digest signing key. The sessions function signs session tokens with it; the authorizer
 * verifies them with its public key (grants: session-key-access.ts).
 *
 * Rotation (README, "Rotating the session key"): deploy with `-c sessionKeyGeneration=<n+1>` and
 * `-c previousSessionKeyArn=<the current key's ARN>`. The new generation is a new key (a new
 * construct id); the old one is retained, not deleted, so the authorizer keeps verifying the
 * tokens it signed until they expire (at most 12 hours); then deploy without
 * `previousSessionKeyArn` and schedule the old key's deletion.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IAlias, type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { SessionKeyResources } from './session-key-access.ts';

/** CDK context: the key's generation (default 1); raising it makes a new key. */
export const SESSION_KEY_GENERATION_CONTEXT = 'sessionKeyGeneration';
/** CDK context: the ARN of the previous generation's key, still accepted by the authorizer. */
export const PREVIOUS_SESSION_KEY_CONTEXT = 'previousSessionKeyArn';

const generationOf = (value: unknown): number => {
  if (value === undefined) return 1;
  const generation = Number(value);
  if (!Number.isInteger(generation) || generation < 1)
    throw new Error(
      `${SESSION_KEY_GENERATION_CONTEXT} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  return generation;
};

const previousArnOf = (value: unknown): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/.test(value))
    throw new Error(`${PREVIOUS_SESSION_KEY_CONTEXT} must be a KMS key ARN, got ${JSON.stringify(value)}`);
  return value;
};

export class SessionKey extends Construct implements SessionKeyResources {
  readonly key: Key;
  readonly alias: IAlias;
  readonly previousKey?: IKey;
  readonly generation: number;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.generation = generationOf(this.node.tryGetContext(SESSION_KEY_GENERATION_CONTEXT));
    // RETAIN: a rotated-out key must keep verifying its sessions for up to 12 hours after the
    // deploy that replaced it (KMS refuses GetPublicKey on a key pending deletion).
    this.key = new Key(this, this.generation === 1 ? 'Key' : `Key${this.generation}`, {
      description: `Signs Trailkeeper viewer-session tokens (ES256), generation ${this.generation}`,
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      pendingWindow: Duration.days(7),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.alias = this.key.addAlias(`alias/${Stack.of(this).stackName}/session-signing`);
    const previousArn = previousArnOf(this.node.tryGetContext(PREVIOUS_SESSION_KEY_CONTEXT));
    if (previousArn !== undefined) this.previousKey = Key.fromKeyArn(this, 'PreviousKey', previousArn);
  }
}
