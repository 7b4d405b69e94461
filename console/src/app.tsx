/** The console's frame: sign-in when needed, else the header, navigation and the page. */
import { ErrorBoundary, lazy, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { DialogHost } from './components/Dialog';
import { endSession, session, signedInAs } from './lib/session';
import { setShowUtc, showUtc } from './lib/time';
import { Callback } from './pages/signin/Callback';
import { SignIn } from './pages/signin/SignIn';
import { StreamsList } from './pages/streams/StreamsList';
import { CreateStream } from './pages/streams/CreateStream';
import { NotFound } from './pages/NotFound';

const BASE = import.meta.env.BASE_URL;

// Heavier screens load when first opened, keeping the first load small.
const StreamPage = lazy(() => import('./pages/stream/StreamPage'));
const ConsumerPage = lazy(() => import('./pages/consumer/ConsumerPage'));
const CreateConsumer = lazy(() => import('./pages/consumer/CreateConsumer'));
const TransformEditor = lazy(() => import('./pages/transform/TransformEditor'));
const DatasetsList = lazy(() => import('./pages/datasets/DatasetsList'));
const DatasetPage = lazy(() => import('./pages/datasets/DatasetPage'));
const JobsList = lazy(() => import('./pages/jobs/JobsList'));
const JobPage = lazy(() => import('./pages/jobs/JobPage'));

export function App() {
  return (
    <LocationProvider scope={BASE}>
      <div id="shell">
        <Shell />
      </div>
      <DialogHost />
    </LocationProvider>
  );
}

function Shell() {
  const { path, url } = useLocation();
  if (path === `${BASE}callback`) return <Callback />;
  if (!session.value) return <SignIn returnTo={path === BASE || path === BASE.slice(0, -1) ? BASE : url} />;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Router>
            <Route path={BASE} component={StreamsList} />
            <Route path={`${BASE}streams`} component={StreamsList} />
            <Route path={`${BASE}streams/new`} component={CreateStream} />
            <Route path={`${BASE}streams/:streamId`} component={StreamPage} />
            <Route path={`${BASE}streams/:streamId/consumers/new`} component={CreateConsumer} />
            <Route path={`${BASE}streams/:streamId/consumers/:consumerId`} component={ConsumerPage} />
            <Route path={`${BASE}streams/:streamId/transforms/new`} component={TransformEditor} />
            <Route path={`${BASE}streams/:streamId/transforms/:transformId`} component={TransformEditor} />
            <Route path={`${BASE}datasets`} component={DatasetsList} />
            <Route path={`${BASE}datasets/:datasetId`} component={DatasetPage} />
            <Route path={`${BASE}jobs`} component={JobsList} />
            <Route path={`${BASE}jobs/:jobId`} component={JobPage} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </>
  );
}

function Header() {
  const { path, route } = useLocation();
  const who = signedInAs.value;
  const section = path.startsWith(`${BASE}datasets`) ? 'datasets' : path.startsWith(`${BASE}jobs`) ? 'jobs' : 'streams';
  const link = (id: string, label: string, href: string) => (
    <a href={href} aria-current={section === id ? 'page' : undefined} class={section === id ? 'current' : undefined}>
      {label}
    </a>
  );
  return (
    <header class="topbar">
      <a class="brand" href={BASE}>
        <span class="brand-mark" aria-hidden="true">
          ≋
        </span>{' '}
        Tributary
      </a>
      <nav aria-label="Sections" class="sections">
        {link('streams', 'Streams', BASE)}
        {link('datasets', 'Datasets', `${BASE}datasets`)}
        {link('jobs', 'Jobs', `${BASE}jobs`)}
      </nav>
      <div class="topbar-end">
        <label class="switch">
          <input type="checkbox" role="switch" checked={showUtc.value} onChange={(e) => setShowUtc(e.currentTarget.checked)} />
          <span>UTC times</span>
        </label>
        {who && (
          <span class="who" title={who.tenant ? `tenant ${who.tenant}` : undefined}>
            {who.user}
            {who.tenant && <span class="muted"> · tenant {who.tenant}</span>}
          </span>
        )}
        <button
          type="button"
          class="button small"
          onClick={() => {
            endSession();
            route(BASE);
          }}
        >
          Sign out
        </button>
      </div>
    </header>
  );
}
