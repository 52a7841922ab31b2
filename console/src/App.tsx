import { useCallback, useEffect, useState } from 'preact/hooks';
import type { ConsoleSessionInfo } from '../../src/console/session-types.ts';
import { getJson, logout, Unauthorized } from './api.ts';
import { CallPage } from './CallPage.tsx';
import { LiveCalls } from './LiveCalls.tsx';
import { useLiveCalls } from './live.ts';
import { Login } from './Login.tsx';
import { PastCalls } from './PastCalls.tsx';
import { useRoute } from './route.ts';
import { SoftphoneSlot } from './Softphone.slot.tsx';

type Auth = 'checking' | 'in' | 'out';

export function App() {
  const [auth, setAuth] = useState<Auth>('checking');
  useEffect(() => {
    getJson('/session').then(
      () => setAuth('in'),
      (err: unknown) => setAuth(err instanceof Unauthorized ? 'out' : 'in'),
    );
  }, []);
  if (auth === 'checking') return <p class="muted">Loading…</p>;
  if (auth === 'out') return <Login onLoggedIn={() => setAuth('in')} />;
  return <Console onLoggedOut={() => setAuth('out')} />;
}

function Console({ onLoggedOut }: { onLoggedOut: () => void }) {
  const route = useRoute();
  const loggedOut = useCallback(onLoggedOut, []);
  // The feed stays open on every page: the live count in the header, and no snapshot to wait for when switching back.
  const { calls, status } = useLiveCalls(loggedOut);
  const [error, setError] = useState<string | null>(null);
  // What this server offers (an inspector to replay calls in), asked once.
  const [inspector, setInspector] = useState(false);
  useEffect(() => {
    getJson<ConsoleSessionInfo>('/session').then((info) => setInspector(info.inspector === true), () => setInspector(false));
  }, []);
  const onError = (err: unknown) => {
    if (err instanceof Unauthorized) loggedOut();
    else setError(err instanceof Error ? err.message : String(err));
  };
  const signOut = async () => {
    await logout();
    loggedOut();
  };
  return (
    <div class="layout">
      <header>
        <strong>Console</strong>
        <nav>
          <a href="#/live" class={route.page === 'live' ? 'active' : ''}>
            Live calls <span class="count">{calls.length}</span>
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
        {error !== null && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {route.page === 'live' && <LiveCalls calls={calls} status={status} />}
        {route.page === 'calls' && <PastCalls onError={onError} />}
        {route.page === 'call' && <CallPage callSid={route.callSid} inspector={inspector} onError={onError} />}
      </main>
      {/* The softphone ("Talk to your agent") lives in this side panel, on every page. */}
      <aside class="side">
        <SoftphoneSlot />
      </aside>
    </div>
  );
}
