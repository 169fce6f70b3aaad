/**
 * The deployment's generated secrets: the operator key (root credential of the admin API) and
 * the cursor key (the key that makes pagination cursors tamper-proof). Owns their shape and the
 * environment variable through which a function learns each ARN (ENV in shared/config/env.ts).
 * They are rotated by the operator (`npm run rotate`, cli/rotate.ts); functions read AWSCURRENT
 * and AWSPREVIOUS, which `grantRead` on the secret allows (GetSecretValue with any VersionStage).
 */
import { Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SECRET_VALUE_LENGTH } from '#shared/adapters/secrets.ts';
import { ENV } from '#shared/config/env.ts';
import type { SecretName } from '#shared/config/manifest.ts';

interface SecretShape {
  readonly id: string;
  readonly description: string;
  readonly envVar: string;
}

const SHAPES: Readonly<Record<SecretName, SecretShape>> = {
  operatorKey: {
    id: 'OperatorKey',
    description: 'Trailkeeper operator key: root credential of the admin API (Bearer token).',
    envVar: ENV.operatorKeySecretArn,
  },
  cursorKey: {
    id: 'CursorKey',
    description: 'Trailkeeper cursor key: encrypts and authenticates pagination cursors.',
    envVar: ENV.cursorKeySecretArn,
  },
};

export class ServiceSecrets extends Construct {
  readonly secrets: Readonly<Record<SecretName, ISecret>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const make = (name: SecretName): ISecret => {
      const shape = SHAPES[name];
      const secret = new Secret(this, shape.id, {
        description: shape.description,
        // Alphanumeric only: the operator key travels in an Authorization header and shell commands.
        generateSecretString: {
          passwordLength: SECRET_VALUE_LENGTH[name],
          excludePunctuation: true,
          includeSpace: false,
          requireEachIncludedType: true,
        },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          `${shape.id} is rotated by the operator, not on a schedule: \`npm run rotate\` (cli/rotate.ts) ` +
          'puts a new AWSCURRENT version and the functions accept AWSPREVIOUS for a grace period. ' +
          'Rotating the operator key hands a new root credential to whoever holds it, a human step ' +
          'a rotation Lambda cannot take; the README runbook says when and how.',
      });
      return secret;
    };
    this.secrets = { operatorKey: make('operatorKey'), cursorKey: make('cursorKey') };
  }

  /** Environment variable names and ARNs for the given secrets, to hand to a function. */
  environmentFor(names: readonly SecretName[]): Record<string, string> {
    return Object.fromEntries(names.map((name) => [SHAPES[name].envVar, this.secrets[name].secretArn]));
  }
}
