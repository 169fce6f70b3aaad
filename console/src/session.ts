/**
 * Who is signed in, and how the page learns it: the shell's config block, the viewer-session
 * link's `#code=` (exchanged once, then removed from the address bar), the emailed export link's
 * `#export=`, and the session kept in sessionStorage (per tenant; never a cookie, never a URL).
 * When the session ends the page says so and, when it is framed, tells the embedding page — only
 * at the tenant's listed origins, never `*`.
 */
import type { Session } from './api.ts';

export interface ConsoleConfig {
  readonly tenant_id: string;
  readonly embed_origins: readonly string[];
  readonly app_url: string | null;
}

export const readConfig = (): ConsoleConfig => {
  const text = document.getElementById('trailkeeper-config')?.textContent ?? '';
  try {
    const parsed = JSON.parse(text) as Partial<ConsoleConfig>;
    return {
      tenant_id: typeof parsed.tenant_id === 'string' ? parsed.tenant_id : '',
      embed_origins: Array.isArray(parsed.embed_origins)
        ? parsed.embed_origins.filter((o): o is string => typeof o === 'string')
        : [],
      app_url: typeof parsed.app_url === 'string' ? parsed.app_url : null,
    };
  } catch {
    return { tenant_id: '', embed_origins: [], app_url: null };
  }
};

/** What the fragment asks for: a sign-in code, an export to download, or nothing. */
export interface FragmentIntent {
  readonly code?: string;
  readonly exportId?: string;
}

export const readFragment = (hash: string): FragmentIntent => {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const code = params.get('code') ?? undefined;
  const exportId = params.get('export') ?? undefined;
  return {
    ...(code !== undefined && code !== '' ? { code } : {}),
    ...(exportId !== undefined && /^exp_[0-9a-z]{26}$/.test(exportId) ? { exportId } : {}),
  };
};

/** Removes the fragment (the one-time code) from the address bar and the history entry. */
export const clearFragment = (): void => {
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
};

const storageKey = (tenantId: string): string => `trailkeeper:session:${tenantId}`;

export const storeSession = (tenantId: string, session: Session): void => {
  try {
    sessionStorage.setItem(storageKey(tenantId), JSON.stringify(session));
  } catch {
    // Blocked storage: the session lives in memory for this page only.
  }
};

export const forgetSession = (tenantId: string): void => {
  try {
    sessionStorage.removeItem(storageKey(tenantId));
  } catch {
    // Nothing stored.
  }
};

export const isExpired = (session: Session, now = Date.now()): boolean =>
  Date.parse(session.expires_at) <= now;

export const loadSession = (tenantId: string): Session | undefined => {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(storageKey(tenantId)) ?? 'null') as Session | null;
    if (parsed === null || typeof parsed.token !== 'string' || typeof parsed.expires_at !== 'string')
      return undefined;
    return parsed;
  } catch {
    return undefined;
  }
};

/** Tells the embedding page (only at the tenant's listed origins) that the session ended. */
export const announceSessionEnd = (config: ConsoleConfig): void => {
  if (window.parent === window) return;
  for (const origin of config.embed_origins) {
    try {
      window.parent.postMessage({ type: 'trailkeeper:session-expired' }, origin);
    } catch {
      // A malformed origin: skip it, never fall back to '*'.
    }
  }
};
