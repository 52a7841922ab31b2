/**
 * Failed secrets are throttled over HTTP: wrong bearer tokens on the calls API like wrong console passwords, one
 * count per secret (the API token doubling as the console password cannot be guessed through /calls instead), per
 * client address — behind a proxy with TRUST_PROXY — and per account, never refusing a right secret for what other
 * addresses did.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';
import { DEFAULT_FAILED_AUTH_LIMITS } from '../../src/shared/failed-auth-throttle.js';

const TOKEN = 'calls-api-token-of-at-least-32-chars';
const PASSWORD = 'console-password-of-at-least-32-chars';

function login(stack: OfflineStack, password: string, forwardedFor?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (forwardedFor !== undefined) headers['X-Forwarded-For'] = forwardedFor;
  return fetch(`${stack.server.localUrl}/console/login`, { method: 'POST', headers, body: JSON.stringify({ password }) });
}

function listCalls(stack: OfflineStack, token: string, forwardedFor?: string): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (forwardedFor !== undefined) headers['X-Forwarded-For'] = forwardedFor;
  return fetch(`${stack.server.localUrl}/calls`, { headers });
}

describe('throttled secrets', () => {
  let stack: OfflineStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('GET /calls: 5 wrong bearer tokens a minute per address, then 429 even for the right one; POST /calls shares the count', async () => {
    stack = await startOfflineStack({ env: { CALLS_API_TOKEN: TOKEN, CONSOLE_PASSWORD: PASSWORD } });
    for (let i = 0; i < 4; i++) expect((await listCalls(stack, `guess-${i}`)).status).toBe(401);
    const post = await fetch(`${stack.server.localUrl}/calls`, { method: 'POST', headers: { Authorization: 'Bearer guess-4', 'Content-Type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(401);
    const refused = await listCalls(stack, TOKEN);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    for (let i = 0; i < 55; i++) expect((await listCalls(stack, `more-${i}`)).status).toBe(429);
    // A separate console password is another account: its login is not touched.
    expect((await login(stack, PASSWORD)).status).toBe(200);
  });

  it('CALLS_API_TOKEN as the console password: failures on /calls and on the login count together', async () => {
    stack = await startOfflineStack({ env: { CALLS_API_TOKEN: TOKEN } });
    for (let i = 0; i < 3; i++) expect((await listCalls(stack, `guess-${i}`)).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await login(stack, `guess-${i}`)).status).toBe(401);
    expect((await login(stack, TOKEN)).status).toBe(429);
    expect((await listCalls(stack, TOKEN)).status).toBe(429);
  });

  it('TRUST_PROXY=loopback: clients behind the proxy are told apart by X-Forwarded-For; a right password is not refused for another client', async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD, TRUST_PROXY: 'loopback' } });
    for (let i = 0; i < 5; i++) expect((await login(stack, `guess-${i}`, '203.0.113.1')).status).toBe(401);
    expect((await login(stack, PASSWORD, '203.0.113.1')).status).toBe(429);
    expect((await login(stack, PASSWORD, '203.0.113.2')).status).toBe(200);
  });

  it('without TRUST_PROXY, X-Forwarded-For is not believed: a client cannot pick a fresh address per guess', async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
    for (let i = 0; i < 5; i++) expect((await login(stack, `guess-${i}`, `203.0.113.${i + 1}`)).status).toBe(401);
    expect((await login(stack, PASSWORD, '203.0.113.99')).status).toBe(429);
  });

  it('per account: past its limit from many addresses, an address that failed is refused; one that never failed still logs in', async () => {
    stack = await startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD, TRUST_PROXY: 'loopback' } });
    const { perAccount, perAddress } = DEFAULT_FAILED_AUTH_LIMITS;
    let failures = 0;
    for (let address = 1; failures < perAccount; address++) {
      for (let i = 0; i < perAddress - 1 && failures < perAccount; i++, failures++) {
        expect((await login(stack, `guess-${failures}`, `198.51.100.${address}`)).status).toBe(401);
      }
    }
    // 198.51.100.1 failed below its own limit, but the account is under attack: refused, right password or not.
    expect((await login(stack, PASSWORD, '198.51.100.1')).status).toBe(429);
    expect((await login(stack, PASSWORD, '192.0.2.7')).status).toBe(200);
  });
});
