/**
 * Sign-in: through the issuer's page (the authorization code flow with PKCE), or with a
 * token (the static tokens of a local stack, or one a script obtained).
 */
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError } from '../../lib/api';
import { authorizeUrl } from '../../lib/auth/oidc';
import { config, endSession, startSession } from '../../lib/session';
import { Alert } from '../../components/States';

export function SignIn({ returnTo }: { returnTo: string }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [token, setToken] = useState('');
  const { route } = useLocation();
  useEffect(() => {
    document.title = 'Sign in · Tributary';
  }, []);

  const signIn = async () => {
    setBusy(true);
    setProblem(null);
    try {
      location.assign(await authorizeUrl(config.value!, returnTo));
    } catch (error) {
      setProblem(`The sign-in service could not be reached: ${(error as Error).message}`);
      setBusy(false);
    }
  };

  const useToken = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const value = token.trim();
    if (!value) return setProblem('Paste a token first.');
    setBusy(true);
    startSession({ kind: 'token', accessToken: value });
    // One cheap read proves the token before the console relies on it.
    const { response } = await api.GET('/streams', { params: { query: { Limit: 1 } } }).catch(() => ({ response: null }));
    setBusy(false);
    if (response?.ok) {
      route(returnTo, true);
      return;
    }
    endSession();
    setProblem(response?.status === 401 ? 'The API refused this token (401).' : new ApiError(response?.status ?? 0, {}).message);
  };

  return (
    <main id="main" class="signin">
      <div class="signin-card">
        <p class="brand-mark" aria-hidden="true">≋</p>
        <h1>Sign in to Tributary</h1>
        <p class="lead">Create streams, give producers their keys, transform records on the way and land them in datasets.</p>
        <Alert messages={problem ? [problem] : []} />
        <button type="button" class="button primary wide" onClick={signIn} disabled={busy}>
          Sign in
        </button>
        <details class="token-signin">
          <summary>Use a token instead</summary>
          <form onSubmit={useToken}>
            <div class="field">
              <label for="token">Token</label>
              <input id="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="token-help" />
              <p class="help" id="token-help">
                A bearer token the API accepts, such as a local stack's <code>dev-token</code>. It is kept in this tab only.
              </p>
            </div>
            <button type="submit" class="button" disabled={busy}>
              Use token
            </button>
          </form>
        </details>
      </div>
    </main>
  );
}
