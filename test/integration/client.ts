/** A tiny HTTP client for the integration tests, talking to the local stack's gateway. */
import { inject } from 'vitest';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export const baseUrl = (): string => inject('baseUrl');

export const api = async <T = any>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> => {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${baseUrl()}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
};

export const operator = (): string => inject('operatorKey');

export interface TestTenant {
  id: string;
  /** A key with every scope. */
  key: string;
  keyId: string;
}

/** Creates a tenant and an all-scopes key through the API, as an operator would. */
export const createTenant = async (body: Record<string, unknown> = {}): Promise<TestTenant> => {
  const tenant = await api('POST', '/v1/tenants', {
    token: operator(),
    body: { name: 'Test tenant', plan: 'pro', ...body },
  });
  if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  const key = await createKey(tenant.body.id, ['events:write', 'events:read', 'exports:write', 'admin']);
  return { id: tenant.body.id, key: key.key, keyId: key.id };
};

export const createKey = async (tenantId: string, scopes: string[]): Promise<{ id: string; key: string }> => {
  const res = await api('POST', `/v1/tenants/${tenantId}/keys`, {
    token: operator(),
    body: { name: 'test', scopes },
  });
  if (res.status !== 201) throw new Error(`key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

/** Follows next_cursor until the end; returns every event in order. */
export const listAll = async (
  token: string,
  query: Record<string, string>,
): Promise<{ events: any[]; pages: number }> => {
  const events: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params: URLSearchParams = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
    const res: Reply = await api('GET', `/v1/events?${params}`, { token });
    if (res.status !== 200) throw new Error(`list: ${res.status} ${JSON.stringify(res.body)}`);
    events.push(...res.body.data);
    cursor = res.body.next_cursor;
    pages += 1;
    if (pages > 1000) throw new Error('cursor loop');
  } while (cursor !== null);
  return { events, pages };
};
