/**
 * The HTTP route table, derived from the manifest (manifest.ts): every route of every `http`
 * function, which function serves it and whether the authorizer runs in front of it, plus the
 * route keys and path parameters as types. The CDK stack builds the API's routes from it, the
 * local gateway dispatches with it, and each HTTP function's handler map is typed by it (a map
 * that misses or misnames one of its function's routes does not compile).
 */
import {
  functionsOfKind,
  type HttpFunctionName,
  type HttpMethod,
  type MANIFEST,
  type RouteKeyPattern,
} from './manifest.ts';

/** The route keys of one HTTP function, e.g. `'GET /v1/events' | 'GET /v1/events/{id}'` for `query`. */
export type RouteKeyOf<N extends HttpFunctionName> = (typeof MANIFEST)[N]['routes'][number]['route'];

/** Every route key of the API. */
export type RouteKey = RouteKeyOf<HttpFunctionName>;

type ParamNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? (Name extends `${infer Greedy}+` ? Greedy : Name) | ParamNames<Rest>
  : never;

/** The path parameters of a route key: `{ tenant_id: string; key_id: string }` for `DELETE /v1/tenants/{tenant_id}/keys/{key_id}`. */
export type PathParams<K extends string> = { readonly [P in ParamNames<K>]: string };

/** The names of a route key's path parameters, in order (`{name+}` counts as `name`). */
export const pathParamNames = (routeKey: string): string[] =>
  [...routeKey.matchAll(/\{([^}+]+)\+?\}/g)].map((match) => match[1] ?? '');

export interface RouteDefinition {
  readonly key: RouteKey;
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{name}` for a path parameter. */
  readonly path: string;
  readonly fn: HttpFunctionName;
  /** Whether the Lambda authorizer runs in front of the route. */
  readonly authorized: boolean;
  /** Why an unauthorized route may be called by anyone (the manifest's `public`). */
  readonly publicReason?: string;
}

const splitRouteKey = (key: RouteKeyPattern): { method: HttpMethod; path: string } => {
  const space = key.indexOf(' ');
  return { method: key.slice(0, space) as HttpMethod, path: key.slice(space + 1) };
};

/** Every route of the API, in manifest order. */
export const ROUTES: readonly RouteDefinition[] = functionsOfKind('http').flatMap(([fn, definition]) =>
  definition.routes.map((spec): RouteDefinition => {
    const publicReason = 'public' in spec ? spec.public : undefined;
    return {
      key: spec.route,
      ...splitRouteKey(spec.route),
      fn,
      authorized: publicReason === undefined,
      ...(publicReason === undefined ? {} : { publicReason }),
    };
  }),
);
