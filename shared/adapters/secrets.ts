/**
 * Deployment secrets (operator key, cursor key). In AWS they are Secrets Manager secrets whose
 * ARNs arrive in `*_SECRET_ARN`; locally the values themselves arrive in the environment.
 * Fetched once per container and cached.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<string>>();

const fetchSecret = async (arn: string): Promise<string> => {
  client ??= new SecretsManagerClient({});
  const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!out.SecretString) throw new Error('secret has no string value');
  return out.SecretString;
};

/** The secret from `arnVar` (Secrets Manager) or else from `valueVar` (plain environment). */
export const loadSecret = (arnVar: string, valueVar: string): Promise<string> => {
  const key = `${arnVar}|${valueVar}`;
  let pending = cache.get(key);
  if (pending === undefined) {
    const arn = process.env[arnVar];
    const value = process.env[valueVar];
    pending = arn
      ? fetchSecret(arn)
      : value
        ? Promise.resolve(value)
        : Promise.reject(new Error(`neither ${arnVar} nor ${valueVar} is set`));
    // A failed fetch is not cached: the next request retries.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
};

/** Test hook. */
export const resetSecretCache = (): void => cache.clear();
