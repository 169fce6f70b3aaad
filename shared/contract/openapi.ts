/**
 * Builds the OpenAPI 3.1 document of the API: the routes of the route table (routes.ts), each
 * with its operation (operations.ts), rendered from the zod schemas by zod-openapi.
 *
 * Why zod-openapi (6.x) rather than @asteasolutions/zod-to-openapi: it has no dependencies and
 * reads zod 4's native `.meta()`, so the domain's schemas are documented by wrapping them, with
 * no registry to keep beside them and no monkey-patching of zod; zod-to-openapi (9.x) brings
 * openapi3-ts and its own registry API.
 */
import { type CreateDocumentOptions, createDocument } from 'zod-openapi';
import {
  type ContractOperation,
  OPERATIONS,
  OPERATOR_KEY,
  TENANT_KEY,
  VIEWER_SESSION,
} from './operations.ts';
import { contractRoutes } from './routes.ts';

export type OpenApiDocument = ReturnType<typeof createDocument>;

const DESCRIPTION = `Trailkeeper is a multi-tenant, tamper-evident audit log service. Tenant services send events; workspace owners search, filter and export them; anyone can verify that nothing was changed or removed.

**Authentication**: \`Authorization: Bearer <token>\` — a tenant API key (\`tk.<tenant id>.<key id>.<secret>\`, scopes \`events:write\`, \`events:read\`, \`exports:write\`, \`admin\`), the deployment's operator key (tenants and keys only), or a person's viewer-session token (a JWT from \`POST /v1/sessions\`: the read routes, and exports for roles that may export). Each operation's \`security\` names the scopes that admit it (any one of the listed requirements).

**Errors** are RFC 9457 \`application/problem+json\`: \`type\` (\`/problems/<slug>\`), \`title\`, \`status\`, \`detail\`, \`instance\` (the request id), and for validation errors and id conflicts an \`errors\` list naming each field (and batch index). Bad input never produces a 5xx; no answer carries a stack trace. A path the API does not serve answers 404 (\`not-found\`); a method it does not serve on a path, 405 (\`method-not-allowed\`, with \`Allow\`).

**Limits**: request bodies up to 1 MiB, sent as \`application/json\` (charset utf-8 at most); batches of up to 100 events; per-tenant request rates by plan (429 with \`Retry-After\`).`;

/** Rendering choices for the whole document. */
const RENDERING: CreateDocumentOptions = {
  // A standard format says it all: zod's long regular expressions for them only add noise.
  override: ({ jsonSchema }) => {
    const format = (jsonSchema as { format?: unknown }).format;
    if (typeof format === 'string' && ['date-time', 'email', 'ipv4', 'ipv6', 'uri'].includes(format))
      delete (jsonSchema as { pattern?: unknown }).pattern;
  },
};

/** The operation of every documented route; throws when the route table has a route without one. */
const paths = () => {
  const result: Record<string, Record<string, ContractOperation>> = {};
  for (const route of contractRoutes()) {
    const operation = OPERATIONS[route.key];
    if (operation === undefined)
      throw new Error(`The route ${route.key} has no operation in shared/contract/operations.ts.`);
    result[route.path] = { ...result[route.path], [route.method.toLowerCase()]: operation };
  }
  return result;
};

/**
 * The document. `serverUrl`: the deployment's public URL; without one, `servers` is left out
 * (OpenAPI then resolves paths against wherever the document was fetched from).
 */
export const buildOpenApiDocument = (options: { serverUrl?: string } = {}): OpenApiDocument =>
  createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Trailkeeper API',
        version: 'v1',
        description: DESCRIPTION,
        license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
      },
      ...(options.serverUrl ? { servers: [{ url: options.serverUrl, description: 'This deployment' }] } : {}),
      tags: [
        { name: 'Events', description: 'Send and read audit events.' },
        { name: 'Exports', description: 'CSV, JSON and NDJSON files of the trail.' },
        { name: 'Integrity', description: 'Signed digests, inclusion proofs and the signing key.' },
        {
          name: 'Streams',
          description:
            "A tenant's events delivered to its SIEM as they arrive: signed webhooks, Splunk HEC, Datadog.",
        },
        {
          name: 'Alerts',
          description: "Rules on a tenant's events that notify by email, Slack or a signed webhook.",
        },
        { name: 'Tenants', description: 'Workspaces, their plans and settings (operator).' },
        { name: 'Keys', description: "A tenant's API keys." },
        {
          name: 'People',
          description:
            "Viewer sessions: the application's signed-in users reading their workspace's trail in the console.",
        },
        { name: 'Service', description: 'Liveness and this document.' },
      ],
      paths: paths(),
      components: {
        securitySchemes: {
          [TENANT_KEY]: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'tk.<tenant id>.<key id>.<secret>',
            description:
              "A tenant's API key. It reaches only its own tenant's data, and only what its scopes (`events:write`, `events:read`, `exports:write`, `admin`) allow; a security requirement lists the scope it needs.",
          },
          [OPERATOR_KEY]: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'tk_op_…',
            description:
              "The deployment's root credential (AWS: a Secrets Manager secret made by the stack; locally printed by `npm start`). Tenants and keys only: it reads no tenant's events.",
          },
          [VIEWER_SESSION]: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              "A person's viewer-session token (ES256 JWT from `POST /v1/sessions`). What it may do comes from the person's role under the tenant's current access policy: `view` (the read routes; a team admin sees only their teams' events) and `export`.",
          },
        },
      },
    },
    RENDERING,
  );
