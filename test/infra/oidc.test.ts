/**
 * The identity-provider door in the synthesized stack: with the `oidc*` context values the
 * authorizer — and no other function — gets the TRAILKEEPER_OIDC_* variables; without them it has
 * none; and synth refuses an issuer without an audience, an issuer or JWKS URL that is not https,
 * and claim settings without an issuer.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TrailkeeperStack } from '#infra/stack.ts';
import { OIDC_SETTINGS } from '#shared/adapters/oidc.ts';
import { functionCases, logicalId, type Resource, TEST_CONSOLE, TEST_SENDER } from './stack-helpers.ts';

const build = (context: Record<string, unknown>) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    emailFrom: TEST_SENDER,
    console: TEST_CONSOLE,
  });
};

/** Every function's environment variables, by manifest name. */
const environments = (stack: TrailkeeperStack): Record<string, Record<string, unknown>> => {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  return Object.fromEntries(
    functionCases(stack).map(({ name, fn }) => {
      const environment = resources[logicalId(fn)]?.Properties?.Environment as
        | { Variables?: Record<string, unknown> }
        | undefined;
      return [name, environment?.Variables ?? {}];
    }),
  );
};

const OIDC_ENV = Object.values(OIDC_SETTINGS).map((setting) => setting.env);
const oidcVariablesOf = (variables: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(variables).filter(([name]) => OIDC_ENV.includes(name as never)));

describe('the identity provider in the stack', () => {
  it('gives the authorizer, and only it, the settings from the context', () => {
    const stack = build({
      oidcIssuer: 'https://idp.example.com/',
      oidcAudience: 'trailkeeper',
      oidcJwksUri: 'https://idp.example.com/.well-known/jwks.json',
      oidcTenantClaim: 'https://example.com/tenant',
    });
    const byFunction = environments(stack);
    expect(oidcVariablesOf(byFunction.authorizer ?? {})).toEqual({
      TRAILKEEPER_OIDC_ISSUER: 'https://idp.example.com/',
      TRAILKEEPER_OIDC_AUDIENCE: 'trailkeeper',
      TRAILKEEPER_OIDC_JWKS_URI: 'https://idp.example.com/.well-known/jwks.json',
      TRAILKEEPER_OIDC_TENANT_CLAIM: 'https://example.com/tenant',
      TRAILKEEPER_OIDC_ROLE_CLAIM: 'role',
      TRAILKEEPER_OIDC_TEAMS_CLAIM: 'team_ids',
    });
    const others = Object.entries(byFunction).filter(([name]) => name !== 'authorizer');
    expect(others.length).toBeGreaterThan(5);
    for (const [, variables] of others) expect(oidcVariablesOf(variables)).toEqual({});
  });

  it('sets none of them without the context', () => {
    const byFunction = environments(build({}));
    expect(Object.keys(byFunction)).toContain('authorizer');
    for (const variables of Object.values(byFunction)) expect(oidcVariablesOf(variables)).toEqual({});
  });

  it.each([
    [{ oidcIssuer: 'https://idp.example.com' }, /oidcIssuer needs oidcAudience/],
    [{ oidcIssuer: 'http://idp.example.com', oidcAudience: 'tk' }, /oidcIssuer must be an https:\/\/ URL/],
    [{ oidcIssuer: 'http://127.0.0.1:8080', oidcAudience: 'tk' }, /oidcIssuer must be an https:\/\/ URL/],
    [{ oidcIssuer: 'idp.example.com', oidcAudience: 'tk' }, /oidcIssuer must be an absolute https:\/\/ URL/],
    [
      {
        oidcIssuer: 'https://idp.example.com',
        oidcAudience: 'tk',
        oidcJwksUri: 'http://idp.example.com/jwks',
      },
      /oidcJwksUri must be an https:\/\/ URL/,
    ],
    [{ oidcAudience: 'tk', oidcRoleClaim: 'roles' }, /oidcAudience, oidcRoleClaim given without oidcIssuer/],
    [
      { oidcIssuer: 'https://idp.example.com', oidcAudience: 'tk', oidcTeamsClaim: 'team ids' },
      /oidcTeamsClaim/,
    ],
  ])('refuses to synthesize %j', (context, message) => {
    expect(() => build(context)).toThrow(message);
  });
});
