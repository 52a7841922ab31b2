/** Stream tokens: HMAC over CallSid + expiry, short-lived, single use per process, stateless across instances. */
import { describe, expect, it } from 'vitest';
import {
  authorizeStreamStart,
  checkStreamToken,
  deriveStreamTokenSecret,
  mintStreamToken,
  STREAM_TOKEN_PARAMETER,
  StreamTokens,
} from '../../src/twilio/stream-token.js';

const SECRET = 'a-stream-token-secret-of-at-least-32-chars';
const CALL = 'CA' + '1'.repeat(32);
const OTHER = 'CA' + '2'.repeat(32);

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('stream tokens', () => {
  it('accept a token for its own CallSid until it expires, and nothing else', () => {
    const t0 = 1_700_000_000_000;
    const { token, expiresAt } = mintStreamToken(SECRET, CALL, 30_000, t0);
    expect(expiresAt).toBe(t0 + 30_000);
    expect(token).toMatch(/^v1\.[0-9a-z]+\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}$/);
    expect(checkStreamToken(SECRET, token, CALL, t0 + 29_999)).toEqual({ ok: true, expiresAt });
    expect(checkStreamToken(SECRET, token, CALL, t0 + 30_000)).toEqual({ ok: false, reason: 'expired' });
    expect(checkStreamToken(SECRET, token, OTHER, t0)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(checkStreamToken('another-secret-of-at-least-32-characters', token, CALL, t0)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(checkStreamToken(SECRET, undefined, CALL, t0)).toEqual({ ok: false, reason: 'missing' });
    expect(checkStreamToken(SECRET, '', CALL, t0)).toEqual({ ok: false, reason: 'missing' });
    expect(checkStreamToken(SECRET, 'v1.abc', CALL, t0)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkStreamToken(SECRET, token + 'x', CALL, t0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('cannot be extended: a later expiry invalidates the signature', () => {
    const t0 = 1_700_000_000_000;
    const { token } = mintStreamToken(SECRET, CALL, 1000, t0);
    const [v, exp, nonce, mac] = token.split('.');
    const later = [v, (parseInt(exp ?? '', 36) + 3_600_000).toString(36), nonce, mac].join('.');
    expect(checkStreamToken(SECRET, later, CALL, t0)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('two tokens for the same call differ (a nonce), so each is single use on its own', () => {
    const a = mintStreamToken(SECRET, CALL, 1000, 0).token;
    const b = mintStreamToken(SECRET, CALL, 1000, 0).token;
    expect(a).not.toBe(b);
  });

  it('are single use per process and stateless across instances that share the secret', async () => {
    const c = clock();
    const a = new StreamTokens({ secret: SECRET, ttlMs: 30_000, now: c.now });
    const b = new StreamTokens({ secret: SECRET, ttlMs: 30_000, now: c.now });
    const stranger = new StreamTokens({ secret: 'a-different-secret-of-32-characters!!', ttlMs: 30_000, now: c.now });
    const { token } = await a.mint(CALL);
    expect(await stranger.redeem(token, CALL)).toEqual({ ok: false, reason: 'bad-signature' });
    expect((await b.redeem(token, CALL)).ok).toBe(true); // minted by a, accepted by b
    expect(await b.redeem(token, CALL)).toEqual({ ok: false, reason: 'reused' });
    expect((await a.redeem(token, CALL)).ok).toBe(true); // each process remembers only its own redemptions
    expect(await a.redeem(token, CALL)).toEqual({ ok: false, reason: 'reused' });
    c.advance(30_000);
    expect(await a.redeem(token, CALL)).toEqual({ ok: false, reason: 'expired' });
  });

  it('know which issued tokens are still on their way (for the drain), until redeemed or expired', async () => {
    const c = clock();
    const tokens = new StreamTokens({ secret: SECRET, ttlMs: 10_000, now: c.now });
    expect(await tokens.pending()).toEqual({ count: 0, nextExpiry: null });
    const first = await tokens.mint(CALL);
    c.advance(4000);
    const second = await tokens.mint(OTHER);
    await tokens.mint('CA-softphone', { track: false }); // not a Twilio call on its way
    expect(await tokens.pending()).toEqual({ count: 2, nextExpiry: first.expiresAt });
    expect((await tokens.redeem(first.token, CALL)).ok).toBe(true);
    expect(await tokens.pending()).toEqual({ count: 1, nextExpiry: second.expiresAt });
    c.advance(10_000); // the second token expires: that stream is not coming any more
    expect(await tokens.pending()).toEqual({ count: 0, nextExpiry: null });
  });

  it('authorizeStreamStart redeems the start token and removes it from the call parameters', async () => {
    const tokens = new StreamTokens({ secret: SECRET, ttlMs: 10_000 });
    const { token } = await tokens.mint(CALL);
    const start = { callSid: CALL, streamSid: 'MZ1', accountSid: 'AC1', customParameters: { From: '+1555', [STREAM_TOKEN_PARAMETER]: token } };
    expect(await authorizeStreamStart(tokens, start)).toEqual({ ok: true, customParameters: { From: '+1555' } });
    expect(await authorizeStreamStart(tokens, start)).toEqual({ ok: false, reason: 'token-reused' });
    expect(await authorizeStreamStart(tokens, { ...start, customParameters: { From: '+1555' } })).toEqual({ ok: false, reason: 'token-missing' });
    const forOther = (await tokens.mint(OTHER)).token;
    expect(await authorizeStreamStart(tokens, { ...start, customParameters: { [STREAM_TOKEN_PARAMETER]: forOther } })).toEqual({ ok: false, reason: 'token-bad-signature' });
  });

  it('derives the default secret from the auth token: same token, same secret; not the token itself', () => {
    expect(deriveStreamTokenSecret('auth-token-1').equals(deriveStreamTokenSecret('auth-token-1'))).toBe(true);
    expect(deriveStreamTokenSecret('auth-token-1').equals(deriveStreamTokenSecret('auth-token-2'))).toBe(false);
    expect(deriveStreamTokenSecret('auth-token-1').toString('utf8')).not.toContain('auth-token-1');
  });
});
