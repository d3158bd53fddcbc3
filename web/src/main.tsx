/** The portwarden dashboard: navigation, the token prompt, and the page the URL names. */
import { StrictMode, type FormEvent, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { getToken, setToken } from './api';
import { AlertsPage } from './pages/Alerts';
import { IntegrityPage } from './pages/Integrity';
import { InventoryPage } from './pages/Inventory';
import { Overview } from './pages/Overview';
import { PoliciesPage } from './pages/Policies';
import { Search } from './pages/Search';
import { StoryPage } from './pages/Story';
import { useSession } from './hooks';
import { PAGES, type Page, href, useRoute } from './router';
import './styles.css';

const TITLES: Record<Page, string> = {
  overview: 'Overview',
  search: 'Search',
  story: 'Connection story',
  policies: 'Policies',
  integrity: 'Integrity',
  alerts: 'Alerts',
  inventory: 'Inventory',
};

function TokenPrompt(props: { readonly onDone: () => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setToken(value.trim());
    props.onDone();
  };
  return (
    <form className="token" onSubmit={submit}>
      <p>This API needs a bearer token (kept in this tab only).</p>
      <input
        type="password"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="token"
        autoFocus
      />
      <button type="submit">Use token</button>
    </form>
  );
}

/** Pages of a gateway's own state, absent on the central API. */
const GATEWAY_ONLY: readonly Page[] = ['policies', 'inventory'];

function App() {
  const route = useRoute();
  const session = useSession();
  const central = session?.central === true;
  const [needToken, setNeedToken] = useState(false);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const on = (): void => setNeedToken(true);
    window.addEventListener('portwarden:unauthorized', on);
    return () => window.removeEventListener('portwarden:unauthorized', on);
  }, []);
  return (
    <div className="app">
      <nav>
        <span className="brand">portwarden</span>
        {central && (
          <span className="pill on" data-testid="central-badge">
            central · {session.nodes?.length ?? 0} nodes
          </span>
        )}
        {PAGES.filter((p) => !central || !GATEWAY_ONLY.includes(p)).map((p) => (
          <a key={p} href={href(p)} className={route.page === p ? 'active' : ''}>
            {TITLES[p]}
          </a>
        ))}
        {getToken() !== null && (
          <button
            className="link"
            onClick={() => {
              setToken(null);
              setGeneration((g) => g + 1);
            }}
          >
            forget token
          </button>
        )}
      </nav>
      {needToken && (
        <TokenPrompt
          onDone={() => {
            setNeedToken(false);
            setGeneration((g) => g + 1);
          }}
        />
      )}
      <main key={generation}>
        {route.page === 'overview' && <Overview />}
        {route.page === 'search' && <Search params={route.params} />}
        {route.page === 'story' && <StoryPage params={route.params} />}
        {route.page === 'policies' && <PoliciesPage />}
        {route.page === 'integrity' && <IntegrityPage />}
        {route.page === 'alerts' && <AlertsPage />}
        {route.page === 'inventory' && <InventoryPage />}
      </main>
    </div>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
