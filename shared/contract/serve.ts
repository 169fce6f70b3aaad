/**
 * `GET /v1/openapi.json`: the OpenAPI document, public. Its `servers` is the deployment's public
 * URL (`request.baseUrl`, never a request header); the answer is built once per container and
 * base URL.
 */
import type { RouteHandler } from '../http/middleware.ts';
import { type HttpResult, json } from '../http/responses.ts';
import { buildOpenApiDocument } from './openapi.ts';

const answers = new Map<string, HttpResult>();

export const serveOpenApi: RouteHandler = async (request) => {
  let answer = answers.get(request.baseUrl);
  if (answer === undefined) {
    const document = buildOpenApiDocument(request.baseUrl === '' ? {} : { serverUrl: request.baseUrl });
    // Public and the same for every caller until the next deploy: caches may keep it a while.
    answer = json(200, document, { 'cache-control': 'public, max-age=300' });
    answers.set(request.baseUrl, answer);
  }
  return { ...answer, headers: { ...answer.headers } };
};
