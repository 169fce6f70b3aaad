/**
 * The local stand-in for what CloudFront does in front of the API in AWS (infra/constructs):
 * runs the `/console/t/*` CloudFront Function — the same file, infra/edge/console-request.js, in
 * a VM context like CloudFront's JavaScript runtime — and serves the console's static assets
 * from a build directory the way the S3 origin does (`/console/assets/*`, immutable, by exact
 * name; anything else there is a 404, never a directory listing or a path outside it).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';

export const CONSOLE_REQUEST_FUNCTION = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'edge',
  'console-request.js',
);

export const CONSOLE_PAGE_PREFIX = '/console/t/';
export const CONSOLE_ASSET_PREFIX = '/console/assets/';

interface EdgeRequest {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, { value: string }>;
}

/** The viewer-request function of the console's page behaviour: a request path in, a path out. */
export const loadConsoleRequestFunction = (source = readFileSync(CONSOLE_REQUEST_FUNCTION, 'utf8')) => {
  const handler = runInNewContext(`${source}\n;handler`, {}, { filename: 'console-request.js' }) as (event: {
    request: EdgeRequest;
  }) => EdgeRequest;
  return (method: string, uri: string): string =>
    handler({ request: { method, uri, querystring: {}, headers: {} } }).uri;
};

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface AssetReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Headers CloudFront's response headers policy adds to every answer (infra/constructs). */
export const EDGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** One asset of `assetsDir` by its exact file name, as the S3 origin would serve it; undefined when none. */
export const readConsoleAsset = async (
  assetsDir: string,
  rawPath: string,
): Promise<AssetReply | undefined> => {
  const name = rawPath.slice(CONSOLE_ASSET_PREFIX.length);
  // Content-hashed names only: no directories, no dot segments, no encoded tricks.
  if (!/^[A-Za-z0-9_-]+\.(js|css)$/.test(name) || basename(name) !== name) return undefined;
  const extension = name.slice(name.lastIndexOf('.'));
  try {
    const body = await readFile(join(assetsDir, name));
    return {
      status: 200,
      headers: {
        'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
        'cache-control': 'public, max-age=31536000, immutable',
        ...EDGE_HEADERS,
      },
      body,
    };
  } catch {
    return undefined;
  }
};
