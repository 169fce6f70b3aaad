/**
 * Local mode listens on loopback only: every endpoint of the stack (gateway, DynamoDB Local,
 * s3rver, the local SQS and SES) accepts connections on 127.0.0.1 and refuses them on each of
 * this machine's other addresses, so nobody else on the network reaches the data or the API.
 * DynamoDB Local is the one exception when no JDK compiler is installed (its own launcher has no
 * bind-address option, see infra/local/dynamodb.ts): the test then checks the documented
 * behaviour instead, so it notices whichever way the stack behaves differently.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, inject, it } from 'vitest';

/** Resolves with 'connected' or the connection error's code. */
const tryConnect = (host: string, port: number): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });

/** This machine's addresses other than loopback (link-local IPv6 needs a scope: left out). */
const otherAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => (a as { address: string }).address);

const env = inject('localEnv');
const endpoints: Record<string, string> = {
  gateway: inject('baseUrl'),
  'DynamoDB Local': inject('dynamoEndpoint'),
  's3rver (local S3)': inject('s3Endpoint'),
  'local SQS': env.AWS_ENDPOINT_URL_SQS as string,
  'local SES': env.AWS_ENDPOINT_URL_SESV2 as string,
};

describe('local stack listening sockets', () => {
  it('finds an address of this machine other than loopback to try', () => {
    expect(otherAddresses().length).toBeGreaterThan(0);
  });

  for (const [name, endpoint] of Object.entries(endpoints)) {
    const { hostname, port } = new URL(endpoint);
    const expectLoopbackOnly = name !== 'DynamoDB Local' || inject('dynamoLoopbackOnly');

    it(`${name} is reached through 127.0.0.1`, async () => {
      expect(hostname).toBe('127.0.0.1');
      expect(await tryConnect('127.0.0.1', Number(port))).toBe('connected');
    });

    it(`${name} ${expectLoopbackOnly ? 'refuses' : 'still accepts (documented)'} connections on other addresses`, async () => {
      for (const address of otherAddresses()) {
        const outcome = await tryConnect(address, Number(port));
        if (expectLoopbackOnly) expect(outcome, `${name} on ${address}:${port}`).toBe('ECONNREFUSED');
        else expect(outcome, `${name} on ${address}:${port}`).toBe('connected');
      }
    });
  }

  it('binds DynamoDB Local to loopback whenever a JDK compiler (javac) is installed', () => {
    const javac = spawnSync('javac', ['-version'], { encoding: 'utf8' });
    expect(inject('dynamoLoopbackOnly')).toBe(javac.error === undefined && javac.status === 0);
  });
});
