/** `<base>callback`: the issuer sends the browser back here with a code for our tokens. */
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { completeSignIn } from '../../lib/auth/oidc';
import { config, startSession } from '../../lib/session';
import { Loading } from '../../components/States';

export function Callback() {
  const [problem, setProblem] = useState<string | null>(null);
  const { route } = useLocation();
  useEffect(() => {
    const query = new URLSearchParams(location.search);
    // The code leaves the address bar and the history at once.
    history.replaceState(null, '', import.meta.env.BASE_URL + 'callback');
    completeSignIn(config.value!, query).then(
      ({ session, returnTo }) => {
        startSession(session);
        route(returnTo.startsWith(import.meta.env.BASE_URL) ? returnTo : import.meta.env.BASE_URL, true);
      },
      (error: Error) => setProblem(error.message),
    );
  }, []);
  return (
    <main id="main" class="signin">
      <div class="signin-card">
        <h1>Signing in</h1>
        {problem ? (
          <div role="alert">
            <p class="field-error">{problem}</p>
            <a class="button" href={import.meta.env.BASE_URL}>
              Back to sign-in
            </a>
          </div>
        ) : (
          <Loading label="Finishing sign-in…" />
        )}
      </div>
    </main>
  );
}
