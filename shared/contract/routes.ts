/**
 * The routes the contract documents, read from the route table in this one place: when the
 * table's shape changes, `routesFromManifest` is the only code to adapt.
 */
import { ROUTES, type RouteKey } from '../config/routes.ts';

export interface ContractRoute {
  /** API Gateway route key: `GET /v1/events/{id}`. */
  readonly key: RouteKey;
  readonly method: string;
  /** API Gateway path syntax, which is also OpenAPI's: `{name}` for a path parameter. */
  readonly path: string;
  /** Whether the authorizer runs in front of it (a credential is needed). */
  readonly authorized: boolean;
}

export const routesFromManifest = (): ContractRoute[] =>
  ROUTES.map(({ key, method, path, authorized }) => ({ key, method, path, authorized }));

/** Every documented route: the route table's, in its order. */
export const contractRoutes = (): ContractRoute[] => routesFromManifest();
