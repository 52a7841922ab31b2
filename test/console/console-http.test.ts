/** The console's access rules over HTTP: off without a secret, 401 on every API path without a valid session. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { silentLogger } from '../../lib/logger.js';
import { SESSION_COOKIE, SessionSigner } from '../../src/console/auth.js';
import { MemoryConsoleSessionState } from '../../src/shared/console-state.js';
import { mountConsole } from '../../src/console/console-router.js';
import { LiveFeed } from '../../src/console/live-feed.js';
import { FailedAuthThrottle } from '../../src/shared/failed-auth-throttle.js';

const PASSWORD = 'console-test-password-of-32-chars';

async function login(url: string, password: string): Promise<Response> {
  return fetch(`${url}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password }) });
}

function sessionCookie(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  return set.split(';')[0] ?? '';
}

describe('console access', () => {
  let stack: OfflineStack;
  beforeAll(async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
  });
  afterAll(() => stack.close());

  it('serves the page with a strict CSP and no third-party source', async () => {
    const res = await fetch(`${stack.server.localUrl}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await res.text();
    expect(html).toContain('/console/assets/');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('answers 401 on every API path without a session, and with a forged or expired cookie', async () => {
    const url = stack.server.localUrl;
    for (const p of ['/session', '/live', '/calls', '/calls/CA123', '/softphone', '/nope']) {
      expect((await fetch(`${url}/console/api${p}`)).status, p).toBe(401);
    }
    // Signed with the right password but another server key: only this server's key makes a session.
    const forged = (await new SessionSigner(new MemoryConsoleSessionState(), PASSWORD).issue(Date.now())).value;
    for (const value of [forged, 'garbage', `${Date.now() + 100000}.0.abc.${'x'.repeat(43)}`]) {
      const res = await fetch(`${url}/console/api/session`, { headers: { Cookie: `${SESSION_COOKIE}=${value}` } });
      expect(res.status).toBe(401);
    }
  });

  it('logs in with the password: an HttpOnly, SameSite=Strict cookie scoped to /console that opens the API', async () => {
    const url = stack.server.localUrl;
    expect((await login(url, 'wrong')).status).toBe(401);
    const res = await login(url, PASSWORD);
    expect(res.status).toBe(200);
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    expect(set).toMatch(/Path=\/console/i);
    expect(set).not.toMatch(/Secure/i); // http://: a Secure cookie would never come back
    const session = await fetch(`${url}/console/api/session`, { headers: { Cookie: sessionCookie(res) } });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { expiresAt: number }).expiresAt).toBeGreaterThan(Date.now() + 11 * 3600_000);
  });

  it('answers 429 after 5 failed logins from an address within a minute, even to the right password', async () => {
    const url = stack.server.localUrl;
    for (let i = 0; i < 5; i++) expect((await login(url, `guess ${i}`)).status).toBe(401);
    const refused = await login(url, PASSWORD);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('console off', () => {
  it('is 404 when neither CONSOLE_PASSWORD nor CALLS_API_TOKEN is set', async () => {
    const stack = await startOfflineStack({ env: {} });
    try {
      for (const p of ['/console', '/console/', '/console/api/live', '/console/api/calls']) {
        expect((await fetch(`${stack.server.localUrl}${p}`)).status, p).toBe(404);
      }
      expect((await login(stack.server.localUrl, 'x')).status).toBe(404);
    } finally {
      await stack.close();
    }
  });

  it('takes CALLS_API_TOKEN as the password when no console password is set', async () => {
    const token = 'api-token-used-as-console-password';
    const stack = await startOfflineStack({ env: { CALLS_API_TOKEN: token } });
    try {
      expect((await login(stack.server.localUrl, token)).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});

describe('the live stream', () => {
  it('sends a snapshot first, and ends when the session that opened it expires', async () => {
    const app = express();
    app.use(express.json());
    const feed = new LiveFeed({ log: silentLogger });
    mountConsole(app, { password: PASSWORD, loginThrottle: new FailedAuthThrottle(), apiRoutes: [feed.router()], log: silentLogger, secureCookie: false, sessionTtlMs: 400 });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const cookie = sessionCookie(await login(url, PASSWORD));
      const res = await fetch(`${url}/console/api/live`, { headers: { Cookie: cookie } });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const body = await res.text(); // resolves only when the server ends the stream
      expect(body).toBe(`data: ${JSON.stringify({ type: 'snapshot', calls: [] })}\n\n`);
      expect(feed.clientCount).toBe(0);
      expect((await fetch(`${url}/console/api/live`, { headers: { Cookie: cookie } })).status).toBe(401);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
