/**
 * Helpers for integration test files that start a stack of their own (they drive its stream
 * poller and scheduled jobs directly): a small HTTP client bound to that stack, tenant and key
 * creation, batched ingest, and the operator CLIs run as an operator runs them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { LocalStack } from '#infra/local/stack.ts';

const exec = promisify(execFile);

/** `npm run <cli> -- …` on this test's Node: resolves with stdout/stderr, rejects with the exit code. */
export const runCli = (
  script: 'cli/archive.ts' | 'cli/verify.ts',
  args: string[],
  env: Record<string, string> = {},
) =>
  exec(process.execPath, ['node_modules/tsx/dist/cli.mjs', script, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });

export const stackClient = (stack: () => LocalStack, operatorKey: string) => {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${stack().url}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };

  /** A tenant and a key holding `scopes`. */
  const newTenant = async (shards: number, scopes: string[]) => {
    const tenant = await call('POST', '/v1/tenants', operatorKey, { name: 'T', plan: 'pro', shards });
    const key = await call('POST', `/v1/tenants/${tenant.body.id}/keys`, operatorKey, { name: 'k', scopes });
    return { id: tenant.body.id as string, key: key.body.key as string };
  };

  /** Ingests one event per id, in batches of 100 (a batch of replays answers 200, else 201). */
  const ingest = async (key: string, ids: string[], action = 'document.shared') => {
    for (let i = 0; i < ids.length; i += 100) {
      const events = ids
        .slice(i, i + 100)
        .map((id) => ({ id, action, actor: { id: 'u1' }, metadata: { id } }));
      const res = await call('POST', '/v1/events', key, { events });
      expect([200, 201]).toContain(res.status);
    }
  };

  return { call, newTenant, ingest };
};
