/**
 * Deployment secrets (operator key, cursor key) and their rotation. In AWS they are Secrets
 * Manager secrets whose ARNs arrive in `*_SECRET_ARN`; locally the values themselves arrive in the
 * environment (`TRAILKEEPER_OPERATOR_KEY`, `TRAILKEEPER_CURSOR_KEY`, and during a local rotation
 * the old value in the same name + `_PREVIOUS`).
 *
 * A rotation (`npm run rotate`, cli/rotate.ts) puts a new version: Secrets Manager moves
 * AWSCURRENT to it and AWSPREVIOUS to the version it replaced. Readers get both, current and
 * previous, and accept the previous one for ROTATION_GRACE_MS after the current one was created,
 * so operators and cursors in flight keep working while every container picks the new value up.
 * Values are cached per container for SECRET_CACHE_TTL_MS, so a rotation reaches every container
 * within that time without a redeploy.
 */
import { randomInt } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretName } from '../config/manifest.ts';

/** How long a container keeps a secret before reading it again. */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;
/** How long after a rotation the previous value is still accepted (then only the current one). */
export const ROTATION_GRACE_MS = 24 * 3_600_000;
/** Suffix of the local environment variable holding the previous value during a rotation. */
export const PREVIOUS_SUFFIX = '_PREVIOUS';

/** A secret's value now, and the value it replaced while that is still accepted. */
export interface SecretVersions {
  readonly current: string;
  /** The AWSPREVIOUS value within ROTATION_GRACE_MS of the rotation, else null. */
  readonly previous: string | null;
}

/**
 * Length of each secret's value: alphanumeric, because the operator key travels in an
 * Authorization header and shell commands. CDK generates the first value, `npm run rotate` the
 * next ones, both from this.
 */
export const SECRET_VALUE_LENGTH: Readonly<Record<SecretName, number>> = { operatorKey: 48, cursorKey: 64 };

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh value for `name`: uniformly random alphanumerics (crypto RNG). */
export const generateSecretValue = (name: SecretName): string =>
  Array.from({ length: SECRET_VALUE_LENGTH[name] }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join(
    '',
  );

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ResourceNotFoundException';

/** Reads AWSCURRENT, and AWSPREVIOUS while the rotation that made it is recent enough. */
export const fetchSecretVersions = async (
  client: SecretsManagerClient,
  secretId: string,
  nowMs: number,
): Promise<SecretVersions> => {
  const current = await client.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
  );
  if (!current.SecretString) throw new Error('secret has no string value');
  const rotatedAt = current.CreatedDate?.getTime();
  // Without a creation date the rotation cannot be dated: accept no previous value.
  if (rotatedAt === undefined || nowMs - rotatedAt >= ROTATION_GRACE_MS) {
    return { current: current.SecretString, previous: null };
  }
  try {
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSPREVIOUS' }),
    );
    return { current: current.SecretString, previous: previous.SecretString || null };
  } catch (error) {
    // Never rotated, or the previous version was revoked (`npm run rotate -- … --revoke-previous`).
    if (isNotFound(error)) return { current: current.SecretString, previous: null };
    throw error;
  }
};

export interface SecretSourceOptions {
  /** Created on first use when absent. */
  readonly client?: SecretsManagerClient;
  readonly now?: () => number;
  readonly ttlMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** Secrets by environment variable, each read at most once per TTL. */
export class SecretSource {
  private client: SecretsManagerClient | undefined;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cache = new Map<string, { value: Promise<SecretVersions>; fetchedAt: number }>();

  constructor(options: SecretSourceOptions = {}) {
    this.client = options.client;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? SECRET_CACHE_TTL_MS;
    this.env = options.env ?? process.env;
  }

  /** The secret from `arnVar` (Secrets Manager) or else from `valueVar` (plain environment). */
  load(arnVar: string, valueVar: string): Promise<SecretVersions> {
    const key = `${arnVar}|${valueVar}`;
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && now - cached.fetchedAt < this.ttlMs) return cached.value;
    const fresh = this.read(arnVar, valueVar, now);
    // While Secrets Manager cannot be read, the value read before (if any) stays in use rather
    // than failing every request.
    const entry = { value: cached === undefined ? fresh : fresh.catch(() => cached.value), fetchedAt: now };
    this.cache.set(key, entry);
    fresh.catch(() => {
      // A failed read is not cached: the next call reads again.
      if (this.cache.get(key) !== entry) return;
      if (cached === undefined) this.cache.delete(key);
      else this.cache.set(key, { value: cached.value, fetchedAt: Number.NEGATIVE_INFINITY });
    });
    return entry.value;
  }

  private read(arnVar: string, valueVar: string, now: number): Promise<SecretVersions> {
    const arn = this.env[arnVar];
    if (arn) {
      this.client ??= new SecretsManagerClient({});
      return fetchSecretVersions(this.client, arn, now);
    }
    const value = this.env[valueVar];
    if (!value) return Promise.reject(new Error(`neither ${arnVar} nor ${valueVar} is set`));
    return Promise.resolve({ current: value, previous: this.env[`${valueVar}${PREVIOUS_SUFFIX}`] || null });
  }

  /** Test hook: forget every cached value. */
  clear(): void {
    this.cache.clear();
  }
}

const defaultSource = new SecretSource();

/** The deployment secret from `arnVar` (AWS) or `valueVar` (local), current and previous. */
export const loadSecret = (arnVar: string, valueVar: string): Promise<SecretVersions> =>
  defaultSource.load(arnVar, valueVar);

/** Test hook. */
export const resetSecretCache = (): void => defaultSource.clear();

export interface RotationResult {
  /** The version now labelled AWSCURRENT. */
  readonly versionId: string;
  /** The version now labelled AWSPREVIOUS (null when revoked or there was none). */
  readonly previousVersionId: string | null;
}

/**
 * Rotates a secret to `value`: PutSecretValue without stages, so Secrets Manager labels the new
 * version AWSCURRENT and moves AWSPREVIOUS to the version it replaced. With `revokePrevious`
 * (a leaked key) the AWSPREVIOUS label is then removed, so the old value stops working as soon as
 * the containers' caches expire, without the grace period.
 */
export const rotateSecret = async (
  client: SecretsManagerClient,
  secretId: string,
  value: string,
  options: { revokePrevious: boolean; requestToken: string },
): Promise<RotationResult> => {
  const put = await client.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: value,
      ClientRequestToken: options.requestToken,
    }),
  );
  if (!put.VersionId) throw new Error('Secrets Manager returned no version id');
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  const previousVersionId =
    Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes('AWSPREVIOUS'),
    )?.[0] ?? null;
  if (options.revokePrevious && previousVersionId !== null) {
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSPREVIOUS',
        RemoveFromVersionId: previousVersionId,
      }),
    );
    return { versionId: put.VersionId, previousVersionId: null };
  }
  return { versionId: put.VersionId, previousVersionId };
};
