/** Console sessions (signed cookies) and the failed-login throttle. */
import { describe, expect, it } from 'vitest';
import { cookieValue, passwordMatches, SESSION_TTL_MS, SessionSigner } from '../../src/console/auth.js';
import { SlidingWindowLimit } from '../../lib/sliding-window.js';
import { MemoryConsoleSessionState } from '../../src/shared/console-state.js';

describe('SessionSigner', () => {
  const t = 1_800_000_000_000;

  it('accepts its own cookie until it expires, 12 h by default', async () => {
    const signer = new SessionSigner(new MemoryConsoleSessionState(), 'secret');
    const { value, expiresAt } = await signer.issue(t);
    expect(expiresAt).toBe(t + SESSION_TTL_MS);
    expect(await signer.verify(value, t + 1000)).toEqual({ expiresAt });
    expect(await signer.verify(value, expiresAt - 1)).toEqual({ expiresAt });
    expect(await signer.verify(value, expiresAt)).toBeUndefined();
  });

  it('refuses a cookie of another server key or password, a tampered expiry, generation or MAC, and garbage', async () => {
    const keys = new MemoryConsoleSessionState();
    const signer = new SessionSigner(keys, 'secret');
    const { value } = await signer.issue(t);
    const [expiry, generation, nonce, mac] = value.split('.');
    expect(await new SessionSigner(new MemoryConsoleSessionState(), 'secret').verify(value, t)).toBeUndefined();
    expect(await new SessionSigner(keys, 'other secret').verify(value, t)).toBeUndefined();
    expect(await signer.verify(`${Number(expiry) + 1000}.${generation}.${nonce}.${mac}`, t)).toBeUndefined();
    expect(await signer.verify(`${expiry}.${Number(generation) + 1}.${nonce}.${mac}`, t)).toBeUndefined();
    expect(await signer.verify(`${expiry}.${generation}.${nonce}x.${mac}`, t)).toBeUndefined();
    expect(await signer.verify(`${expiry}.${generation}.${nonce}.${(mac ?? '').slice(1)}A`, t)).toBeUndefined();
    for (const junk of [undefined, '', 'a.b.c.d', `${expiry}.${nonce}.${mac}`, `${value}.x`]) expect(await signer.verify(junk, t)).toBeUndefined();
  });

  it('issues a different value per login; revokeAll ends every earlier session, later ones work', async () => {
    const signer = new SessionSigner(new MemoryConsoleSessionState(), 'secret');
    const [a, b] = [await signer.issue(t), await signer.issue(t)];
    expect(a.value).not.toBe(b.value);
    await signer.revokeAll();
    expect(await signer.verify(a.value, t)).toBeUndefined();
    expect(await signer.verify(b.value, t)).toBeUndefined();
    const c = await signer.issue(t);
    expect(await signer.verify(c.value, t)).toEqual({ expiresAt: c.expiresAt });
  });
});

describe('passwordMatches and cookieValue', () => {
  it('matches the exact password only', () => {
    expect(passwordMatches('pw', 'pw')).toBe(true);
    for (const wrong of ['pw ', 'PW', '', undefined, 42, ['pw']]) expect(passwordMatches(wrong, 'pw')).toBe(false);
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(cookieValue('a=1; console_session=xyz.1; b=2', 'console_session')).toBe('xyz.1');
    expect(cookieValue('xconsole_session=1', 'console_session')).toBeUndefined();
    expect(cookieValue(undefined, 'console_session')).toBeUndefined();
  });
});

describe('login throttle (SlidingWindowLimit)', () => {
  it('lets 5 failures through per minute and address, then refuses until the oldest leaves the window', () => {
    const throttle = new SlidingWindowLimit(5, 60_000);
    for (let i = 0; i < 5; i++) {
      expect(throttle.retryAfterMs('1.2.3.4', i * 1000)).toBe(0);
      throttle.record('1.2.3.4', i * 1000);
    }
    expect(throttle.retryAfterMs('1.2.3.4', 5000)).toBe(55_000);
    expect(throttle.retryAfterMs('5.6.7.8', 5000)).toBe(0); // another address is not affected
    expect(throttle.retryAfterMs('1.2.3.4', 60_001)).toBe(0);
  });

  it('forgets an address that logs in, and the oldest addresses beyond its bound', () => {
    const throttle = new SlidingWindowLimit(1, 60_000, 2);
    throttle.record('a', 0);
    throttle.forget('a');
    expect(throttle.retryAfterMs('a', 1)).toBe(0);
    throttle.record('a', 0);
    throttle.record('b', 0);
    throttle.record('c', 0);
    expect(throttle.retryAfterMs('a', 1)).toBe(0);
    expect(throttle.retryAfterMs('c', 1)).toBeGreaterThan(0);
  });
});
