/**
 * Sign-in with the authorization code flow and PKCE (S256), as Cognito's managed login
 * expects from a public client: the issuer's endpoints come from its discovery document;
 * the verifier, `state` and where to return wait in sessionStorage during the round trip.
 */
import type { ConsoleConfig } from '../config';
import { randomToken, s256Challenge } from './pkce';
import type { Session } from './tokens';

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

const PENDING = 'tributary.signin';

interface Pending {
  state: string;
  verifier: string;
  returnTo: string;
}

let discovered: Promise<Discovery> | null = null;

export function discover(issuer: string): Promise<Discovery> {
  discovered ??= fetch(`${issuer}/.well-known/openid-configuration`).then(async (response) => {
    if (!response.ok) throw new Error(`The sign-in service answered ${response.status}`);
    return (await response.json()) as Discovery;
  });
  discovered.catch(() => (discovered = null));
  return discovered;
}

/** The console's registered redirect URI: `<origin><base>callback`. */
export function redirectUri(origin = location.origin, base = import.meta.env.BASE_URL): string {
  return `${origin}${base}callback`;
}

export async function authorizeUrl(config: ConsoleConfig, returnTo: string, storage: Storage = sessionStorage): Promise<string> {
  const { authorization_endpoint } = await discover(config.Issuer);
  const pending: Pending = { state: randomToken(16), verifier: randomToken(32), returnTo };
  storage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.ClientId,
    redirect_uri: redirectUri(),
    scope: 'openid profile email',
    state: pending.state,
    code_challenge: await s256Challenge(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

export class SignInError extends Error {}

/** Handles `<base>callback?code=…&state=…`: the code for tokens, once, for the state we sent. */
export async function completeSignIn(config: ConsoleConfig, query: URLSearchParams, storage: Storage = sessionStorage): Promise<{ session: Session; returnTo: string }> {
  const text = storage.getItem(PENDING);
  storage.removeItem(PENDING);
  const pending = text ? (JSON.parse(text) as Pending) : null;
  if (query.get('error')) throw new SignInError(`${query.get('error')}: ${query.get('error_description') ?? 'sign-in refused'}`);
  if (!pending || !query.get('state') || query.get('state') !== pending.state) {
    throw new SignInError('This sign-in answer does not match a sign-in started in this tab. Start again.');
  }
  const code = query.get('code');
  if (!code) throw new SignInError('The sign-in answer carries no code.');
  const session = await tokenRequest(config, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri(),
    client_id: config.ClientId,
    code_verifier: pending.verifier,
  });
  return { session, returnTo: pending.returnTo };
}

export function refreshSession(config: ConsoleConfig, session: Session): Promise<Session> {
  if (!session.refreshToken) return Promise.reject(new SignInError('The session has no refresh token.'));
  return tokenRequest(config, { grant_type: 'refresh_token', refresh_token: session.refreshToken, client_id: config.ClientId }).then((fresh) => ({
    ...fresh,
    // A refresh answer need not carry a new refresh token (Cognito's does not).
    refreshToken: fresh.refreshToken ?? session.refreshToken,
  }));
}

async function tokenRequest(config: ConsoleConfig, form: Record<string, string>): Promise<Session> {
  const { token_endpoint } = await discover(config.Issuer);
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new SignInError(`${body.error ?? response.status}: ${body.error_description ?? 'the token request was refused'}`);
  }
  return {
    kind: 'signin',
    accessToken: body.access_token,
    idToken: typeof body.id_token === 'string' ? body.id_token : undefined,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
    expiresAt: Date.now() + Number(body.expires_in ?? 3600) * 1000,
  };
}
