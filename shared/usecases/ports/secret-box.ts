/**
 * Port of destination secrets at rest: webhook signing secrets (`whsec_…`), Splunk HEC and Datadog
 * tokens, alert webhook secrets and Slack webhook URLs (the URL is the credential). They are
 * stored only sealed and never returned after creation; the delivery worker opens them to sign or
 * authenticate a delivery. Implemented by KmsSecretBox (AWS) and LocalSecretBox (the local stack)
 * in shared/adapters/secret-box.ts.
 *
 * The context is bound to the ciphertext (KMS EncryptionContext; AAD locally): a sealed secret
 * opens only with the very context it was sealed with, so one tenant's or destination's secret
 * cannot be opened as another's. The context is not secret (KMS writes it to CloudTrail): ids
 * and a purpose, never the secret itself.
 */

/** What a sealed destination secret is for; part of its context. */
export const SECRET_PURPOSES = [
  'webhook_signing_secret',
  'splunk_hec_token',
  'datadog_api_key',
  'alert_webhook_secret',
  'slack_webhook_url',
] as const;
export type SecretPurpose = (typeof SECRET_PURPOSES)[number];

/** Keys every context must carry (the adapters refuse a context without them). */
export const SECRET_CONTEXT_KEYS = ['tenant_id', 'destination_id', 'purpose'] as const;

/** The context of a destination secret: its tenant, its stream or alert, and its purpose. */
export type DestinationSecretContext = {
  readonly tenant_id: string;
  readonly destination_id: string;
  readonly purpose: SecretPurpose;
};

/** Most bytes (UTF-8) of one secret: KMS Encrypt's limit, enforced locally too. */
export const MAX_SECRET_BYTES = 4096;

/**
 * A sealed secret that cannot be opened: tampered, malformed, of another box, or sealed with
 * another context. Not retryable (unlike the key service being unavailable, which throws as is).
 */
export class SecretRefusedError extends Error {
  constructor(reason: string) {
    super(`The sealed secret was refused: ${reason}.`);
    this.name = 'SecretRefusedError';
  }
}

export interface SecretBox {
  /** The secret sealed under `context`: an opaque, versioned string (`kms1:…`, `local1:…`). */
  seal(plaintext: string, context: Readonly<Record<string, string>>): Promise<string>;
  /** The secret, when `sealed` was sealed by this box with exactly `context`; else SecretRefusedError. */
  open(sealed: string, context: Readonly<Record<string, string>>): Promise<string>;
}
