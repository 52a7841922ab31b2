/** Requests to the console API (same origin; the session cookie rides along). 401 = logged out. */
import type { ReplayRefused, ReplayStarted } from '../../src/console/replay-types.ts';

export class Unauthorized extends Error {}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`/console/api${path}`, { headers: { Accept: 'application/json' } });
  if (res.status === 401) throw new Unauthorized('not logged in');
  if (!res.ok) throw new Error(await errorText(res));
  return (await res.json()) as T;
}

/** `null` on success, else the message to show. */
export async function login(password: string): Promise<string | null> {
  const res = await fetch('/console/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  if (res.ok) return null;
  if (res.status === 429) return 'Too many failed attempts — wait a minute.';
  if (res.status === 401) return 'Wrong password.';
  return await errorText(res);
}

/** Starts the call's replay in the server's Stately inspector: what started, or why not. */
export async function startReplay(callSid: string, speed: number): Promise<ReplayStarted | ReplayRefused> {
  const res = await fetch(`/console/api/calls/${encodeURIComponent(callSid)}/replay`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ speed }),
  });
  if (res.status === 401) throw new Unauthorized('not logged in');
  if (res.status === 202) return (await res.json()) as ReplayStarted;
  return { error: await errorText(res) };
}

export async function logout(): Promise<void> {
  // JSON, like every POST to the console (the server refuses anything else: no cross-site form can post).
  await fetch('/console/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
}

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: string };
    return body.error ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}
