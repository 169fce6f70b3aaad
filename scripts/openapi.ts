/**
 * `npm run openapi`: writes the API's OpenAPI 3.1 document to `openapi.json` at the repository
 * root and formats it with the repository's formatter (biome), so `npm run lint` accepts it as
 * written. test/unit/openapi.test.ts fails when the committed file is not the generated document.
 * `npm run -s openapi -- --stdout` prints the document instead (unformatted).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '#shared/contract/openapi.ts';

export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));
const BIOME = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));

/** The document as JSON text (2-space indentation, a final newline). */
export const openApiJson = (): string => `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--stdout')) process.stdout.write(openApiJson());
  else {
    writeFileSync(OPENAPI_FILE, openApiJson());
    execFileSync(BIOME, ['format', '--write', OPENAPI_FILE], { stdio: 'ignore' });
    console.log(`wrote ${OPENAPI_FILE}`);
  }
}
