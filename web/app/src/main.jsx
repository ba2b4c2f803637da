// The app's shell: sign-in, the navigation and the page the address names (#/segments/x).
// What a page offers follows the key's scopes (`can`); the server enforces them anyway.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, forgetKey, storedKey } from './api.js';
import { Session, useRoute } from './session.js';
import { SignIn } from './pages/sign_in.jsx';
import { Overview } from './pages/overview.jsx';
import { Segments } from './pages/segments.jsx';
import { SegmentPage } from './pages/segment.jsx';
import { Schemes } from './pages/schemes.jsx';
import { Customer } from './pages/customer.jsx';
import { Live } from './pages/live.jsx';
import { Settings } from './pages/settings.jsx';
import { ThemeToggle } from './theme.jsx';
import { lazy } from './lazy.jsx';

const Builder = lazy(() => import('./pages/builder.jsx'), 'Builder');

const PAGES = [
  ['overview', 'Overview'],
  ['segments', 'Segments'],
  ['schemes', 'Schemes'],
  ['customers', 'Customers'],
  ['live', 'Live'],
  ['settings', 'Settings'],
];

function Page({ route }) {
  const [first, second, third] = route;
  switch (first) {
    case 'segments':
      if (second === 'new') return <Builder />;
      if (second && third === 'edit') return <Builder name={second} />;
      if (second) return <SegmentPage name={second} />;
      return <Segments />;
    case 'schemes':
      return <Schemes />;
    case 'customers':
      return <Customer id={second} />;
    case 'live':
      return <Live />;
    case 'settings':
      return <Settings />;
    default:
      return <Overview />;
  }
}

function App() {
  const [session, setSession] = useState(null);  // {key, id, name, scopes}
  const [checking, setChecking] = useState(Boolean(storedKey()));
  const route = useRoute();

  // A key kept from before is checked again (it may have been revoked since).
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    api('/v1/keys/self', { key })
      .then((self) => setSession({ key, ...self }))
      .catch(() => forgetKey())
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p class="loading">Checking your key…</p>;
  if (!session) return <SignIn onSignedIn={setSession} />;

  const signOut = () => {
    forgetKey();
    setSession(null);
  };
  const current = route[0] || 'overview';
  return (
    <Session.Provider value={session}>
      <header class="top">
        <a class="brand" href="#/overview">tailor</a>
        <nav aria-label="Pages">
          {PAGES.map(([page, label]) => (
            <a href={`#/${page}`} aria-current={current === page ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who" title={`scopes: ${session.scopes.join(', ')}`}>
          {session.name || session.id}
        </span>
        <ThemeToggle />
        <button type="button" class="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="page">
        <Page route={route} />
      </main>
    </Session.Provider>
  );
}

render(<App />, document.getElementById('app'));
