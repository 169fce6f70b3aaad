/**
 * Response shapes, built in one place: JSON bodies and RFC 9457 problem documents.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpError } from '../errors.ts';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...SECURITY_HEADERS, ...headers },
  body: JSON.stringify(body),
});

export const noContent = (): HttpResult => ({ statusCode: 204, headers: { ...SECURITY_HEADERS } });

export const problem = (error: HttpError, instance?: string): HttpResult => ({
  statusCode: error.status,
  headers: { 'content-type': 'application/problem+json', ...SECURITY_HEADERS },
  body: JSON.stringify({
    type: `/problems/${error.slug}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    ...(instance === undefined ? {} : { instance }),
    ...error.extra,
  }),
});
