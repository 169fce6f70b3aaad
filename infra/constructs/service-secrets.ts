/**
 * The deployment's generated secrets: the operator key (root credential of the admin API) and
 * the cursor key (HMAC key that makes pagination cursors tamper-proof). Owns their shape and the
 * environment variable through which a function learns each ARN (shared/config/routes.ts ENV).
 */
import { Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV, type SecretName } from '#shared/config/routes.ts';

interface SecretShape {
  readonly id: string;
  readonly description: string;
  readonly length: number;
  readonly envVar: string;
}

const SHAPES: Readonly<Record<SecretName, SecretShape>> = {
  operatorKey: {
    id: 'OperatorKey',
    description: 'Trailkeeper operator key: root credential of the admin API (Bearer token).',
    length: 48,
    envVar: ENV.operatorKeySecretArn,
  },
  cursorKey: {
    id: 'CursorKey',
    description: 'Trailkeeper cursor key: HMAC key that signs pagination cursors.',
    length: 64,
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
          passwordLength: shape.length,
          excludePunctuation: true,
          includeSpace: false,
          requireEachIncludedType: true,
        },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          `${shape.id} is rotated by the operator with the admin CLI (rotating it invalidates ` +
          'outstanding credentials/cursors, which needs a human decision); a rotation Lambda is out of scope.',
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
