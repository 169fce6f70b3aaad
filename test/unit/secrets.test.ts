/**
 * Deployment secrets and their rotation (shared/adapters/secrets.ts, cli/rotate.ts): what is read
 * from Secrets Manager (exact commands), for how long it is cached (injected clock), which
 * previous value is still accepted, and what a rotation sends.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateSecretValue,
  ROTATION_GRACE_MS,
  rotateSecret,
  SECRET_CACHE_TTL_MS,
  SECRET_VALUE_LENGTH,
  SecretSource,
} from '#shared/adapters/secrets.ts';
import { main, type RotateIo } from '../../cli/rotate.ts';

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:TrailkeeperOperatorKey-AbCdEf';
const ENV = { OPERATOR_KEY_SECRET_ARN: ARN };
const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const HOUR = 3_600_000;

const notFound = () =>
  Object.assign(new Error("Secrets Manager can't find the specified secret version."), {
    name: 'ResourceNotFoundException',
  });

/** A SecretSource on a fake clock, reading ARN through the mocked client. */
const sourceAt = (clock: { now: number }, env: NodeJS.ProcessEnv = ENV) =>
  new SecretSource({ client: new SecretsManagerClient({ region: 'eu-west-1' }), now: () => clock.now, env });

const stages = () => sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input);

describe('secret source in AWS', () => {
  it('reads AWSCURRENT and, within the grace period after a rotation, AWSPREVIOUS', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: 'new-key',
      CreatedDate: new Date(T0 - HOUR),
    });
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).resolves({
      SecretString: 'old-key',
      CreatedDate: new Date(T0 - 30 * 24 * HOUR),
    });

    const versions = await sourceAt({ now: T0 }).load('OPERATOR_KEY_SECRET_ARN', 'TRAILKEEPER_OPERATOR_KEY');

    expect(versions).toEqual({ current: 'new-key', previous: 'old-key' });
    expect(stages()).toEqual([
      { SecretId: ARN, VersionStage: 'AWSCURRENT' },
      { SecretId: ARN, VersionStage: 'AWSPREVIOUS' },
    ]);
  });

  it('accepts no previous value once the grace period is over, and does not ask for it', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: 'new-key',
      CreatedDate: new Date(T0 - ROTATION_GRACE_MS),
    });

    const versions = await sourceAt({ now: T0 }).load('OPERATOR_KEY_SECRET_ARN', 'TRAILKEEPER_OPERATOR_KEY');

    expect(versions).toEqual({ current: 'new-key', previous: null });
    expect(stages()).toEqual([{ SecretId: ARN, VersionStage: 'AWSCURRENT' }]);
  });

  it('treats a missing AWSPREVIOUS (never rotated, or revoked) as no previous value', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: 'only-key',
      CreatedDate: new Date(T0 - 60_000),
    });
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).rejects(notFound());

    const versions = await sourceAt({ now: T0 }).load('OPERATOR_KEY_SECRET_ARN', 'TRAILKEEPER_OPERATOR_KEY');

    expect(versions).toEqual({ current: 'only-key', previous: null });
  });

  it(`keeps a value ${SECRET_CACHE_TTL_MS / 60_000} minutes, then reads the secret again`, async () => {
    sm.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
      .resolvesOnce({ SecretString: 'first', CreatedDate: new Date(T0 - 48 * HOUR) })
      .resolves({ SecretString: 'rotated', CreatedDate: new Date(T0 - 48 * HOUR) });
    const clock = { now: T0 };
    const source = sourceAt(clock);
    const load = () => source.load('OPERATOR_KEY_SECRET_ARN', 'TRAILKEEPER_OPERATOR_KEY');

    expect((await load()).current).toBe('first');
    clock.now = T0 + SECRET_CACHE_TTL_MS - 1;
    expect((await load()).current).toBe('first');
    expect(stages()).toHaveLength(1);

    clock.now = T0 + SECRET_CACHE_TTL_MS;
    expect((await load()).current).toBe('rotated');
    expect(stages()).toHaveLength(2);
  });

  it('keeps using the value read before while Secrets Manager fails, and reads again on the next call', async () => {
    sm.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
      .resolvesOnce({ SecretString: 'good', CreatedDate: new Date(T0 - 48 * HOUR) })
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: 'fresh', CreatedDate: new Date(T0 - 48 * HOUR) });
    const clock = { now: T0 };
    const source = sourceAt(clock);
    const load = () => source.load('OPERATOR_KEY_SECRET_ARN', 'TRAILKEEPER_OPERATOR_KEY');
    await load();

    clock.now = T0 + SECRET_CACHE_TTL_MS;
    expect((await load()).current).toBe('good');
    expect((await load()).current).toBe('fresh');
    expect(stages()).toHaveLength(3);
  });

  it('does not cache a failed first read: the next call tries again', async () => {
    sm.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
      .rejectsOnce(Object.assign(new Error('no route'), { name: 'TimeoutError' }))
      .resolves({ SecretString: 'late', CreatedDate: new Date(T0 - 48 * HOUR) });
    const source = sourceAt({ now: T0 });
    const load = () => source.load('OPERATOR_KEY_SECRET_ARN', 'TRAILKEEPER_OPERATOR_KEY');

    await expect(load()).rejects.toThrow('no route');
    expect((await load()).current).toBe('late');
  });
});

describe('secret source locally', () => {
  it('reads the value from the environment, and during a rotation the old one from *_PREVIOUS', async () => {
    const env = { TRAILKEEPER_CURSOR_KEY: 'new', TRAILKEEPER_CURSOR_KEY_PREVIOUS: 'old' };
    const versions = await sourceAt({ now: T0 }, env).load('CURSOR_KEY_SECRET_ARN', 'TRAILKEEPER_CURSOR_KEY');
    expect(versions).toEqual({ current: 'new', previous: 'old' });
    expect(sm.calls()).toHaveLength(0);
  });

  it('fails, naming both variables, when neither is set', async () => {
    await expect(
      sourceAt({ now: T0 }, {}).load('CURSOR_KEY_SECRET_ARN', 'TRAILKEEPER_CURSOR_KEY'),
    ).rejects.toThrow('neither CURSOR_KEY_SECRET_ARN nor TRAILKEEPER_CURSOR_KEY is set');
  });
});

describe('secret values', () => {
  it('are alphanumeric, of the length CDK generates, and different every time', () => {
    for (const name of ['operatorKey', 'cursorKey'] as const) {
      const value = generateSecretValue(name);
      expect(value).toMatch(new RegExp(`^[A-Za-z0-9]{${SECRET_VALUE_LENGTH[name]}}$`));
      expect(generateSecretValue(name)).not.toBe(value);
    }
  });
});

describe('rotation', () => {
  const describeAfterPut = {
    VersionIdsToStages: {
      'v-new': ['AWSCURRENT'],
      'v-old': ['AWSPREVIOUS'],
      'v-older': [],
    },
  };

  it('puts the new value without stages (Secrets Manager moves AWSCURRENT and AWSPREVIOUS) and names both versions', async () => {
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-new' });
    sm.on(DescribeSecretCommand).resolves(describeAfterPut);

    const result = await rotateSecret(
      new SecretsManagerClient({ region: 'eu-west-1' }),
      ARN,
      'N'.repeat(48),
      {
        revokePrevious: false,
        requestToken: 'token-1',
      },
    );

    expect(result).toEqual({ versionId: 'v-new', previousVersionId: 'v-old' });
    expect(sm.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN, SecretString: 'N'.repeat(48), ClientRequestToken: 'token-1' },
    ]);
    expect(sm.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: ARN }]);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('revokes the previous value at once when asked: AWSPREVIOUS is removed from it', async () => {
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-new' });
    sm.on(DescribeSecretCommand).resolves(describeAfterPut);
    sm.on(UpdateSecretVersionStageCommand).resolves({});

    const result = await rotateSecret(new SecretsManagerClient({ region: 'eu-west-1' }), ARN, 'value', {
      revokePrevious: true,
      requestToken: 'token-2',
    });

    expect(result).toEqual({ versionId: 'v-new', previousVersionId: null });
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN, VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: 'v-old' },
    ]);
  });
});

describe('npm run rotate', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const regions: (string | undefined)[] = [];
    const io: RotateIo = {
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
      client: (region) => {
        regions.push(region);
        return new SecretsManagerClient({ region: region ?? 'us-east-1' });
      },
      now: () => T0,
    };
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: err.join(''), regions };
  };

  it("rotates the operator key in the secret's region, prints versions and how to read it, never the key", async () => {
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-new' });
    sm.on(DescribeSecretCommand).resolves({
      VersionIdsToStages: { 'v-new': ['AWSCURRENT'], 'v-old': ['AWSPREVIOUS'] },
    });

    const { code, stdout, regions } = await run(['operator-key', '--secret-id', ARN]);

    expect(code).toBe(0);
    expect(regions).toEqual(['eu-west-1']);
    const [put] = sm.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input);
    expect(put?.SecretId).toBe(ARN);
    expect(put?.SecretString).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(put?.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(stdout).toContain('version v-new is AWSCURRENT');
    expect(stdout).toContain(`accepted until ${new Date(T0 + ROTATION_GRACE_MS).toISOString()}`);
    expect(stdout).toContain(`aws secretsmanager get-secret-value --secret-id '${ARN}'`);
    expect(stdout).not.toContain(put?.SecretString);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('revokes the previous cursor key with --revoke-previous', async () => {
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-2' });
    sm.on(DescribeSecretCommand).resolves({
      VersionIdsToStages: { 'v-2': ['AWSCURRENT'], 'v-1': ['AWSPREVIOUS'] },
    });
    sm.on(UpdateSecretVersionStageCommand).resolves({});

    const { code, stdout } = await run(['cursor-key', '--secret-id', ARN, '--revoke-previous']);

    expect(code).toBe(0);
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString).toMatch(
      /^[A-Za-z0-9]{64}$/,
    );
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN, VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: 'v-1' },
    ]);
    expect(stdout).toContain('No previous value is accepted.');
  });

  it('explains the local rotation with the environment variables, touching no AWS API', async () => {
    const { code, stdout } = await run(['operator-key', '--local']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/TRAILKEEPER_OPERATOR_KEY='[A-Za-z0-9]{48}'/);
    expect(stdout).toContain('TRAILKEEPER_OPERATOR_KEY_PREVIOUS=');
    expect(sm.calls()).toHaveLength(0);
  });

  it('exits 2 on a bad name or a missing --secret-id, and 1 when Secrets Manager refuses', async () => {
    expect((await run(['signing-key', '--secret-id', ARN])).code).toBe(2);
    const missing = await run(['operator-key']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--secret-id is required (stack output OperatorKeySecretArn)');
    expect(sm.calls()).toHaveLength(0);

    sm.on(PutSecretValueCommand).rejects(
      Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }),
    );
    const denied = await run(['operator-key', '--secret-id', ARN]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('AccessDeniedException: not allowed');
  });
});
