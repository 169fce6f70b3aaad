/**
 * Builds the audit log console (console/src) with esbuild into `<outDir>/assets/`: one ES module
 * and one stylesheet, named by their content hash so they can be cached forever (S3 behind
 * CloudFront in AWS, the local gateway locally). The page shell that loads them is not a file: it
 * is rendered per tenant by the `console` function (its Content-Security-Policy names the tenant's
 * embed origins), which learns the asset paths and their SRI hashes from `assets.json`, written
 * here next to them.
 *
 * `npm run build:console` writes console/dist; `npm start`, the browser tests and `cdk synth`
 * call buildConsole themselves.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The URL path under which the assets are served (the CloudFront behaviour, the local gateway). */
export const CONSOLE_ASSETS_PATH = '/console/assets/';

/** What the page shell needs to load the console: asset URLs and their subresource-integrity hashes. */
export interface ConsoleAssets {
  readonly script: { readonly path: string; readonly integrity: string };
  readonly style: { readonly path: string; readonly integrity: string };
  /** Sizes for the README and the bench (bytes, and gzip -9 bytes). */
  readonly bytes: {
    readonly script: number;
    readonly scriptGzip: number;
    readonly style: number;
    readonly styleGzip: number;
  };
}

const here = dirname(fileURLToPath(import.meta.url));
export const CONSOLE_ENTRY = join(here, 'src', 'main.tsx');
export const DEFAULT_OUT_DIR = join(here, 'dist');

const sri = (bytes: Uint8Array): string => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

export const buildConsole = async (
  options: { outDir?: string; minify?: boolean } = {},
): Promise<ConsoleAssets> => {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const assetsDir = join(outDir, 'assets');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(assetsDir, { recursive: true });
  const result = await build({
    entryPoints: [CONSOLE_ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    entryNames: 'console-[hash]',
    outdir: assetsDir,
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs);
  const find = (ext: string): string => {
    const file = outputs.find((path) => path.endsWith(ext));
    if (file === undefined) throw new Error(`the console build wrote no ${ext} file`);
    return file;
  };
  const asset = async (file: string) => {
    const bytes = await readFile(file);
    return {
      entry: { path: `${CONSOLE_ASSETS_PATH}${basename(file)}`, integrity: sri(bytes) },
      size: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
    };
  };
  const script = await asset(find('.js'));
  const style = await asset(find('.css'));
  const assets: ConsoleAssets = {
    script: script.entry,
    style: style.entry,
    bytes: { script: script.size, scriptGzip: script.gzip, style: style.size, styleGzip: style.gzip },
  };
  await writeFile(join(outDir, 'assets.json'), `${JSON.stringify(assets, null, 2)}\n`);
  return assets;
};

/** Reads what a previous build wrote (`assets.json`), or undefined when there is none. */
export const readConsoleAssets = async (outDir = DEFAULT_OUT_DIR): Promise<ConsoleAssets | undefined> => {
  try {
    return JSON.parse(await readFile(join(outDir, 'assets.json'), 'utf8')) as ConsoleAssets;
  } catch {
    return undefined;
  }
};

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const assets = await buildConsole();
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  process.stdout.write(
    `console built in ${relative(process.cwd(), DEFAULT_OUT_DIR)}: script ${kib(assets.bytes.script)} (${kib(assets.bytes.scriptGzip)} gzipped), style ${kib(assets.bytes.style)} (${kib(assets.bytes.styleGzip)} gzipped)\n`,
  );
}
