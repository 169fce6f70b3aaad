/**
 * Assertions on the tamper-evidence part of the synthesized TrailkeeperStack: the digest signing
 * key (asymmetric, retained) and exactly who may use it and how, the digests' place in the Object
 * Lock archive (locked, never tiered), the integrity routes (the public key unauthenticated, the
 * rest behind the authorizer), the sealer's and integrity scan's schedules and environment, the
 * seal and tenant indexes, and the integrity alarms. Handlers are not bundled (only the template
 * is under test); stack.test.ts synthesizes with bundling and runs cdk-nag over the whole stack.
 */
import { generateKeyPairSync } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { App, Duration, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { mockClient } from 'aws-sdk-client-mock';
import type { IConstruct } from 'constructs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertPublicRoutesExplained, UNAUTHENTICATED_ROUTES } from '#infra/constructs/api.ts';
import { CREATE_ONLY_CONDITION, NOT_CREATE_ONLY_CONDITION } from '#infra/constructs/archive-access.ts';
import { INTEGRITY_SCAN_METRICS } from '#infra/constructs/metrics.ts';
import { STALLED_MIN_WINDOW, stalledWindow } from '#infra/constructs/monitoring.ts';
import { SIGN_CONDITIONS } from '#infra/constructs/signing-access.ts';
import { SIGNING_KEY_PENDING_WINDOW } from '#infra/constructs/signing-key.ts';
import { TrailkeeperStack } from '#infra/stack.ts';
import { S3DynamoDigestStore } from '#shared/adapters/digest-store.ts';
import { KmsSigner } from '#shared/adapters/signer.ts';
import { ENV } from '#shared/config/env.ts';
import { INTEGRITY } from '#shared/config/integrity.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { ROUTES } from '#shared/config/routes.ts';
import { ARCHIVE } from '#shared/config/storage.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';
import { SIGNATURE_ALGORITHM, type SignedDigest } from '#shared/domain/digest.ts';
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

const SEALER = MANIFEST.sealer;
const INTEGRITY_SCAN = MANIFEST.integrityScan;

type Statement = Record<string, Json>;

/** A stack whose handlers are not bundled: the template is the same, minus real code assets. */
const synthesize = () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    emailFrom: TEST_SENDER,
    console: TEST_CONSOLE,
  });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
};

let stack: TrailkeeperStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  ({ stack, template, resources } = synthesize());
});

const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const propertiesOf = (construct: IConstruct): Record<string, Json> =>
  resources[logicalId(construct)]?.Properties ?? {};
const variablesOf = (fn: IConstruct): Record<string, Json> =>
  (propertiesOf(fn).Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
const statementsOfRole = (role: IConstruct): Statement[] =>
  asList(
    (resources[defaultPolicyId(role)]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)
      ?.Statement,
  ) as Statement[];
const topic = () => [{ Ref: logicalId(stack.monitoring.topic) }];

const SAMPLE_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A digest as the sealer stores it (content is irrelevant to the requests under test). */
const SAMPLE_DIGEST: SignedDigest = {
  version: 1,
  tenant_id: 't_1',
  sequence: 1,
  interval: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:05:00.000Z' },
  event_count: 0,
  first_event: null,
  last_event: null,
  merkle_root: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  previous_digest_hash: null,
  sealed_at: '2026-01-01T00:07:00.000Z',
  signing_key_id: SAMPLE_KEY_ARN,
  signature_algorithm: SIGNATURE_ALGORITHM,
  signature: 'MAA=',
};

// --- signing IAM analysis -------------------------------------------------------------------------

/** What a principal could do with an asymmetric signing key. */
const SIGNING_ACTIONS = ['kms:Sign', 'kms:GetPublicKey'];

/** Every statement of every identity policy (policies, managed policies, inline role policies). */
const identityStatements = (of: Record<string, Resource>): [string, Statement][] =>
  Object.entries(of)
    .flatMap(([id, r]): [string, Json][] => {
      if (r.Type === 'AWS::IAM::Role') {
        return asList(r.Properties?.Policies).map((p) => [
          id,
          (p as { PolicyDocument?: Json }).PolicyDocument,
        ]);
      }
      return /^AWS::IAM::(Managed)?Policy$/.test(r.Type) ? [[id, r.Properties?.PolicyDocument]] : [];
    })
    .flatMap(([id, doc]) =>
      (asList((doc as { Statement?: Json } | undefined)?.Statement) as Statement[]).map(
        (statement): [string, Statement] => [id, statement],
      ),
    );

/**
 * An IAM Resource value as an ARN pattern: the signing key's GetAtt becomes a sample key ARN,
 * pseudo parameters (partition, region, account) match anything, any other reference nothing.
 */
const renderResource = (value: Json, keyId: string): string => {
  if (typeof value === 'string') return value;
  const [fn, arg] = Object.entries((value ?? {}) as Record<string, Json>)[0] ?? [];
  if (fn === 'Fn::GetAtt' && Array.isArray(arg) && arg[0] === keyId) return SAMPLE_KEY_ARN;
  if (fn === 'Ref' && typeof arg === 'string' && arg.startsWith('AWS::')) return '*';
  if (fn === 'Fn::Join' && Array.isArray(arg)) {
    const [separator, parts] = arg as [string, Json[]];
    return asList(parts)
      .map((part) => renderResource(part, keyId))
      .join(separator);
  }
  return `#${JSON.stringify(value)}#`;
};

/**
 * Policies that allow a signing action (however spelled: wildcards, NotAction) on the signing
 * key (by its logical id or by a resource pattern that covers it), with the actions found.
 */
const signingGrants = (statements: [string, Statement][], keyId: string): [string, string[]][] =>
  statements.flatMap(([id, statement]): [string, string[]][] => {
    if (statement.Effect !== 'Allow') return [];
    const granted =
      statement.NotAction !== undefined
        ? SIGNING_ACTIONS.filter(
            (action) => !asList(statement.NotAction).some((pattern) => globMatches(String(pattern), action)),
          )
        : SIGNING_ACTIONS.filter((action) =>
            asList(statement.Action).some((pattern) => globMatches(String(pattern), action)),
          );
    const targets = statement.NotResource !== undefined ? ['*'] : asList(statement.Resource);
    const onKey = targets.some((resource) => globMatches(renderResource(resource, keyId), SAMPLE_KEY_ARN));
    return granted.length > 0 && onKey ? [[id, granted]] : [];
  });

// --- tests ----------------------------------------------------------------------------------------

describe('signing key', () => {
  it('is an ECC_NIST_P256 SIGN_VERIFY key, retained with the stack, with the longest deletion window', () => {
    expect(resources[logicalId(stack.signingKey.key)]).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PendingWindowInDays: 30 },
    });
    expect(SIGNING_KEY_PENDING_WINDOW.toDays()).toBe(30);
    // KMS does not rotate asymmetric keys; asking would fail the deployment.
    expect(propertiesOf(stack.signingKey.key).EnableKeyRotation).toBeUndefined();
  });

  it('leaves its key policy to the account, so IAM alone decides who signs', () => {
    expect(propertiesOf(stack.signingKey.key).KeyPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: {
            AWS: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
              ],
            },
          },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
  });

  it('has an alias under the stack name and outputs its ARN', () => {
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/Trailkeeper/digest-signing',
      TargetKeyId: getAtt(stack.signingKey.key),
    });
    template.hasOutput('SigningKeyArn', { Value: getAtt(stack.signingKey.key) });
  });
});

describe('grants on the signing key', () => {
  it('gives the sealer Sign and GetPublicKey, the integrity API and scan GetPublicKey only, on that key alone', () => {
    const key = getAtt(stack.signingKey.key);
    const expected: Record<string, Statement[]> = {
      none: [],
      sign: [
        { Action: 'kms:Sign', Condition: SIGN_CONDITIONS, Effect: 'Allow', Resource: key },
        { Action: 'kms:GetPublicKey', Effect: 'Allow', Resource: key },
      ],
      'public-key': [{ Action: 'kms:GetPublicKey', Effect: 'Allow', Resource: key }],
    };
    const cases = functionCases(stack);
    expect(cases.filter((c) => c.definition.signing === 'sign').map((c) => c.name)).toEqual(['sealer']);
    expect(
      cases
        .filter((c) => c.definition.signing === 'public-key')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['integrity', 'integrityScan']);
    const keyId = `"${logicalId(stack.signingKey.key)}"`;
    for (const { name, definition, role } of cases) {
      const onKey = statementsOfRole(role).filter((s) => JSON.stringify(s.Resource).includes(keyId));
      expect(onKey, name).toEqual(expected[definition.signing ?? 'none']);
    }
  });

  it('signs only ECDSA_SHA_256 over a raw message', () => {
    expect(SIGN_CONDITIONS).toEqual({
      StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' },
    });
    expect(SIGNATURE_ALGORITHM).toBe('ECDSA_SHA_256');
  });

  it('lets no other policy of the stack sign or read the public key, on any key', () => {
    const keyId = logicalId(stack.signingKey.key);
    const allowed = new Set(
      functionCases(stack)
        .filter((c) => c.definition.signing !== undefined)
        .map((c) => defaultPolicyId(c.role)),
    );
    const found = signingGrants(identityStatements(resources), keyId);
    expect(found.length).toBe(allowed.size + 1); // the sealer's Sign and GetPublicKey are two statements
    expect(found.filter(([id]) => !allowed.has(id))).toEqual([]);
    // Sign is the sealer's alone.
    expect(found.filter(([, actions]) => actions.includes('kms:Sign')).map(([id]) => id)).toEqual([
      defaultPolicyId(stack.jobs.sealer.role),
    ]);
  });

  it('the signing checker catches such grants however they are spelled (so the real check can fail)', () => {
    const keyId = 'SigningKeyABC';
    const key = { 'Fn::GetAtt': [keyId, 'Arn'] };
    const allow = (Action: Json, Resource: Json): Statement => ({ Effect: 'Allow', Action, Resource });
    const found = signingGrants(
      [
        ['Sign', allow('kms:Sign', key)],
        ['Wildcard', allow('kms:*', key)],
        ['Star', allow('*', '*')],
        ['AnyKey', allow('kms:Get*', 'arn:aws:kms:*:*:key/*')],
        [
          'AccountKeys',
          allow('kms:Sign', {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':kms:*:', { Ref: 'AWS::AccountId' }, ':key/*'],
            ],
          }),
        ],
        ['NotAction', { Effect: 'Allow', NotAction: 'kms:Decrypt', Resource: key }],
        ['Fine', allow('kms:Decrypt', key)],
        ['OtherKey', allow('kms:Sign', { 'Fn::GetAtt': ['ArchiveKey', 'Arn'] })],
        ['Denied', { Effect: 'Deny', Action: 'kms:*', Resource: key }],
      ],
      keyId,
    );
    expect(found.map(([id]) => id)).toEqual([
      'Sign',
      'Wildcard',
      'Star',
      'AnyKey',
      'AccountKeys',
      'NotAction',
    ]);
  });

  describe("the signer's KMS request", () => {
    const kms = mockClient(KMSClient);
    afterEach(() => kms.reset());

    it('is one the Sign conditions admit, on the key ARN the environment names', async () => {
      const keyArn = SAMPLE_KEY_ARN;
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      kms.on(GetPublicKeyCommand).resolves({
        KeyId: keyArn,
        KeySpec: 'ECC_NIST_P256',
        PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
      });
      kms.on(SignCommand).resolves({ Signature: new Uint8Array([0x30, 0x00]) });

      await new KmsSigner(new KMSClient({ region: 'us-east-1' }), keyArn).sign(Buffer.from('{"digest":1}'));

      const [sign] = kms.commandCalls(SignCommand);
      expect(sign?.args[0].input).toMatchObject({
        KeyId: keyArn,
        SigningAlgorithm: SIGN_CONDITIONS.StringEquals['kms:SigningAlgorithm'],
        MessageType: SIGN_CONDITIONS.StringEquals['kms:MessageType'],
      });
    });
  });
});

describe('digests in the archive', () => {
  const digestKey = `${INTEGRITY.digestsPrefix}tenant=t_1/000001.json`;
  const lifecycleRules = (): Record<string, Json>[] =>
    (propertiesOf(stack.archive.bucket).LifecycleConfiguration as { Rules: Record<string, Json>[] }).Rules;
  /** A rule applies to a key when it has no filter, or its prefix starts the key. */
  const appliesTo = (rule: Record<string, Json>, key: string): boolean => {
    const filter = rule.Filter as { Prefix?: string } | undefined;
    const prefix = (rule.Prefix as string | undefined) ?? filter?.Prefix;
    return prefix === undefined || key.startsWith(prefix);
  };

  it('are never moved to Glacier: every transition rule is filtered on a prefix digests are not under', () => {
    const transitions = lifecycleRules().filter((rule) => rule.Transitions !== undefined);
    expect(transitions.map((rule) => rule.Id)).toEqual(['TierEventObjects']);
    for (const rule of transitions) {
      expect(rule.Prefix, String(rule.Id)).toBe('tenant=');
      expect(appliesTo(rule, digestKey), String(rule.Id)).toBe(false);
    }
    // The checker does see a rule that would reach them.
    expect(appliesTo({ Id: 'Everything', Transitions: [] }, digestKey)).toBe(true);
    expect(appliesTo({ Id: 'Digests', Prefix: 'digests/' }, digestKey)).toBe(true);
  });

  it('are locked like every object: the default retention is bucket-wide, with no prefix exclusion', () => {
    expect(propertiesOf(stack.archive.bucket).ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: ARCHIVE.lockMode, Days: ARCHIVE.retentionDays } },
    });
    // And nothing expires them before their lock ends.
    for (const rule of lifecycleRules().filter((r) => appliesTo(r, digestKey))) {
      if (rule.ExpirationInDays !== undefined) {
        expect(rule.ExpirationInDays, String(rule.Id)).toBeGreaterThanOrEqual(ARCHIVE.retentionDays);
      }
    }
  });

  it('gives the sealer get and create-only put under the digests prefix, no listing, nothing on the staging bucket', () => {
    const archiveId = `"${logicalId(stack.archive.bucket)}"`;
    const stagingId = `"${logicalId(stack.archive.stagingBucket)}"`;
    const digests = { 'Fn::Join': ['', [getAtt(stack.archive.bucket), `/${INTEGRITY.digestsPrefix}*`]] };
    const statements = statementsOfRole(stack.jobs.sealer.role);
    const onArchive = statements.filter((s) => JSON.stringify(s.Resource).includes(archiveId));
    expect(onArchive).toEqual([
      { Action: 's3:GetObject', Effect: 'Allow', Resource: digests },
      // A put without If-None-Match: * (one that could replace a published digest) is refused.
      {
        Action: 's3:PutObject',
        Condition: { StringEquals: { 's3:if-none-match': '*' } },
        Effect: 'Allow',
        Resource: digests,
      },
    ]);
    expect(CREATE_ONLY_CONDITION).toEqual({ StringEquals: { 's3:if-none-match': '*' } });
    expect(statements.filter((s) => JSON.stringify(s.Resource).includes(stagingId))).toEqual([]);
  });

  it('are create-only for everyone: the bucket policy denies a put under the digests prefix without If-None-Match', () => {
    const digests = { 'Fn::Join': ['', [getAtt(stack.archive.bucket), `/${INTEGRITY.digestsPrefix}*`]] };
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(stack.archive.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DigestsAreCreateOnly',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: digests,
            Condition: { Null: { 's3:if-none-match': 'true' } },
          },
        ]),
      },
    });
    expect(NOT_CREATE_ONLY_CONDITION).toEqual({ Null: { 's3:if-none-match': 'true' } });
  });

  /** Allow statements that let a principal put a digest other than create-only. */
  const digestOverwrites = (statements: [string, Statement][], archiveId: string): string[] => {
    const key = `${INTEGRITY.digestsPrefix}tenant=t_1/000001.json`;
    const coversDigest = (resource: Json): boolean => {
      if (typeof resource === 'string') return globMatches(resource, `arn:aws:s3:::archive-sample/${key}`);
      const join = (resource as { 'Fn::Join'?: [string, Json[]] })['Fn::Join'];
      const [target, suffix] = join?.[1] ?? [];
      return (
        // A bare bucket ARN (no Join) names no object: it cannot cover a digest.
        (JSON.stringify(target) ?? '').includes(`"${archiveId}"`) &&
        typeof suffix === 'string' &&
        globMatches(suffix, `/${key}`)
      );
    };
    return statements
      .filter(([, st]) => st.Effect === 'Allow')
      .filter(([, st]) =>
        st.NotAction !== undefined
          ? true
          : asList(st.Action).some((a) => globMatches(String(a), 's3:PutObject')),
      )
      .filter(([, st]) => (st.NotResource !== undefined ? true : asList(st.Resource).some(coversDigest)))
      .filter(([, st]) => !isDeepStrictEqual(st.Condition, CREATE_ONLY_CONDITION))
      .map(([id]) => id);
  };

  it('let no role of the stack put over a digest: every put reaching digests/ is create-only (the compactor writes tenant=* only)', () => {
    const statements: [string, Statement][] = Object.entries(resources).flatMap(([id, r]) =>
      r.Type === 'AWS::IAM::Policy'
        ? (
            asList(
              (r.Properties?.PolicyDocument as { Statement?: Json } | undefined)?.Statement,
            ) as Statement[]
          ).map((st): [string, Statement] => [id, st])
        : [],
    );
    expect(statements.length).toBeGreaterThan(functionCases(stack).length);
    expect(digestOverwrites(statements, logicalId(stack.archive.bucket))).toEqual([]);
  });

  it('the overwrite checker catches a put that could reach a digest (so the real check can fail)', () => {
    const archiveId = 'ArchiveBucketABC';
    const objects = (pattern: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [archiveId, 'Arn'] }, `/${pattern}`]],
    });
    const allow = (Action: Json, Resource: Json, Condition?: Json): Statement => ({
      Effect: 'Allow',
      Action,
      Resource,
      ...(Condition === undefined ? {} : { Condition }),
    });
    const found = digestOverwrites(
      [
        ['WholeBucket', allow('s3:PutObject', objects('*'))],
        ['DigestsNoCondition', allow('s3:PutObject', objects('digests/*'))],
        ['S3Star', allow('s3:*', objects('d*'))],
        ['AnyBucket', allow('s3:Put*', 'arn:aws:s3:::*/*')],
        ['NotAction', { Effect: 'Allow', NotAction: 's3:GetObject', Resource: objects('*') }],
        ['CreateOnly', allow('s3:PutObject', objects('digests/*'), CREATE_ONLY_CONDITION)],
        ['Tenants', allow('s3:PutObject', objects('tenant=*'))],
        ['Read', allow('s3:GetObject', objects('*'))],
        [
          'OtherBucket',
          allow('s3:PutObject', { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Other', 'Arn'] }, '/*']] }),
        ],
      ],
      archiveId,
    );
    expect(found).toEqual(['WholeBucket', 'DigestsNoCondition', 'S3Star', 'AnyBucket', 'NotAction']);
  });

  describe("the digest store's S3 request", () => {
    const s3 = mockClient(S3Client);
    const dynamo = mockClient(DynamoDBDocumentClient);
    afterEach(() => {
      s3.reset();
      dynamo.reset();
    });

    it("is made of conditional puts that only create, under the sealer's prefix", async () => {
      s3.on(PutObjectCommand).resolves({});
      dynamo.on(TransactWriteCommand).resolves({});
      const store = new S3DynamoDigestStore(
        DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
        'control',
        new S3Client({ region: 'us-east-1' }),
        'archive',
      );

      await store.save(SAMPLE_DIGEST, [], undefined);

      const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
      expect(puts.length).toBeGreaterThan(0);
      for (const put of puts) {
        expect(put.IfNoneMatch, put.Key).toBe(CREATE_ONLY_CONDITION.StringEquals['s3:if-none-match']);
        expect(put.Key?.startsWith(INTEGRITY.digestsPrefix), put.Key).toBe(true);
      }
    });
  });

  it('lets the integrity API and the scan only read under the digests prefix, decrypting through S3', () => {
    const archiveId = `"${logicalId(stack.archive.bucket)}"`;
    const keyId = `"${logicalId(stack.archive.key)}"`;
    const stagingId = `"${logicalId(stack.archive.stagingBucket)}"`;
    const readers = functionCases(stack).filter((c) => c.definition.archive === 'digests-read');
    expect(readers.map((c) => c.name).sort()).toEqual(['integrity', 'integrityScan']);
    for (const { name, role } of readers) {
      const statements = statementsOfRole(role);
      expect(
        statements.filter((s) => JSON.stringify(s.Resource).includes(archiveId)),
        name,
      ).toEqual([
        {
          Action: 's3:GetObject',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', [getAtt(stack.archive.bucket), `/${INTEGRITY.digestsPrefix}*`]] },
        },
      ]);
      expect(
        statements.filter((s) => JSON.stringify(s.Resource).includes(keyId)).map((s) => s.Action),
        name,
      ).toEqual(['kms:Decrypt']);
      expect(
        statements.filter((s) => JSON.stringify(s.Resource).includes(stagingId)),
        name,
      ).toEqual([]);
    }
  });

  it('tells the sealer, the integrity API and the scan the archive bucket, and none the staging bucket', () => {
    for (const fn of [stack.jobs.sealer.fn, stack.jobs.integrityScan.fn, stack.api.functions.integrity.fn]) {
      const variables = variablesOf(fn);
      expect(variables[ENV.archiveBucket], fn.node.path).toEqual({ Ref: logicalId(stack.archive.bucket) });
      expect(variables[ENV.archiveStagingBucket], fn.node.path).toBeUndefined();
    }
  });
});

describe('integrity routes', () => {
  const integrityRoutes = ROUTES.filter((route) => route.fn === 'integrity');
  const routeResource = (routeKey: string): Resource | undefined =>
    Object.values(resources).find(
      (r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties?.RouteKey === routeKey,
    );

  it('serves the public key without the authorizer, proofs and digests behind it', () => {
    expect(integrityRoutes.map((route) => `${route.method} ${route.path}`).sort()).toEqual([
      'GET /v1/events/{id}/proof',
      'GET /v1/integrity/digests',
      'GET /v1/integrity/public-key',
    ]);
    expect(routeResource('GET /v1/integrity/public-key')?.Properties).toMatchObject({
      AuthorizationType: 'NONE',
    });
    expect(routeResource('GET /v1/integrity/public-key')?.Properties?.AuthorizerId).toBeUndefined();
    for (const routeKey of ['GET /v1/events/{id}/proof', 'GET /v1/integrity/digests']) {
      expect(routeResource(routeKey)?.Properties, routeKey).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: expect.any(String) },
      });
    }
  });

  it('integrates all three with the integrity function', () => {
    for (const route of integrityRoutes) {
      const routeKey = `${route.method} ${route.path}`;
      const target = routeResource(routeKey)?.Properties?.Target as {
        'Fn::Join': [string, [string, { Ref: string }]];
      };
      const integration = resources[target['Fn::Join'][1][1].Ref];
      expect(integration?.Properties?.IntegrationUri, routeKey).toEqual(
        getAtt(stack.api.functions.integrity.fn),
      );
    }
  });

  it('acknowledges the unauthenticated public-key route with its written reason', () => {
    const route = stack.api.httpApi.node
      .findAll()
      .find((construct) => construct.node.id === 'GET--v1--integrity--public-key');
    expect(route).toBeDefined();
    const reasons = (route?.node.metadata ?? [])
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]?.[0]).toMatch(/AwsSolutions-APIG4$/);
    expect(reasons[0]?.[1]).toContain(UNAUTHENTICATED_ROUTES['GET /v1/integrity/public-key']);
  });

  it('fails synth on an unauthenticated route with no or a blank reason', () => {
    expect(() => assertPublicRoutesExplained(ROUTES)).not.toThrow();
    expect(() =>
      assertPublicRoutesExplained([
        ...ROUTES,
        {
          key: 'GET /v1/integrity/public-key',
          method: 'GET',
          path: '/v1/integrity/public-key',
          fn: 'integrity',
          authorized: false,
          publicReason: '  ',
        },
        {
          key: 'GET /v1/events/{id}/proof',
          method: 'GET',
          path: '/v1/events/{id}/proof',
          fn: 'integrity',
          authorized: false,
        },
      ]),
    ).toThrow(
      'unauthenticated route(s) GET /v1/integrity/public-key, GET /v1/events/{id}/proof need a reason',
    );
  });
});

describe('sealer and integrity scan', () => {
  const jobs = () => [
    { name: 'sealer', definition: SEALER, job: stack.jobs.sealer },
    { name: 'integrityScan', definition: INTEGRITY_SCAN, job: stack.jobs.integrityScan },
  ];

  it('are scheduled jobs built from their manifest entries', () => {
    expect(SEALER.kind).toBe('schedule');
    expect(INTEGRITY_SCAN.kind).toBe('schedule');
    for (const { name, definition, job } of jobs()) {
      expect(propertiesOf(job.fn), name).toMatchObject({
        MemorySize: definition.memoryMiB,
        Timeout: definition.timeoutSeconds,
      });
      // Overlapping runs are safe without a reservation (conditional, create-only writes; a
      // read-only scan): see schedule.ts. Reserving is opt-in (archive.test.ts).
      expect(propertiesOf(job.fn).ReservedConcurrentExecutions, name).toBeUndefined();
    }
  });

  it('run on the rate of their definition', () => {
    expect(jobs().map(({ definition }) => definition.schedule.rateMinutes)).toEqual([5, 15]);
    for (const { name, definition, job } of jobs()) {
      const rule = job.schedule?.rule;
      expect(rule, name).toBeDefined();
      if (!rule) continue;
      expect(propertiesOf(rule), name).toMatchObject({
        ScheduleExpression: Schedule.rate(Duration.minutes(definition.schedule.rateMinutes)).expressionString,
        State: 'ENABLED',
        Targets: [expect.objectContaining({ Arn: getAtt(job.fn) })],
      });
    }
  });

  it('seal at the rate a deployment asks for (-c sealEveryMinutes)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], sealEveryMinutes: '10' } });
    const custom = new TrailkeeperStack(app, 'Trailkeeper', {
      env: { region: 'us-east-1' },
      emailFrom: TEST_SENDER,
      console: TEST_CONSOLE,
    });
    const customResources = Template.fromStack(custom).toJSON().Resources as Record<string, Resource>;
    const rule = custom.jobs.sealer.schedule?.rule;
    expect(rule && customResources[logicalId(rule)]?.Properties).toMatchObject({
      ScheduleExpression: Schedule.rate(Duration.minutes(10)).expressionString,
    });
  });

  it('are told the signing key by its ARN', () => {
    for (const { name, job } of jobs()) {
      expect(variablesOf(job.fn)[ENV.signingKeyId], name).toEqual(getAtt(stack.signingKey.key));
    }
    expect(variablesOf(stack.api.functions.integrity.fn)[ENV.signingKeyId]).toEqual(
      getAtt(stack.signingKey.key),
    );
  });

  it('only read the events table, the seal index included', () => {
    const eventsId = logicalId(stack.events.table);
    const sealIndex = {
      'Fn::Join': ['', [getAtt(stack.events.table), `/index/${EVENTS_TABLE.indexes.bySeal.name}`]],
    };
    for (const { name, job } of [...jobs(), { name: 'integrity', job: stack.api.functions.integrity }]) {
      const onEvents = statementsOfRole(job.role).filter((s) =>
        JSON.stringify(s.Resource).includes(`"${eventsId}"`),
      );
      expect(onEvents.flatMap((s) => asList(s.Action)).sort(), name).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:Query',
      ]);
      expect(
        onEvents.flatMap((s) => asList(s.Resource)),
        name,
      ).toContainEqual(sealIndex);
    }
  });
});

describe('seal and tenant indexes', () => {
  const indexOf = (table: IConstruct, name: string) =>
    (propertiesOf(table).GlobalSecondaryIndexes as { IndexName: string }[]).find(
      (index) => index.IndexName === name,
    );

  it('indexes events by seal partition and receipt, projecting only the hash', () => {
    expect(indexOf(stack.events.table, 'bySeal')).toEqual({
      IndexName: 'bySeal',
      KeySchema: [
        { AttributeName: 'seal_pk', KeyType: 'HASH' },
        { AttributeName: 'seal_sk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['hash'] },
    });
    expect(EVENTS_TABLE.indexes.bySeal.projection).toEqual(['hash']);
  });

  it('lists tenants on the control table with keys only', () => {
    expect(indexOf(stack.control.table, 'tenants')).toEqual({
      IndexName: 'tenants',
      KeySchema: [
        { AttributeName: 'entity', KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    expect(CONTROL_TABLE.indexes.tenants.projection).toEqual([]);
  });
});

describe('integrity alarms', () => {
  const lambdaAlarms = (metricName: string, fn: IConstruct): Resource[] =>
    Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
        },
      }),
    ) as Resource[];

  it('alarms at one IntegrityMismatch per minute, treating missing data as fine, into the topic', () => {
    expect(INTEGRITY_SCAN_METRICS.mismatch).toEqual({
      namespace: 'Trailkeeper',
      metricName: INTEGRITY_SCAN.metrics.mismatch,
      dimensions: { service: 'trailkeeper' },
    });
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Namespace: 'Trailkeeper', MetricName: 'IntegrityMismatch' },
      }),
    ) as Resource[];
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Dimensions: [{ Name: 'service', Value: 'trailkeeper' }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: topic(),
    });
  });

  it('counts verified events without alarming on them', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: INTEGRITY_SCAN.metrics.verified },
    });
    expect(Object.keys(alarms)).toHaveLength(0);
  });

  it('alarms on errors of the sealer and of the integrity scan, and on their schedule dead letters', () => {
    for (const name of ['sealer', 'integrityScan'] as const) {
      const job = stack.jobs[name];
      const errors = lambdaAlarms('Errors', job.fn);
      expect(errors, name).toHaveLength(1);
      expect(errors[0]?.Properties, name).toMatchObject({
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: topic(),
      });
      const queue = job.schedule?.deadLetterQueue;
      expect(queue, name).toBeDefined();
      if (!queue) continue;
      const deadLetters = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }],
        },
      });
      expect(Object.keys(deadLetters), `${name} schedule dead letters`).toHaveLength(1);
    }
  });

  it('alarms when the sealer has not run for 30 minutes, a missing datapoint counting as no run', () => {
    expect(stalledWindow(SEALER.schedule.rateMinutes).toMinutes()).toBe(30);
    const alarms = lambdaAlarms('Invocations', stack.jobs.sealer.fn);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Statistic: 'Sum',
      Period: 30 * 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: topic(),
    });
  });

  it('alarms on every scheduled job that stops running, over three of its ticks and at least 30 minutes', () => {
    expect(STALLED_MIN_WINDOW.toMinutes()).toBe(30);
    expect(stalledWindow(15).toMinutes()).toBe(45);
    expect(stalledWindow(60).toMinutes()).toBe(180);
    for (const [name, job] of Object.entries(stack.jobs)) {
      const rateMinutes = job.schedule?.rateMinutes ?? Number.NaN;
      const alarms = lambdaAlarms('Invocations', job.fn);
      expect(alarms, name).toHaveLength(1);
      expect(alarms[0]?.Properties, name).toMatchObject({
        Period: stalledWindow(rateMinutes).toSeconds(),
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    }
  });
});
