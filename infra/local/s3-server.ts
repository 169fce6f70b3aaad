/**
 * The local S3's process (started by s3.ts): s3rver, plus the conditional writes s3rver lacks.
 * AWS S3 refuses a create-only write (`If-None-Match: *`) to a key that exists with 412
 * PreconditionFailed, and one racing another conditional write to the same key with 409
 * ConditionalRequestConflict; the sealer relies on it to never replace a digest (see
 * shared/adapters/digest-store.ts). Both apply to PutObject (and CopyObject) and to
 * CompleteMultipartUpload. s3rver ignores the header and overwrites, so this server checks the
 * precondition before handing the request to s3rver. Path-style requests only (the local clients
 * force path style); only `*` is checked, the one value AWS accepts for If-None-Match on writes.
 *
 * Usage: node --openssl-legacy-provider --import tsx s3-server.ts --directory <dir> [--address
 * 127.0.0.1] [--port 0]. Prints `S3rver listening on <address>:<port>` once it listens.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface S3rverApp {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  readonly store: { existsObject(bucket: string, key: string): Promise<boolean> };
}
type S3rverClass = new (options: { directory: string; silent: boolean }) => S3rverApp;

export interface ConditionalWrite {
  readonly bucket: string;
  readonly key: string;
}

/** The bucket and key of a create-only write (`If-None-Match: *`), else undefined. */
export const conditionalWrite = (
  method: string | undefined,
  target: string,
  ifNoneMatch: string | undefined,
): ConditionalWrite | undefined => {
  if (ifNoneMatch?.trim() !== '*') return undefined;
  const url = new URL(target, 'http://s3.local');
  const isPut = method === 'PUT' && !url.searchParams.has('partNumber') && !url.searchParams.has('uploadId');
  const isComplete = method === 'POST' && url.searchParams.has('uploadId');
  if (!isPut && !isComplete) return undefined;
  const [, bucket = '', ...key] = url.pathname.split('/');
  if (bucket === '' || key.join('') === '') return undefined;
  try {
    return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(key.join('/')) };
  } catch {
    return undefined; // malformed: s3rver answers it
  }
};

const errorXml = (code: string, message: string, extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}` +
  `<RequestId>${Math.random().toString(16).slice(2, 18).toUpperCase()}</RequestId></Error>`;

const refuse = (req: IncomingMessage, res: ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  req.resume(); // drain the body the client still sends, so the connection stays usable
};

/** A request handler: conditional writes checked here, everything else (and what passes) to s3rver. */
export const withConditionalWrites = (
  s3rver: S3rverApp,
): ((req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
  const forward = s3rver.callback();
  const inFlight = new Set<string>();
  return async (req, res) => {
    const header = req.headers['if-none-match'];
    const write = conditionalWrite(req.method, req.url ?? '/', Array.isArray(header) ? header[0] : header);
    if (write === undefined) return forward(req, res);
    const id = `${write.bucket}/${write.key}`;
    if (inFlight.has(id)) {
      return refuse(
        req,
        res,
        409,
        errorXml(
          'ConditionalRequestConflict',
          'A conflicting conditional operation is currently in progress against this resource. Please try again.',
        ),
      );
    }
    inFlight.add(id); // synchronously, before any await: a racing write sees it
    res.once('close', () => inFlight.delete(id));
    let exists: boolean;
    try {
      exists = await s3rver.store.existsObject(write.bucket, write.key);
    } catch {
      exists = false; // no such bucket: s3rver answers NoSuchBucket
    }
    if (exists) {
      return refuse(
        req,
        res,
        412,
        errorXml(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          '<Condition>If-None-Match</Condition>',
        ),
      );
    }
    forward(req, res);
  };
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      directory: { type: 'string' },
      address: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
    },
  });
  if (!values.directory) throw new Error('--directory is required');
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const s3rver = new S3rver({ directory: values.directory, silent: true });
  const handle = withConditionalWrites(s3rver);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(values.port), values.address, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  process.stdout.write(`S3rver listening on ${address}:${port}\n`);
};

// Started as a program (not imported by a test).
if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((error: unknown) => {
    process.stderr.write(`local S3 failed to start: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  });
}
