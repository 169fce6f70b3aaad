/**
 * Least-privilege grants and environment for the viewer-session key, derived from the `sessionKey`
 * field of a manifest entry (shared/config/manifest.ts), as signing-access.ts does for the digest
 * key:
 *
 * - `sign` (the sessions function alone): kms:Sign pinned to the one request its signer makes
 *   (shared/adapters/session-keys.ts: ECDSA_SHA_256 over a SHA-256 DIGEST), and kms:GetPublicKey
 *   (the signer learns the key ARN, the tokens' `kid`, from it).
 * - `verify` (the authorizer): kms:GetPublicKey only, on the current key and, during a rotation,
 *   the previous one.
 *
 * Nothing else in the stack holds any action on these keys (test/infra/sessions.test.ts).
 */
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { ENV } from '#shared/config/env.ts';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { SESSION_SIGNING } from '#shared/domain/session-token.ts';

/** What a function may be given of the session key (the SessionKey construct provides it). */
export interface SessionKeyResources {
  readonly key: IKey;
  /** The previous generation's key during a rotation: verified, never signed with. */
  readonly previousKey?: IKey;
}

/** The conditions of every kms:Sign on the session key. */
export const SESSION_SIGN_CONDITIONS = {
  StringEquals: {
    'kms:SigningAlgorithm': SESSION_SIGNING.algorithm,
    'kms:MessageType': SESSION_SIGNING.messageType,
  },
} as const;

export const grantSessionKeyAccess = (
  grantee: IGrantable,
  resources: SessionKeyResources,
  definition: FunctionDefinition,
): void => {
  if (!definition.sessionKey) return;
  if (definition.sessionKey === 'sign') {
    Grant.addToPrincipal({
      grantee,
      actions: ['kms:Sign'],
      resourceArns: [resources.key.keyArn],
      conditions: SESSION_SIGN_CONDITIONS as unknown as Record<string, Record<string, string>>,
    });
    Grant.addToPrincipal({ grantee, actions: ['kms:GetPublicKey'], resourceArns: [resources.key.keyArn] });
    return;
  }
  Grant.addToPrincipal({
    grantee,
    actions: ['kms:GetPublicKey'],
    resourceArns: [resources.key.keyArn, ...(resources.previousKey ? [resources.previousKey.keyArn] : [])],
  });
};

/** The key ARN for a function with `sessionKey`; the authorizer also gets the previous key's. */
export const sessionKeyEnvironment = (
  resources: SessionKeyResources,
  definition: FunctionDefinition,
): Record<string, string> => {
  if (!definition.sessionKey) return {};
  return {
    [ENV.sessionKeyId]: resources.key.keyArn,
    ...(definition.sessionKey === 'verify' && resources.previousKey
      ? { [ENV.sessionKeyPreviousId]: resources.previousKey.keyArn }
      : {}),
  };
};
