// CloudFront Function (cloudfront-js-2.0), viewer request of the `/console/t/*` behaviour: every
// page path of a tenant's console (`/console/t/<id>/`, with or without the slash, or any deeper
// path a bookmark may hold) is served by the one page-shell route, `GET /console/t/{tenant_id}`.
// The query string (the console's filters) and the fragment (never sent) are left as they are.
// The local gateway runs this same file (infra/local/edge.ts), so both stacks route alike.

// biome-ignore lint/correctness/noUnusedVariables: CloudFront calls the top-level `handler`.
function handler(event) {
  const request = event.request;
  const match = /^\/console\/t\/([^/]+)(\/.*)?$/.exec(request.uri);
  if (match) request.uri = `/console/t/${match[1]}`;
  return request;
}
