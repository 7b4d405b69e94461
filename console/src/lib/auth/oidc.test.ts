import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { authorizeUrl, completeSignIn, refreshSession, SignInError } from './oidc';
import { s256Challenge } from './pkce';

const config = { ApiUrl: 'http://127.0.0.1:3000', Issuer: 'http://127.0.0.1:3000/_local/oidc', ClientId: 'tributary-console' };
const discovery = { authorization_endpoint: `${config.Issuer}/authorize`, token_endpoint: `${config.Issuer}/token` };

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('sign-in with PKCE', () => {
  const calls: { url: string; init?: RequestInit }[] = [];
  let tokenAnswer: Response;

  beforeEach(() => {
    sessionStorage.clear();
    calls.length = 0;
    tokenAnswer = answer(200, { access_token: 'access', id_token: 'id', refresh_token: 'refresh', expires_in: 3600, token_type: 'Bearer' });
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return url.endsWith('/.well-known/openid-configuration') ? answer(200, discovery) : tokenAnswer;
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('sends the browser to the issuer with an S256 challenge of a verifier it keeps, and a state', async () => {
    const url = new URL(await authorizeUrl(config, '/console/streams/s1?tab=data'));
    const pending = JSON.parse(sessionStorage.getItem('tributary.signin')!);
    expect(url.origin + url.pathname).toBe(discovery.authorization_endpoint);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'tributary-console',
      redirect_uri: `${location.origin}${import.meta.env.BASE_URL}callback`,
      code_challenge_method: 'S256',
      state: pending.state,
      code_challenge: await s256Challenge(pending.verifier),
    });
    expect(url.searchParams.has('code_verifier')).toBe(false);
    expect(pending.returnTo).toBe('/console/streams/s1?tab=data');
  });

  it('exchanges the code with the verifier, once, and returns where the user was', async () => {
    await authorizeUrl(config, '/console/jobs');
    const { state, verifier } = JSON.parse(sessionStorage.getItem('tributary.signin')!);
    const { session, returnTo } = await completeSignIn(config, new URLSearchParams({ code: 'c0de', state }));
    expect(returnTo).toBe('/console/jobs');
    expect(session).toMatchObject({ kind: 'signin', accessToken: 'access', idToken: 'id', refreshToken: 'refresh' });
    const exchange = calls.find((c) => c.url === discovery.token_endpoint)!;
    expect(Object.fromEntries(new URLSearchParams(String(exchange.init!.body)))).toEqual({
      grant_type: 'authorization_code',
      code: 'c0de',
      redirect_uri: `${location.origin}${import.meta.env.BASE_URL}callback`,
      client_id: 'tributary-console',
      code_verifier: verifier,
    });
    expect(sessionStorage.getItem('tributary.signin')).toBeNull();
  });

  it('refuses an answer whose state is not the one it sent', async () => {
    await authorizeUrl(config, '/console/');
    await expect(completeSignIn(config, new URLSearchParams({ code: 'c0de', state: 'forged' }))).rejects.toBeInstanceOf(SignInError);
    expect(calls.some((c) => c.url === discovery.token_endpoint)).toBe(false);
  });

  it("reports the issuer's error", async () => {
    await authorizeUrl(config, '/console/');
    const { state } = JSON.parse(sessionStorage.getItem('tributary.signin')!);
    await expect(completeSignIn(config, new URLSearchParams({ error: 'access_denied', error_description: 'no', state }))).rejects.toThrow('access_denied: no');
  });

  it('refreshes with the refresh token, keeping it when the answer carries none', async () => {
    tokenAnswer = answer(200, { access_token: 'access-2', id_token: 'id-2', expires_in: 3600 });
    const fresh = await refreshSession(config, { kind: 'signin', accessToken: 'access', refreshToken: 'refresh', expiresAt: 0 });
    expect(fresh).toMatchObject({ accessToken: 'access-2', refreshToken: 'refresh' });
    expect(fresh.expiresAt).toBeGreaterThan(Date.now());
    const body = new URLSearchParams(String(calls.find((c) => c.url === discovery.token_endpoint)!.init!.body));
    expect(Object.fromEntries(body)).toEqual({ grant_type: 'refresh_token', refresh_token: 'refresh', client_id: 'tributary-console' });
  });

  it('fails a refresh the issuer refuses', async () => {
    tokenAnswer = answer(400, { error: 'invalid_grant', error_description: 'refresh token expired' });
    await expect(refreshSession(config, { kind: 'signin', accessToken: 'a', refreshToken: 'r' })).rejects.toThrow('invalid_grant');
  });
});
