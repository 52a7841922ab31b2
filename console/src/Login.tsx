import { useState } from 'preact/hooks';
import { login } from './api.ts';

export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [attempts, setAttempts] = useState(0);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const failure = await login(password);
    setBusy(false);
    if (failure === null) onLoggedIn();
    else {
      setError(failure);
      setAttempts((n) => n + 1);
    }
  };
  return (
    <form class="login" onSubmit={submit}>
      <h1>Console</h1>
      <label>
        Password
        <input type="password" name="password" autoFocus value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {error !== null && (
        <p class="error" role="alert" data-attempt={attempts}>
          {error}
        </p>
      )}
      <p class="hint">CONSOLE_PASSWORD, or CALLS_API_TOKEN when no console password is set.</p>
    </form>
  );
}
