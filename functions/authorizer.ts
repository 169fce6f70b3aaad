/**
 * HTTP API Lambda authorizer (simple responses). It always allows the request through with
 * the resolved principal — or `anonymous` — in its context, so the handlers answer 401/403 as
 * problem+json (API Gateway's own deny would be a bare 403). Results are cached by API
 * Gateway per Authorization header (AUTHORIZER.cacheTtlSeconds).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { controlStore, operatorKey } from '#shared/adapters/control-wiring.ts';
import { type AuthorizerContext, toAuthorizerContext } from '#shared/domain/principal.ts';
import { authenticate, bearerToken } from '#shared/usecases/authenticate.ts';

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trailkeeper' });
const deps = { control: controlStore(), operatorKey };

export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<{ isAuthorized: boolean; context: AuthorizerContext }> => {
  const token = bearerToken(event.headers?.authorization ?? event.identitySource?.[0]);
  let principal: Awaited<ReturnType<typeof authenticate>>;
  try {
    principal = await authenticate(deps, token);
  } catch (error) {
    // The store or the secret could not be read: the caller should retry (503), not be told
    // its key is bad (401). In AWS this answer is cached like any other, for at most the TTL.
    logger.warn('authorizer dependency unavailable', {
      error: error instanceof Error ? error.name : 'Error',
    });
    return { isAuthorized: true, context: { kind: 'unavailable' } };
  }
  const context = toAuthorizerContext(
    principal,
    token === null ? 'malformed authorization header' : 'unknown or revoked key',
  );
  logger.info('authorized', { kind: context.kind, tenant_id: context.tenantId, key_id: context.keyId });
  return { isAuthorized: true, context };
};
