/**
 * The README's API examples, run literally: every `sh` block of "Send events" and each command of
 * "Read events" is executed with bash and curl against the local stack, with the variables the
 * README tells a newcomer to export. The read examples must each find the example data.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operator, type TestTenant } from './client.ts';

const run = promisify(execFile);
const README = new URL('../../README.md', import.meta.url);

/** The `sh` code blocks of the README section whose heading starts with `heading`. */
const blocksOf = (markdown: string, heading: string): string[] => {
  const start = markdown.split('\n').findIndex((line) => /^#{2,4} /.test(line) && line.includes(heading));
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const lines = markdown.split('\n').slice(start + 1);
  const end = lines.findIndex((line) => /^#{2,4} /.test(line));
  const section = (end === -1 ? lines : lines.slice(0, end)).join('\n');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
};

/** The `ts` code blocks of the README section whose heading starts with `heading`. */
const tsBlocksOf = (markdown: string, heading: string): string[] => {
  const start = markdown.split('\n').findIndex((line) => /^#{2,4} /.test(line) && line.includes(heading));
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const lines = markdown.split('\n').slice(start + 1);
  const end = lines.findIndex((line) => /^#{2,4} /.test(line));
  const section = (end === -1 ? lines : lines.slice(0, end)).join('\n');
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
};

/** Joins backslash-continued lines and drops comments: one shell command per entry. */
const commandsOf = (block: string): string[] =>
  block
    .replace(/\\\n\s*/g, ' ')
    .split(/\n(?=curl )/)
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith('#'));

let tenant: TestTenant;
let markdown: string;

const sh = async (command: string): Promise<unknown> => {
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', command], {
    env: { ...process.env, URL: baseUrl(), OP: operator(), KEY: tenant.key, TENANT: tenant.id },
  });
  return JSON.parse(stdout);
};

beforeAll(async () => {
  tenant = await createTenant();
  markdown = await readFile(README, 'utf8');
});

describe('README, followed literally', () => {
  it('sends the example events', async () => {
    const blocks = blocksOf(markdown, 'Send events');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      for (const command of commandsOf(block)) {
        const reply = (await sh(command)) as { id?: string; data?: unknown[] };
        expect(reply.id ?? reply.data, command).toBeDefined();
      }
    }
  });

  it('finds the example data with every read example', async () => {
    const [block] = blocksOf(markdown, 'Read events');
    const commands = commandsOf(block ?? '');
    expect(commands.length).toBeGreaterThanOrEqual(4);
    for (const command of commands) {
      const reply = (await sh(command)) as { id?: string; data?: unknown[] };
      if (reply.data !== undefined) expect(reply.data.length, command).toBeGreaterThan(0);
      else expect(reply.id, command).toBeDefined();
    }
  });

  it('runs the typed client example as printed', async () => {
    const [example] = tsBlocksOf(markdown, 'The typed client');
    expect(example).toContain("from './client/index.ts'");
    const client = fileURLToPath(new URL('../../client/index.ts', import.meta.url));
    const dir = await mkdtemp(join(tmpdir(), 'tk-readme-'));
    try {
      // .mts: an ES module wherever it lies (top-level await, as in the README).
      const file = join(dir, 'example.mts');
      await writeFile(file, (example ?? '').replace("'./client/index.ts'", JSON.stringify(client)));
      const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
      const { stdout } = await run(tsx, [file], {
        env: { ...process.env, URL: baseUrl(), KEY: tenant.key },
      });
      const lines = stdout.trim().split('\n');
      // The sent event is listed, and the export holds the tenant's member.* events.
      expect(lines.some((line) => line.endsWith(' member.invited'))).toBe(true);
      const [rows, url] = (lines.at(-1) ?? '').split(' ');
      expect(Number(rows)).toBeGreaterThan(0);
      expect(url).toMatch(/\/v1\/exports\/[^/]+\/download$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
