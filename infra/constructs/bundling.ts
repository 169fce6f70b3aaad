/**
 * How every handler is bundled, once: ServiceFunction hands HANDLER_BUNDLING to CDK's
 * NodejsFunction, and the bundles bench (bench/parts/bundles.ts) builds the same options with
 * esbuild through esbuildOptions(), so the bench measures what is deployed.
 */
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/**
 * ESM bundles still meet CommonJS dependencies that call `require` (e.g. for Node built-ins);
 * give them one. The alias avoids clashing with an import esbuild may hoist into the bundle.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __trailkeeperCreateRequire } from 'node:module';" +
  'const require = __trailkeeperCreateRequire(import.meta.url);';

/**
 * Credential sources of the SDK's default chain that a Lambda function never reaches. Lambda puts
 * the execution role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, and the chain's first link (environment variables, bundled) answers; these
 * come after it (profile files, SSO, `credential_process`, a web-identity token file) and are
 * loaded only when reached, by dynamic import. Bundled, they cost every handler ~100 KiB: the
 * STS, SSO, OIDC and sign-in clients and the query/XML protocols only STS speaks. The container
 * and instance-metadata sources (remoteProvider) stay bundled.
 */
export const UNREACHABLE_CREDENTIAL_SOURCES = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
] as const;

/** Node flags every function runs with (stack traces through the source map). */
export const HANDLER_NODE_OPTIONS = ['--enable-source-maps'] as const;

export const HANDLER_BUNDLING = {
  minify: true,
  sourceMap: true,
  // Stack traces need file:line, not the sources: keeps the .map small.
  sourcesContent: false,
  format: OutputFormat.ESM,
  target: 'node24',
  // ESM builds of the SDK (`module`) tree-shake; their CommonJS builds do not.
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  // Bundle the SDK too: the versions we test against are the versions that run in Lambda.
  bundleAwsSDK: true,
  externalModules: [...UNREACHABLE_CREDENTIAL_SOURCES],
} satisfies BundlingOptions;

/**
 * The esbuild options CDK derives from HANDLER_BUNDLING (NodejsFunction always bundles for the
 * node platform; with bundleAwsSDK only externalModules stay external). A key added to
 * HANDLER_BUNDLING must be mapped here too, or the bench would build something else: the
 * `satisfies` below fails to compile until it is.
 */
export const esbuildOptions = (): BuildOptions => {
  const {
    minify,
    sourceMap,
    sourcesContent,
    format,
    target,
    mainFields,
    banner,
    bundleAwsSDK,
    externalModules,
    ...unmapped
  } = HANDLER_BUNDLING;
  unmapped satisfies Record<string, never>;
  if (!bundleAwsSDK) throw new Error('esbuildOptions: only bundleAwsSDK: true is mapped');
  return {
    bundle: true,
    platform: 'node',
    minify,
    sourcemap: sourceMap,
    sourcesContent,
    format: format === OutputFormat.ESM ? 'esm' : 'cjs',
    target,
    mainFields: [...mainFields],
    banner: { js: banner },
    external: [...externalModules],
  };
};
