/**
 * Where the session's tokens live: sessionStorage (one tab, gone when it closes), never
 * localStorage nor a URL, so a token outlives neither the tab nor a shared link.
 */

export interface Session {
  /** What the API gets as `Authorization: Bearer`. */
  accessToken: string;
  idToken?: string;
  refreshToken?: string;
  /** Epoch milliseconds; absent for a static token. */
  expiresAt?: number;
  kind: 'signin' | 'token';
}

const KEY = 'tributary.session';

export interface TokenStore {
  load(): Session | null;
  save(session: Session): void;
  clear(): void;
}

export function tokenStore(storage: Storage = sessionStorage): TokenStore {
  return {
    load() {
      const text = storage.getItem(KEY);
      if (!text) return null;
      try {
        const session = JSON.parse(text) as Session;
        return typeof session.accessToken === 'string' && session.accessToken ? session : null;
      } catch {
        return null;
      }
    },
    save(session) {
      storage.setItem(KEY, JSON.stringify(session));
    },
    clear() {
      storage.removeItem(KEY);
    },
  };
}

/** Expired, or within `skewMs` of it: refresh before a request would be refused. */
export function needsRefresh(session: Session, now = Date.now(), skewMs = 60_000): boolean {
  return session.expiresAt !== undefined && session.expiresAt - skewMs <= now;
}

/** The claims of a JWT, unverified (the API verifies): for showing who is signed in. */
export function claimsOf(jwt: string | undefined): Record<string, unknown> {
  const payload = jwt?.split('.')[1];
  if (!payload) return {};
  try {
    const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const text = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}
