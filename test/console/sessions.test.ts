/**
 * Console sessions over HTTP: signed with the server's random key (knowing the password is not enough to mint a
 * cookie, so a cookie reveals nothing to guess the password with), and a logout ends the sessions issued before it —
 * a copied cookie included.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';
import { SESSION_COOKIE } from '../../src/console/auth.js';

const PASSWORD = 'sessions-test-password-of-32-chars';

async function login(stack: OfflineStack): Promise<string> {
  const res = await fetch(`${stack.server.localUrl}/console/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

const sessionStatus = async (stack: OfflineStack, cookie: string): Promise<number> =>
  (await fetch(`${stack.server.localUrl}/console/api/session`, { headers: { Cookie: cookie } })).status;

const logout = (stack: OfflineStack, cookie?: string): Promise<Response> =>
  fetch(`${stack.server.localUrl}/console/logout`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(cookie === undefined ? {} : { Cookie: cookie }) },
    body: '{}',
  });

describe('console sessions', () => {
  let stack: OfflineStack;
  beforeAll(async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
  });
  afterAll(() => stack.close());

  it('a cookie keyed from the password alone (HMAC of the password) opens nothing', async () => {
    const payload = `${Date.now() + 3_600_000}.${'n'.repeat(16)}`;
    const key = createHmac('sha256', PASSWORD).update('console-session-v1').digest();
    const forged = `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
    expect(await sessionStatus(stack, `${SESSION_COOKIE}=${forged}`)).toBe(401);
  });

  it('logout ends the session: the same cookie, kept by someone else, is refused afterwards', async () => {
    const cookie = await login(stack);
    const copied = cookie;
    expect(await sessionStatus(stack, cookie)).toBe(200);
    const live = await fetch(`${stack.server.localUrl}/console/api/live`, { headers: { Cookie: cookie } });
    expect(live.status).toBe(200);
    const streamEnded = live.text(); // resolves only when the server ends the stream
    expect((await logout(stack, cookie)).status).toBe(204);
    await streamEnded; // the live stream opened with the session ends with it
    expect(await sessionStatus(stack, copied)).toBe(401);
    // A new login works again.
    expect(await sessionStatus(stack, await login(stack))).toBe(200);
  });

  it('a logout without a valid session ends nothing (nobody can log everyone out)', async () => {
    const cookie = await login(stack);
    expect((await logout(stack)).status).toBe(204);
    expect((await logout(stack, `${SESSION_COOKIE}=garbage`)).status).toBe(204);
    expect(await sessionStatus(stack, cookie)).toBe(200);
  });
});
