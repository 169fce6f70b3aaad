/** A minimal HTTP client for the local gateway (fetch keeps connections alive). */

export interface Reply {
  status: number;
  body: unknown;
}

export const callApi = async (
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string } = {},
): Promise<Reply> => {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
};

/** Posts a pre-serialised body and only checks the status (the bench does not need the answer parsed). */
export const postRaw = async (
  baseUrl: string,
  path: string,
  token: string,
  body: string,
): Promise<number> => {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
};
