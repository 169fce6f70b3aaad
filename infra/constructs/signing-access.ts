/**
 * Least-privilege grants and environment for the digest signing key, derived from the `signing`
 * field of a manifest entry (shared/config/manifest.ts), the way archive-access.ts does it for
 * the archive. Explicit statements rather than `key.grant*`: those cannot carry conditions, and
 * `grantSign` would let a role sign with any algorithm, or over a digest it computed itself.
 *
 * - `sign` (the sealer): kms:Sign pinned to the one request the signer makes (shared/adapters/
 *   signer.ts): SIGNATURE_ALGORITHM (shared/domain/digest.ts) over a RAW message, which KMS hashes itself. A signing
 *   request in any other form is refused, so the key's signatures all have the one shape the
 *   verifier accepts. And kms:GetPublicKey, through which the signer learns the key id digests
 *   name.
 * - `public-key` (the API's public-key route, the integrity scan): kms:GetPublicKey only.
 *
 * Nothing else in the stack holds any action on this key (test/infra/integrity.test.ts checks
 * every policy for it).
 */
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { ENV } from '#shared/config/env.ts';
import type { FunctionDefinition, SigningAccess } from '#shared/config/manifest.ts';
import { SIGNATURE_ALGORITHM } from '#shared/domain/digest.ts';

/** What a function may be given of the signing key (the SigningKey construct provides it). */
export interface SigningResources {
  readonly key: IKey;
}

export interface SigningStatement {
  readonly actions: readonly string[];
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** The conditions of every kms:Sign: the digest algorithm over the raw payload, nothing else. */
export const SIGN_CONDITIONS = {
  StringEquals: { 'kms:SigningAlgorithm': SIGNATURE_ALGORITHM, 'kms:MessageType': 'RAW' },
} as const;

const READ_PUBLIC_KEY: SigningStatement = { actions: ['kms:GetPublicKey'] };

export const SIGNING_GRANTS: Readonly<Record<SigningAccess, readonly SigningStatement[]>> = {
  sign: [{ actions: ['kms:Sign'], conditions: SIGN_CONDITIONS }, READ_PUBLIC_KEY],
  'public-key': [READ_PUBLIC_KEY],
};

export const grantSigningAccess = (
  grantee: IGrantable,
  signing: SigningResources,
  definition: FunctionDefinition,
): void => {
  if (!definition.signing) return;
  for (const statement of SIGNING_GRANTS[definition.signing]) {
    Grant.addToPrincipal({
      grantee,
      actions: [...statement.actions],
      resourceArns: [signing.key.keyArn],
      ...(statement.conditions
        ? { conditions: statement.conditions as Record<string, Record<string, string>> }
        : {}),
    });
  }
};

/**
 * The key ARN (not the alias) for a function with `signing`: digests name the key that signed
 * them, and the signer checks that key's spec before using it.
 */
export const signingEnvironment = (
  signing: SigningResources,
  definition: FunctionDefinition,
): Record<string, string> => (definition.signing ? { [ENV.signingKeyId]: signing.key.keyArn } : {});
