/**
 * The viewer-session key in the synthesized stack: an ECC_NIST_P256 SIGN_VERIFY key of its own
 * (never the digest signing key), retained across rotations; the sessions function alone may sign
 * with it (ECDSA_SHA_256 over a digest) and read its public key, the authorizer may only read the
 * public key (of the previous generation too during a rotation), and no other policy of the stack
 * holds any KMS action on it — checked by a scanner that is shown to catch such grants.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PREVIOUS_SESSION_KEY_CONTEXT,
  SESSION_KEY_GENERATION_CONTEXT,
} from '#infra/constructs/session-key.ts';
import { SESSION_SIGN_CONDITIONS } from '#infra/constructs/session-key-access.ts';
import { SESSION_CODE_CONDITIONS } from '#infra/constructs/table-access.ts';
import { TrailkeeperStack } from '#infra/stack.ts';
import { ENV } from '#shared/config/env.ts';
import { ROUTES } from '#shared/config/routes.ts';
import {
  asList,
  defaultPolicyId,
  functionCases,
  globMatches,
  type Json,
  logicalId,
  type Resource,
  TEST_CONSOLE,
  TEST_SENDER,
} from './stack-helpers.ts';

type Statement = Record<string, Json>;

const synthesize = (context: Record<string, unknown> = {}) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    emailFrom: TEST_SENDER,
    console: TEST_CONSOLE,
  });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
};

let stack: TrailkeeperStack;
let resources: Record<string, Resource>;

beforeAll(() => {
  ({ stack, resources } = synthesize());
});

const SAMPLE_ARN = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000';
const KMS_ACTIONS = ['kms:Sign', 'kms:GetPublicKey', 'kms:Verify', 'kms:Decrypt', 'kms:CreateGrant'];

/** Every statement of every identity policy of a template, with the policy's logical id. */
const identityStatements = (of: Record<string, Resource>): [string, Statement][] =>
  Object.entries(of)
    .flatMap(([id, r]): [string, Json][] =>
      /^AWS::IAM::(Managed)?Policy$/.test(r.Type) ? [[id, r.Properties?.PolicyDocument]] : [],
    )
    .flatMap(([id, doc]) =>
      (asList((doc as { Statement?: Json } | undefined)?.Statement) as Statement[]).map(
        (statement): [string, Statement] => [id, statement],
      ),
    );

/** A Resource value as an ARN pattern: the key's GetAtt is SAMPLE_ARN, pseudo parameters match anything. */
const render = (value: Json, keyId: string): string => {
  if (typeof value === 'string') return value;
  const [fn, arg] = Object.entries((value ?? {}) as Record<string, Json>)[0] ?? [];
  if (fn === 'Fn::GetAtt' && Array.isArray(arg) && arg[0] === keyId) return SAMPLE_ARN;
  if (fn === 'Ref' && typeof arg === 'string' && arg.startsWith('AWS::')) return '*';
  if (fn === 'Fn::Join' && Array.isArray(arg)) {
    const [separator, parts] = arg as [string, Json[]];
    return asList(parts)
      .map((part) => render(part, keyId))
      .join(separator);
  }
  return `#${JSON.stringify(value)}#`;
};

/** Policies allowing any KMS action (however spelled) on the key, with the actions found. */
const grantsOnKey = (statements: [string, Statement][], keyId: string): [string, string[]][] =>
  statements.flatMap(([id, statement]): [string, string[]][] => {
    if (statement.Effect !== 'Allow') return [];
    const granted = KMS_ACTIONS.filter((action) =>
      statement.NotAction !== undefined
        ? !asList(statement.NotAction).some((pattern) => globMatches(String(pattern), action))
        : asList(statement.Action).some((pattern) => globMatches(String(pattern), action)),
    );
    const targets = statement.NotResource !== undefined ? ['*'] : asList(statement.Resource);
    const onKey = targets.some((resource) => globMatches(render(resource, keyId), SAMPLE_ARN));
    return granted.length > 0 && onKey ? [[id, granted]] : [];
  });

describe('session key', () => {
  it('is an ECC_NIST_P256 SIGN_VERIFY key of its own, retained', () => {
    expect(resources[logicalId(stack.sessionKey.key)]).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
    });
    expect(logicalId(stack.sessionKey.key)).not.toBe(logicalId(stack.signingKey.key));
  });

  it('is given by ARN to the sessions function and the authorizer only', () => {
    const key = { 'Fn::GetAtt': [logicalId(stack.sessionKey.key), 'Arn'] };
    for (const { name, fn } of functionCases(stack)) {
      const variables =
        (
          resources[logicalId(fn)]?.Properties?.Environment as
            | { Variables?: Record<string, Json> }
            | undefined
        )?.Variables ?? {};
      const expected = name === 'sessions' || name === 'authorizer' ? key : undefined;
      expect(variables[ENV.sessionKeyId], name).toEqual(expected);
      expect(variables[ENV.sessionKeyPreviousId], name).toBeUndefined();
    }
  });

  it('serves the code exchange publicly, from the sessions function', () => {
    expect(ROUTES.find((route) => route.key === 'POST /v1/sessions')).toMatchObject({
      fn: 'sessions',
      authorized: false,
    });
  });
});

describe('the code exchange on the control table', () => {
  it('may only read, and delete nothing but session codes', () => {
    const controlId = logicalId(stack.control.table);
    const policy = resources[defaultPolicyId(stack.functions.sessions.role)];
    const statements = asList(
      (policy?.Properties?.PolicyDocument as { Statement?: Json } | undefined)?.Statement,
    ) as Statement[];
    const writes = statements
      .filter((s) => JSON.stringify(s.Resource).includes(`"${controlId}"`))
      .filter((s) =>
        asList(s.Action).some(
          (a) => !/^dynamodb:(GetItem|Query|BatchGetItem|DescribeTable)$/.test(String(a)),
        ),
      );
    expect(writes).toEqual([
      {
        Action: 'dynamodb:DeleteItem',
        Condition: SESSION_CODE_CONDITIONS,
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [controlId, 'Arn'] },
      },
    ]);
    expect(SESSION_CODE_CONDITIONS).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SESSION_CODE#*'] },
    });
  });
});

describe('grants on the session key', () => {
  it('lets the sessions function sign a digest and read the public key, the authorizer only read it', () => {
    const keyId = logicalId(stack.sessionKey.key);
    const key = { 'Fn::GetAtt': [keyId, 'Arn'] };
    const onKey = (role: (typeof stack.functions)['sessions']['role']) =>
      (
        asList(
          (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
            ?.Statement,
        ) as Statement[]
      ).filter((s) => JSON.stringify(s.Resource).includes(`"${keyId}"`));
    expect(onKey(stack.functions.sessions.role)).toEqual([
      { Action: 'kms:Sign', Condition: SESSION_SIGN_CONDITIONS, Effect: 'Allow', Resource: key },
      { Action: 'kms:GetPublicKey', Effect: 'Allow', Resource: key },
    ]);
    expect(SESSION_SIGN_CONDITIONS).toEqual({
      StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
    });
    expect(onKey(stack.functions.authorizer.role)).toEqual([
      { Action: 'kms:GetPublicKey', Effect: 'Allow', Resource: key },
    ]);
  });

  it('lets no other policy of the stack use the key, however spelled', () => {
    const found = grantsOnKey(identityStatements(resources), logicalId(stack.sessionKey.key));
    expect(found.sort()).toEqual(
      [
        [defaultPolicyId(stack.functions.sessions.role), ['kms:Sign']],
        [defaultPolicyId(stack.functions.sessions.role), ['kms:GetPublicKey']],
        [defaultPolicyId(stack.functions.authorizer.role), ['kms:GetPublicKey']],
      ].sort(),
    );
  });

  it('the scanner catches grants on the key however they are spelled (so the real check can fail)', () => {
    const key = { 'Fn::GetAtt': ['SessionKeyABC', 'Arn'] };
    const allow = (Action: Json, Resource: Json): Statement => ({ Effect: 'Allow', Action, Resource });
    const found = grantsOnKey(
      [
        ['Sign', allow('kms:Sign', key)],
        ['Wildcard', allow('kms:*', key)],
        ['Star', allow('*', '*')],
        ['AnyKey', allow('kms:Get*', 'arn:aws:kms:*:*:key/*')],
        ['NotAction', { Effect: 'Allow', NotAction: 'kms:Decrypt', Resource: key }],
        ['OtherKey', allow('kms:Sign', { 'Fn::GetAtt': ['OtherKey', 'Arn'] })],
        ['Deny', { Effect: 'Deny', Action: 'kms:*', Resource: key }],
      ],
      'SessionKeyABC',
    );
    expect(found.map(([id]) => id)).toEqual(['Sign', 'Wildcard', 'Star', 'AnyKey', 'NotAction']);
  });

  it('during a rotation, makes a new key and lets the authorizer read the previous one too', () => {
    const previous = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    const rotated = synthesize({
      [SESSION_KEY_GENERATION_CONTEXT]: 2,
      [PREVIOUS_SESSION_KEY_CONTEXT]: previous,
    });
    const keyId = logicalId(rotated.stack.sessionKey.key);
    expect(keyId).not.toBe(logicalId(stack.sessionKey.key));
    const authorizer = rotated.resources[logicalId(rotated.stack.functions.authorizer.fn)];
    expect(
      (authorizer?.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables?.[
        ENV.sessionKeyPreviousId
      ],
    ).toBe(previous);
    const policy = rotated.resources[defaultPolicyId(rotated.stack.functions.authorizer.role)];
    const document = policy?.Properties?.PolicyDocument as { Statement?: Json } | undefined;
    const statements = asList(document?.Statement) as Statement[];
    expect(statements).toContainEqual({
      Action: 'kms:GetPublicKey',
      Effect: 'Allow',
      Resource: [{ 'Fn::GetAtt': [keyId, 'Arn'] }, previous],
    });
    // The sessions function never signs with the previous key.
    expect(
      JSON.stringify(
        rotated.resources[defaultPolicyId(rotated.stack.functions.sessions.role)]?.Properties?.PolicyDocument,
      ),
    ).not.toContain(previous);
    expect(() => synthesize({ [PREVIOUS_SESSION_KEY_CONTEXT]: 'alias/old' })).toThrow(/KMS key ARN/);
  });
});
