/**
 * Helpers shared by the CDK template tests: logical ids of constructs, every function of the
 * stack paired with the definition it was built from, and IAM pattern matching.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ConsoleBuild } from '#infra/constructs/console.ts';
import type { TrailkeeperStack } from '#infra/stack.ts';
import {
  FUNCTION_NAMES,
  type FunctionDefinition,
  type FunctionName,
  MANIFEST,
} from '#shared/config/manifest.ts';

/**
 * The export email sender every test stack is built with: synth refuses a stack without one, and
 * the `.test` domain can never be a real, verified identity.
 */
export const TEST_SENDER = 'Trailkeeper Test <no-reply@trailkeeper.test>';

/**
 * A console build for test stacks: two small files where buildConsole would write them, so the
 * stack tests neither run esbuild nor depend on the console's sources. One per test process.
 */
export const TEST_CONSOLE: ConsoleBuild = (() => {
  const outDir = mkdtempSync(join(tmpdir(), 'trailkeeper-test-console-'));
  mkdirSync(join(outDir, 'assets'));
  writeFileSync(join(outDir, 'assets', 'console-TESTHASH.js'), 'export {};\n');
  writeFileSync(join(outDir, 'assets', 'console-TESTHASH.css'), 'body{}\n');
  return {
    outDir,
    assets: {
      script: { path: '/console/assets/console-TESTHASH.js', integrity: 'sha384-testscript' },
      style: { path: '/console/assets/console-TESTHASH.css', integrity: 'sha384-teststyle' },
      bytes: { script: 11, scriptGzip: 31, style: 7, styleGzip: 27 },
    },
  };
})();

export type Json = unknown;
export type Resource = { Type: string; Properties?: Record<string, Json> };

export const logicalId = (construct: IConstruct): string => {
  const cfn = construct.node.defaultChild as CfnElement | undefined;
  if (!cfn) throw new Error(`${construct.node.path} has no default child`);
  return Stack.of(construct).getLogicalId(cfn);
};

export interface FunctionCase {
  readonly name: FunctionName;
  readonly definition: FunctionDefinition;
  readonly fn: IConstruct;
  readonly role: IConstruct;
}

/** Every function of the manifest with the definition it was built from. */
export const functionCases = (stack: TrailkeeperStack): FunctionCase[] =>
  FUNCTION_NAMES.map((name) => ({
    name,
    definition: MANIFEST[name],
    fn: stack.functions[name].fn,
    role: stack.functions[name].role,
  }));

/** The logical id of a role's default policy (where its grants land). */
export const defaultPolicyId = (role: IConstruct): string => {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`${role.node.path} has no default policy`);
  return logicalId(policy);
};

/** IAM action/resource patterns: `*` and `?` are wildcards, matching is case-insensitive. */
export const globMatches = (pattern: string, value: string): boolean => {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(value);
};

export const asList = (value: Json): Json[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
