/**
 * The routes the contract documents, read from the route table in this one place: when the
 * table's shape changes, `routesFromManifest` is the only code to adapt.
 */
import { ROUTES } from '../config/routes.ts';

export interface ContractRoute {
  /** API Gateway route key: `GET /v1/events/{id}`. */
  readonly key: string;
  readonly method: string;
  /** API Gateway path syntax, which is also OpenAPI's: `{name}` for a path parameter. */
  readonly path: string;
  /** Whether the authorizer runs in front of it (a credential is needed). */
  readonly authorized: boolean;
}

const routeOf = (method: string, path: string, authorized: boolean): ContractRoute => ({
  key: `${method} ${path}`,
  method,
  path,
  authorized,
});

export const routesFromManifest = (): ContractRoute[] =>
  ROUTES.map((route) => routeOf(route.method, route.path, route.authorized));

/**
 * Routes documented before the route table serves them. Remove an entry once the table has it
 * (a unit test fails until then).
 */
export const PENDING_ROUTES: readonly ContractRoute[] = [routeOf('GET', '/v1/openapi.json', false)];

/** Every documented route, in the route table's order, then the pending ones. */
export const contractRoutes = (): ContractRoute[] => {
  const routed = routesFromManifest();
  const keys = new Set(routed.map((route) => route.key));
  return [...routed, ...PENDING_ROUTES.filter((route) => !keys.has(route.key))];
};
