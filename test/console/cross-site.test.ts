/**
 * The console's POSTs come from its own origin and carry JSON: a page elsewhere (a sibling subdomain included, which
 * SameSite=Strict would let through) cannot log in, mint a softphone ticket or log out with the operator's cookie.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';

const PASSWORD = 'cross-site-test-password-32-chars';

/** A POST with any headers (fetch will not set Host). */
function post(stack: OfflineStack, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; cookie: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.server.localUrl}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, cookie: (res.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '' });
    });
    req.once('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const passwordBody = JSON.stringify({ password: PASSWORD });

describe('cross-site POSTs to the console', () => {
  let stack: OfflineStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('without PUBLIC_URL: only the origin the request names itself; JSON only', async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
    const own = `http://127.0.0.1:${stack.server.port}`;
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Origin: 'https://evil.example' }, passwordBody)).status).toBe(403);
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Origin: 'null' }, passwordBody)).status).toBe(403);
    expect((await post(stack, '/console/login', { ...JSON_TYPE, 'Sec-Fetch-Site': 'cross-site' }, passwordBody)).status).toBe(403);
    // What a cross-site form can send without a preflight: refused even from the right origin.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])
      expect((await post(stack, '/console/login', { 'Content-Type': type, Origin: own }, passwordBody)).status, type).toBe(415);
    const login = await post(stack, '/console/login', { ...JSON_TYPE, Origin: own }, passwordBody);
    expect(login.status).toBe(200);

    // Logged in: another site's page cannot use the cookie to mint a softphone ticket or to log out.
    const withCookie = { ...JSON_TYPE, Cookie: login.cookie };
    expect((await post(stack, '/console/api/softphone', { ...withCookie, Origin: 'https://evil.example' }, '{}')).status).toBe(403);
    expect((await post(stack, '/console/api/softphone', { Cookie: login.cookie, Origin: own, 'Content-Type': 'text/plain' }, '{}')).status).toBe(415);
    expect((await post(stack, '/console/logout', { ...withCookie, Origin: 'https://evil.example' }, '{}')).status).toBe(403);
    expect(stack.server.softphoneTickets.minted).toBe(0);
    expect((await post(stack, '/console/api/softphone', { ...withCookie, Origin: own }, '{}')).status).toBe(201);
  });

  it('with PUBLIC_URL: its origin, not a sibling subdomain nor another address; loopback (a tunnel) still works', async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD, PUBLIC_URL: 'https://voice.example.com' } });
    const port = stack.server.port;
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Origin: 'https://voice.example.com' }, passwordBody)).status).toBe(200);
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Origin: 'https://evil.voice.example.com' }, passwordBody)).status).toBe(403);
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Origin: 'http://voice.example.com' }, passwordBody)).status).toBe(403);
    const other = `192.0.2.2:${port}`;
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Host: other, Origin: `http://${other}` }, passwordBody)).status).toBe(403);
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Origin: `http://127.0.0.1:${port}` }, passwordBody)).status).toBe(200);
    expect((await post(stack, '/console/login', { ...JSON_TYPE, Host: `localhost:${port}`, Origin: `http://localhost:${port}` }, passwordBody)).status).toBe(200);
  });
});
