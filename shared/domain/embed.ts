/**
 * Embedding the console: the exact https origins a tenant lets frame it (`embed_origins`), the
 * tenant's own application URL (`app_url`, where people are sent to open the audit log again),
 * and the CSP `frame-ancestors` value the console's page shell sends. Pure, and free of zod (the
 * page shell may bundle it; the admin API's zod schemas in tenant-input.ts call these).
 */

/** Origins one tenant may list. */
export const MAX_EMBED_ORIGINS = 10;
/** Longest `app_url`. */
export const MAX_APP_URL_LENGTH = 2048;

/** A DNS name or IPv4 address, in the lower case URL() gives it: nothing a CSP header could misread. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `raw` is not an exact https origin, or its normalised form (lower-case host, no default port). */
export const parseEmbedOrigin = (raw: string): { origin: string } | { error: string } => {
  const invalid = {
    error: 'must be an exact https origin, e.g. https://app.example.com (no path, wildcard or credentials)',
  };
  // Checked on the text too: URL() would quietly accept and normalise some of these away.
  if (raw.length > 300 || /[\s*\\]/.test(raw) || !/^https:\/\/[^/?#]+\/?$/i.test(raw)) return invalid;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return invalid;
  }
  if (
    url.protocol !== 'https:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    !HOST.test(url.hostname)
  )
    return invalid;
  // URL.origin lower-cases the host and drops the default port (443).
  return { origin: url.origin };
};

/** Why `raw` is not an https URL the console may send people to, or the URL as given. */
export const parseAppUrl = (raw: string): { url: string } | { error: string } => {
  if (raw.length > MAX_APP_URL_LENGTH) return { error: `must be at most ${MAX_APP_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'must be an https URL' };
  }
  if (url.protocol !== 'https:' || url.hostname === '' || /\s/.test(raw))
    return { error: 'must be an https URL' };
  if (url.username !== '' || url.password !== '') return { error: 'must not hold credentials' };
  return { url: raw };
};

/**
 * The source list of the console's CSP `frame-ancestors` directive: the tenant's origins,
 * space-separated, or `'none'` when it lists none (nobody may frame the console).
 */
export const frameAncestors = (embedOrigins: readonly string[]): string => {
  // Stored origins are already valid; parsed again because this value goes into a header.
  const origins = [
    ...new Set(
      embedOrigins.flatMap((raw) => {
        const parsed = parseEmbedOrigin(raw);
        return 'origin' in parsed ? [parsed.origin] : [];
      }),
    ),
  ];
  return origins.length === 0 ? "'none'" : origins.join(' ');
};
