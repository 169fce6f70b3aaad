/**
 * A throw-away certificate authority and a server certificate it signed, for HTTPS test receivers:
 * made with the `openssl` CLI in a temporary directory that is removed before returning, valid
 * for two days. The server certificate names `localhost`, `receiver.test`, 127.0.0.1 and ::1, so a
 * client that trusts `ca` can verify a receiver on 127.0.0.1 reached by any of those names.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  /** The CA certificate (PEM): what a client passes as `ca` to trust the receiver. */
  ca: string;
  /** The server certificate (PEM) and its private key (PEM), for `https.createServer`. */
  cert: string;
  key: string;
}

/** The names the server certificate is valid for. */
export const TEST_CERT_NAMES = ['localhost', 'receiver.test'] as const;
export const TEST_CERT_ADDRESSES = ['127.0.0.1', '::1'] as const;

export const createTestCertificates = async (): Promise<TestCertificates> => {
  const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-test-ca-'));
  const file = (name: string) => join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=Trailkeeper throw-away test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl([
      'req',
      ...ec,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=localhost',
    ]);
    const altNames = [
      ...TEST_CERT_NAMES.map((name) => `DNS:${name}`),
      ...TEST_CERT_ADDRESSES.map((address) => `IP:${address}`),
    ];
    await writeFile(
      file('server.ext'),
      [
        `subjectAltName=${altNames.join(',')}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    );
    await openssl([
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.pem'),
    ]);
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'server.pem', 'server.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { ca: ca ?? '', cert: cert ?? '', key: key ?? '' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
