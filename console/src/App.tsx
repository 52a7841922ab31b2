import { useEffect, useState } from 'preact/hooks';
import { getJson, logout, Unauthorized } from './api.ts';
import { Login } from './Login.tsx';
import { useRoute } from './route.ts';
import { SoftphoneSlot } from './Softphone.slot.tsx';

type Auth = 'checking' | 'in' | 'out';

export function App() {
  const [auth, setAuth] = useState<Auth>('checking');
  const route = useRoute();
  useEffect(() => {
    getJson('/session').then(
      () => setAuth('in'),
      (err: unknown) => setAuth(err instanceof Unauthorized ? 'out' : 'in'),
    );
  }, []);
  if (auth === 'checking') return <p class="muted">Loading…</p>;
  if (auth === 'out') return <Login onLoggedIn={() => setAuth('in')} />;
  const signOut = async () => {
    await logout();
    setAuth('out');
  };
  return (
    <div class="layout">
      <header>
        <strong>Console</strong>
        <nav>
          <a href="#/live" class={route.page === 'live' ? 'active' : ''}>
            Live calls
          </a>
          <a href="#/calls" class={route.page === 'live' ? '' : 'active'}>
            Past calls
          </a>
        </nav>
        <button class="link" onClick={signOut}>
          Log out
        </button>
      </header>
      <main>
        {route.page === 'live' && <section class="live" />}
        {route.page === 'calls' && <section class="calls" />}
        {route.page === 'call' && <section class="call" />}
      </main>
      {/* The softphone ("Talk to your agent") lives in this side panel, on every page. */}
      <aside class="side">
        <SoftphoneSlot />
      </aside>
    </div>
  );
}
