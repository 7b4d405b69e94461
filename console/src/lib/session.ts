/** Who is signed in, app-wide: the configuration, the session and its refresh. */
import { computed, signal } from '@preact/signals';
import type { ConsoleConfig } from './config';
import { refreshSession } from './auth/oidc';
import { claimsOf, needsRefresh, tokenStore, type Session } from './auth/tokens';

export const config = signal<ConsoleConfig | null>(null);
const store = tokenStore();
export const session = signal<Session | null>(store.load());

export const signedInAs = computed(() => {
  const current = session.value;
  if (!current) return null;
  if (current.kind === 'token') return { user: 'token', tenant: null as string | null };
  const claims = { ...claimsOf(current.accessToken), ...claimsOf(current.idToken) };
  const user = String(claims['cognito:username'] ?? claims.username ?? claims.sub ?? 'signed in');
  return { user, tenant: typeof claims.tenant === 'string' ? claims.tenant : null };
});

export function startSession(next: Session): void {
  store.save(next);
  session.value = next;
}

export function endSession(): void {
  store.clear();
  session.value = null;
}

let refreshing: Promise<Session | null> | null = null;

/** The access token to send now, refreshed first when it is about to expire. */
export async function accessToken(): Promise<string | null> {
  const current = session.value;
  if (!current) return null;
  if (!needsRefresh(current) || !config.value) return current.accessToken;
  refreshing ??= refreshSession(config.value, current)
    .then((fresh) => (startSession(fresh), fresh))
    .catch(() => (endSession(), null))
    .finally(() => (refreshing = null));
  return (await refreshing)?.accessToken ?? null;
}
