/**
 * Events per key in a sliding window (the console's throttles: failed logins, softphone grants): in memory for one
 * process, in Redis (a sorted set per key) for many, so that spreading attempts over instances gains nothing.
 */
import { randomBytes } from 'node:crypto';
import type { RedisLink } from './redis-link.js';
import { RedisScript } from './redis-link.js';
import { SlidingWindowLimit } from '../../lib/sliding-window.js';

export interface SlidingWindow {
  /** Milliseconds until `key` may have another event (0 = now). */
  retryAfterMs(key: string, nowMs: number): Promise<number>;
  /** Counts an event for `key`. */
  record(key: string, nowMs: number): Promise<void>;
  /** Records an event if the limit allows it; false (nothing recorded) when it does not. */
  take(key: string, nowMs: number): Promise<boolean>;
  /** Forgets `key`'s events (a login that succeeded). */
  forget(key: string): Promise<void>;
  /** Events of `key` still in the window (at most the limit). */
  count(key: string, nowMs: number): Promise<number>;
}

/** One process: the same bounded window the process-local throttles use (lib/sliding-window.ts), behind the async contract. */
export class MemorySlidingWindow implements SlidingWindow {
  private readonly window: SlidingWindowLimit;

  constructor(limit: number, windowMs: number, maxKeys = 10_000) {
    this.window = new SlidingWindowLimit(limit, windowMs, maxKeys);
  }

  async retryAfterMs(key: string, nowMs: number): Promise<number> {
    return this.window.retryAfterMs(key, nowMs);
  }

  async record(key: string, nowMs: number): Promise<void> {
    this.window.record(key, nowMs);
  }

  async take(key: string, nowMs: number): Promise<boolean> {
    return this.window.take(key, nowMs);
  }

  async forget(key: string): Promise<void> {
    this.window.forget(key);
  }

  async count(key: string, nowMs: number): Promise<number> {
    return this.window.count(key, nowMs);
  }
}

/**
 * One script for the three uses (mode check / record / take): drop what left the window, answer the wait, add the
 * event when asked and allowed, keep only the last `limit` events, and let the key expire with the window.
 */
const WINDOW = new RedisScript(`
local now, window, limit, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if (mode == 'check' or mode == 'take') and n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if mode == 'count' then return n end
if mode == 'check' then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -limit - 1)
redis.call('PEXPIRE', KEYS[1], window)
return 0
`);

export class RedisSlidingWindow implements SlidingWindow {
  constructor(
    private readonly link: RedisLink,
    /** The throttle's name (`login`, `softphone`): keys of different throttles never meet. */
    private readonly name: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  async retryAfterMs(key: string, nowMs: number): Promise<number> {
    return this.run(key, nowMs, 'check');
  }

  async record(key: string, nowMs: number): Promise<void> {
    await this.run(key, nowMs, 'record');
  }

  async take(key: string, nowMs: number): Promise<boolean> {
    return (await this.run(key, nowMs, 'take')) === 0;
  }

  async forget(key: string): Promise<void> {
    await this.link.client.del(this.key(key));
  }

  async count(key: string, nowMs: number): Promise<number> {
    return this.run(key, nowMs, 'count');
  }

  private async run(key: string, nowMs: number, mode: 'check' | 'record' | 'take' | 'count'): Promise<number> {
    const member = `${nowMs}.${randomBytes(6).toString('base64url')}`;
    const reply = await WINDOW.run(this.link.client, [this.key(key)], [nowMs, this.windowMs, this.limit, mode, member]);
    return Number(reply);
  }

  private key(key: string): string {
    return this.link.key(`window:${this.name}:${key}`);
  }
}
