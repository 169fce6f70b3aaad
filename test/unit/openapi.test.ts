import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import type { ZodOpenApiResponseObject } from 'zod-openapi';
import * as ex from '#shared/contract/examples.ts';
import { buildOpenApiDocument } from '#shared/contract/openapi.ts';
import { JSON_TYPE, OPERATIONS, PROBLEM_TYPE } from '#shared/contract/operations.ts';
import { contractRoutes, routesFromManifest } from '#shared/contract/routes.ts';
import { eventSchema, exportSchema, PROBLEM_TYPES, tenantSchema } from '#shared/contract/schemas.ts';
import { serveOpenApi } from '#shared/contract/serve.ts';
import type { ApiRequest } from '#shared/http/middleware.ts';
import { OPENAPI_FILE, openApiJson } from '../../scripts/openapi.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, any>;

/** Route keys (`GET /v1/events`) of every operation of a document. */
const operationKeys = (document: Json): string[] =>
  Object.entries(document.paths as Json).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => HTTP_METHODS.includes(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );

const operations = Object.entries(OPERATIONS);

const isSuccess = (status: string) => status.startsWith('2') || status.startsWith('3');

/** Every example of a media type object, by name. */
const examplesOf = (media: { examples?: Json; example?: unknown }): [string, unknown][] => [
  ...Object.entries(media.examples ?? {}).map(([name, example]): [string, unknown] => [name, example.value]),
  ...(media.example === undefined ? [] : [['example', media.example] as [string, unknown]]),
];

const validate = async (document: unknown) => {
  const validator = new Validator();
  const result = await validator.validate(document as Record<string, unknown>);
  return { ...result, version: validator.version };
};

const request = (baseUrl: string): ApiRequest => ({
  routeKey: 'GET /v1/openapi.json',
  principal: null,
  body: undefined,
  query: {},
  params: {},
  baseUrl,
  requestId: 'test',
  annotate: () => {},
});

describe('the committed openapi.json', () => {
  it('is the document the code generates', () => {
    const committed: unknown = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    expect(committed, 'openapi.json is stale: run `npm run openapi` and commit it').toEqual(
      JSON.parse(openApiJson()),
    );
  });
});

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument() as Json;

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(result.version).toBe('3.1');
  });

  it('fails validation when broken (the validator can fail)', async () => {
    const broken = structuredClone(document);
    broken.paths['/health'].get.responses['200'].content = 'application/json';
    expect((await validate(broken)).valid).toBe(false);
  });

  it('is the same document every time it is built', () => {
    expect(buildOpenApiDocument()).toEqual(document);
  });

  it('has exactly one operation for every route of the route table, and nothing else', () => {
    const documented = operationKeys(document);
    const routed = contractRoutes().map((route) => route.key);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...routed].sort());
    for (const route of routesFromManifest()) expect(documented).toContain(route.key);
    expect(Object.keys(OPERATIONS).sort()).toEqual([...routed].sort());
  });

  it('asks a credential exactly where the authorizer runs, and names the scopes of tenant keys', () => {
    for (const route of contractRoutes()) {
      const operation = document.paths[route.path][route.method.toLowerCase()];
      expect(Array.isArray(operation.security), route.key).toBe(true);
      expect(operation.security.length > 0, `${route.key} security`).toBe(route.authorized);
      for (const requirement of operation.security) {
        for (const [scheme, scopes] of Object.entries(requirement as Record<string, string[]>)) {
          expect(Object.keys(document.components.securitySchemes)).toContain(scheme);
          if (scheme === 'tenantKey') expect(scopes.length, `${route.key} scopes`).toBe(1);
        }
      }
    }
  });

  it('names every operation uniquely', () => {
    const ids = operations.map(([, operation]) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('operations', () => {
  it.each(operations)(
    '%s: every success answer has examples that parse with its schema',
    (_key, operation) => {
      const successes = Object.entries(operation.responses).filter(([status]) => isSuccess(status));
      expect(successes.length).toBeGreaterThan(0);
      for (const [status, response] of successes) {
        if (status === '204') {
          expect(response.content).toBeUndefined();
          continue;
        }
        if (status === '302') {
          const location = (response.headers as z.ZodObject).shape.Location as z.ZodType;
          expect(location.meta()?.example).toBeDefined();
          expect(location.parse(location.meta()?.example)).toBeDefined();
          continue;
        }
        // JSON for every answer but the console's page shell (text/html).
        const mediaTypes = Object.keys(response.content ?? {});
        expect(mediaTypes.length, `${status} media types`).toBeGreaterThan(0);
        for (const mediaType of mediaTypes) {
          const media = response.content?.[mediaType] ?? {};
          const schema = media.schema as z.ZodType;
          expect(schema, `${status} ${mediaType} schema`).toBeDefined();
          const examples = examplesOf(media as Json);
          expect(examples.length, `${status} ${mediaType} examples`).toBeGreaterThan(0);
          for (const [name, value] of examples) {
            expect(schema.safeParse(value).error, `${status} example ${name}`).toBeUndefined();
          }
        }
      }
    },
  );

  it.each(operations)('%s: every request body example parses with its schema', (_key, operation) => {
    const media = operation.requestBody?.content[JSON_TYPE];
    if (media === undefined) {
      expect(operation.requestBody).toBeUndefined();
      return;
    }
    const examples = examplesOf(media as Json);
    expect(examples.length).toBeGreaterThan(0);
    for (const [name, value] of examples) {
      expect((media.schema as z.ZodType).safeParse(value).error, name).toBeUndefined();
    }
  });

  it.each(operations)('%s: lists its problem answers, each with an example of its type', (key, operation) => {
    const route = contractRoutes().find((r) => r.key === key);
    const statuses = Object.keys(operation.responses);
    const expected = ['500', '503'];
    if (route?.authorized) expected.push('401', '403', '429');
    if (operation.requestBody !== undefined) expected.push('400', '413', '415');
    if (operation.requestParams?.query !== undefined) expected.push('400');
    if (operation.requestParams?.path !== undefined) expected.push('404');
    for (const status of expected) expect(statuses, `${key} documents ${status}`).toContain(status);

    const problems = Object.entries(operation.responses).filter(([status]) => !isSuccess(status));
    for (const [status, response] of problems as [string, ZodOpenApiResponseObject][]) {
      const media = response.content?.[PROBLEM_TYPE] ?? {};
      const schema = media.schema as z.ZodType;
      expect(schema, `${key} ${status}`).toBeDefined();
      const examples = examplesOf(media as Json);
      expect(examples.length, `${key} ${status} examples`).toBeGreaterThan(0);
      for (const [name, value] of examples as [string, Json][]) {
        expect(schema.safeParse(value).error, `${key} ${status} ${name}`).toBeUndefined();
        const slug = String(value.type).replace('/problems/', '') as keyof typeof PROBLEM_TYPES;
        expect(PROBLEM_TYPES[slug], `${value.type} is a known problem type`).toBe(Number(status));
      }
      if (status === '429' || status === '503') {
        expect(Object.keys((response.headers as z.ZodObject).shape)).toContain('Retry-After');
      }
    }
  });
});

describe('response schemas', () => {
  it('refuse a field the API does not document', () => {
    expect(eventSchema.safeParse(ex.storedEvent).success).toBe(true);
    expect(eventSchema.safeParse({ ...ex.storedEvent, internal: 1 }).success).toBe(false);
    expect(tenantSchema.safeParse({ ...ex.tenant, custom_retention_days: null }).success).toBe(false);
    expect(exportSchema.safeParse({ ...ex.completedExport, object_key: 'x' }).success).toBe(false);
  });

  it('refuse a response missing a field', () => {
    const { hash: _hash, ...unhashed } = ex.storedEvent;
    expect(eventSchema.safeParse(unhashed).success).toBe(false);
  });
});

describe('GET /v1/openapi.json', () => {
  it('answers the document with the public URL as its server', async () => {
    const answer = await serveOpenApi(request('https://audit.example.com'));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers?.['content-type']).toBe('application/json');
    const body = JSON.parse(String(answer.body));
    expect(body.servers).toEqual([{ url: 'https://audit.example.com', description: 'This deployment' }]);
    const { servers: _servers, ...rest } = body;
    expect(rest).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
  });

  it('leaves servers out when no public URL is configured', async () => {
    const body = JSON.parse(String((await serveOpenApi(request(''))).body));
    expect(body.servers).toBeUndefined();
    expect(body.openapi).toBe('3.1.0');
  });
});
