/**
 * Failed attempts at one secret (an "account": the console password, the calls API token — one throttle when they are
 * the same secret, so `/calls` is no way around the login's limit), counted per client address and for the account.
 *
 * - An address with `perAddress` failures in the window is refused (429) until the oldest leaves it, whatever it
 *   sends: its next guess could be right.
 * - Past `perAccount` failures in the window from all addresses together (guessing spread over many addresses), an
 *   address that itself failed in the window is refused too; an address with no failure is still heard. So a client
 *   with the right secret is never refused for what other addresses did.
 *
 * The counts live in the shared state's sliding windows: in memory for one process, in Redis with REDIS_URL, so that
 * spreading guesses over instances gains nothing. Addresses are `req.ip`: behind a reverse proxy, set TRUST_PROXY or
 * every client is the proxy's one address.
 */
import { MemorySlidingWindow, type SlidingWindow } from './sliding-window.js';

export interface FailedAuthLimits {
  perAddress: number;
  perAccount: number;
  windowMs: number;
}

export const DEFAULT_FAILED_AUTH_LIMITS: FailedAuthLimits = { perAddress: 5, perAccount: 50, windowMs: 60_000 };

const ACCOUNT = 'account';

export type ThrottleVerdict = { refused: false } | { refused: true; retryAfterMs: number; by: 'address' | 'account' };

/** Makes the throttle's two windows (`address`, `account`): the shared state's `window`, or memory by default. */
export type WindowFactory = (name: 'address' | 'account', limit: number, windowMs: number) => SlidingWindow;

const inMemory: WindowFactory = (name, limit, windowMs) => new MemorySlidingWindow(limit, windowMs, name === 'account' ? 1 : undefined);

export class FailedAuthThrottle {
  private readonly byAddress: SlidingWindow;
  private readonly account: SlidingWindow;

  constructor(
    readonly limits: FailedAuthLimits = DEFAULT_FAILED_AUTH_LIMITS,
    windows: WindowFactory = inMemory,
  ) {
    this.byAddress = windows('address', limits.perAddress, limits.windowMs);
    this.account = windows('account', limits.perAccount, limits.windowMs);
  }

  /** Whether `address` may try the secret now (checked before the secret is compared). */
  async check(address: string, nowMs: number): Promise<ThrottleVerdict> {
    const own = await this.byAddress.retryAfterMs(address, nowMs);
    if (own > 0) return { refused: true, retryAfterMs: own, by: 'address' };
    const account = await this.account.retryAfterMs(ACCOUNT, nowMs);
    if (account > 0 && (await this.byAddress.count(address, nowMs)) > 0) return { refused: true, retryAfterMs: account, by: 'account' };
    return { refused: false };
  }

  async failed(address: string, nowMs: number): Promise<void> {
    await Promise.all([this.byAddress.record(address, nowMs), this.account.record(ACCOUNT, nowMs)]);
  }

  /** The right secret from `address`: its own failures are forgotten (the account's count stays). */
  async succeeded(address: string): Promise<void> {
    await this.byAddress.forget(address);
  }
}
