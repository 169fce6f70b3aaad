/**
 * The handler bundling options (infra/constructs/bundling.ts): the bench builds exactly what CDK
 * builds, and only credential sources a Lambda function never reaches are left out of a bundle.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  esbuildOptions,
  HANDLER_BUNDLING,
  UNREACHABLE_CREDENTIAL_SOURCES,
} from '#infra/constructs/bundling.ts';

const require = createRequire(import.meta.url);
const sdkDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** The source of the SDK's default credential chain, as bundled (its ESM build). */
const defaultChainSource = (): string => {
  const clientDir = sdkDir('@aws-sdk/client-dynamodb');
  const providerNode = dirname(
    createRequire(join(clientDir, 'package.json')).resolve('@aws-sdk/credential-provider-node/package.json'),
  );
  return readFileSync(join(providerNode, 'dist-es/defaultProvider.js'), 'utf8');
};

describe('handler bundling', () => {
  it('gives the bench the options CDK bundles with', () => {
    const options = esbuildOptions();

    expect(options).toMatchObject({
      bundle: true,
      platform: 'node',
      format: 'esm',
      minify: HANDLER_BUNDLING.minify,
      sourcemap: HANDLER_BUNDLING.sourceMap,
      sourcesContent: HANDLER_BUNDLING.sourcesContent,
      target: HANDLER_BUNDLING.target,
      mainFields: HANDLER_BUNDLING.mainFields,
      banner: { js: HANDLER_BUNDLING.banner },
      external: HANDLER_BUNDLING.externalModules,
    });
  });

  it('keeps the SDK bundled but for the credential sources after the environment', () => {
    expect(HANDLER_BUNDLING.bundleAwsSDK).toBe(true);
    expect(HANDLER_BUNDLING.externalModules).toEqual([...UNREACHABLE_CREDENTIAL_SOURCES]);
    expect(HANDLER_BUNDLING.externalModules).not.toContain('@aws-sdk/credential-provider-env');
  });

  it('leaves out only sources the default chain loads lazily, after the environment variables', () => {
    const source = defaultChainSource();
    const fromEnvAt = source.indexOf('return fromEnv(init)()');

    expect(fromEnvAt).toBeGreaterThan(-1);
    for (const name of UNREACHABLE_CREDENTIAL_SOURCES) {
      const lazyImportAt = source.indexOf(`await import("${name}")`);
      expect(lazyImportAt, name).toBeGreaterThan(fromEnvAt);
      // A static import would make a bundle fail to load in Lambda.
      expect(source, name).not.toMatch(new RegExp(`^import .* from "${name}";`, 'm'));
    }
  });
});
