/**
 * `npm run rotate -- <operator-key|cursor-key> --secret-id <arn>`: the operator's rotation of a
 * deployment secret (shared/adapters/secrets.ts has the mechanics). A new random value becomes
 * AWSCURRENT, the old one AWSPREVIOUS; the functions accept both for ROTATION_GRACE_MS, then only
 * the new one. `--revoke-previous` drops the old value at once (a leaked key). `--local` explains
 * the same for the local stack, where the values are environment variables.
 *
 * `main(argv, io)` does the work and returns the exit code; the Secrets Manager client and the
 * streams come in through `io`, so tests run it without spawning a process. The new operator key
 * is never printed: it is read from Secrets Manager by whoever needs it.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  generateSecretValue,
  PREVIOUS_SUFFIX,
  ROTATION_GRACE_MS,
  rotateSecret,
  SECRET_CACHE_TTL_MS,
} from '#shared/adapters/secrets.ts';
import { ENV } from '#shared/config/env.ts';
import type { SecretName } from '#shared/config/manifest.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const SECRETS: Readonly<Record<string, { name: SecretName; output: string; localVar: string }>> = {
  'operator-key': { name: 'operatorKey', output: 'OperatorKeySecretArn', localVar: ENV.operatorKey },
  'cursor-key': { name: 'cursorKey', output: 'CursorKeySecretArn', localVar: ENV.cursorKey },
};

const hours = (ms: number): number => ms / 3_600_000;
const minutes = (ms: number): number => ms / 60_000;

export const USAGE = `Usage: npm run rotate -- <operator-key|cursor-key> --secret-id <arn> [--revoke-previous]
       npm run rotate -- <operator-key|cursor-key> --local

Puts a new random value into the secret. Secrets Manager labels it AWSCURRENT and moves
AWSPREVIOUS to the value it replaced. The functions read the secret every ${minutes(SECRET_CACHE_TTL_MS)} minutes and
accept both values for ${hours(ROTATION_GRACE_MS)} hours after the rotation, then only the new one:
  operator-key  switch every script and person using the operator key within that time;
  cursor-key    page cursors handed out before the rotation keep working for that time.

Options:
  --secret-id <arn>    the secret: stack output OperatorKeySecretArn or CursorKeySecretArn
  --revoke-previous    remove the AWSPREVIOUS label at once: the old value stops working within
                       ${minutes(SECRET_CACHE_TTL_MS)} minutes (a leaked key). Outstanding cursors fail with 400.
  --local              explain how to rotate the local stack's value (environment variables)
  -h, --help           print this text

Needs secretsmanager:PutSecretValue, DescribeSecret and (with --revoke-previous)
UpdateSecretVersionStage on the secret.
`;

export interface RotateIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Builds the client for the secret's region (from its ARN). */
  readonly client: (region: string | undefined) => SecretsManagerClient;
  readonly now: () => number;
}

const regionOf = (arn: string): string | undefined => /^arn:[^:]+:secretsmanager:([^:]+):/.exec(arn)?.[1];

const localHelp = (which: string, localVar: string, value: string): string =>
  `Locally the ${which.replace('-', ' ')} is the environment variable ${localVar} (else the value kept in
.data/secrets.json). To rotate it, restart with the new value, and the old one in
${localVar}${PREVIOUS_SUFFIX} for as long as the old one must keep working:

  ${localVar}='${value}' \\
  ${localVar}${PREVIOUS_SUFFIX}='<the old value>' npm start

To keep the new value across restarts without the variable, put it into .data/secrets.json.
`;

export const main = async (argv: readonly string[], io: RotateIo): Promise<number> => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const which = positionals[0] ?? '';
  const secret = SECRETS[which];
  if (secret === undefined || positionals.length !== 1) {
    io.stderr(`expected operator-key or cursor-key\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.local) {
    io.stdout(localHelp(which, secret.localVar, generateSecretValue(secret.name)));
    return EXIT.ok;
  }
  const secretId = values['secret-id'];
  if (!secretId) {
    io.stderr(`--secret-id is required (stack output ${secret.output}), or --local\n\n${USAGE}`);
    return EXIT.usage;
  }
  const client = io.client(regionOf(secretId));
  try {
    const result = await rotateSecret(client, secretId, generateSecretValue(secret.name), {
      revokePrevious: values['revoke-previous'] === true,
      requestToken: randomUUID(),
    });
    const until = new Date(io.now() + ROTATION_GRACE_MS).toISOString();
    io.stdout(
      [
        `Rotated the ${which.replace('-', ' ')}: version ${result.versionId} is AWSCURRENT.`,
        result.previousVersionId === null
          ? 'No previous value is accepted.'
          : `The previous value (version ${result.previousVersionId}, AWSPREVIOUS) is accepted until ${until}.`,
        `Every function uses the new value within ${minutes(SECRET_CACHE_TTL_MS)} minutes.`,
        ...(which === 'operator-key'
          ? [
              'Read the new operator key (and use it once those minutes have passed):',
              `  aws secretsmanager get-secret-value --secret-id '${secretId}' --query SecretString --output text`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  } catch (error) {
    io.stderr(
      `rotation failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
    );
    return EXIT.failure;
  }
};

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'secret-id': { type: 'string' },
      'revoke-previous': { type: 'boolean' },
      local: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });

const invokedDirectly = process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1]);
if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    client: (region) => new SecretsManagerClient(region === undefined ? {} : { region }),
    now: () => Date.now(),
  });
}
