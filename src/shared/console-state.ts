/**
 * What the console's sessions need to be the same on every instance: the secret that signs them (random, made once
 * by whichever instance asks first) and the logout revocation counter (a logout raises it; sessions signed under an
 * older value are refused everywhere).
 */
import { randomBytes } from 'node:crypto';
import type { RedisLink } from './redis-link.js';

export interface ConsoleSessionState {
  /** The session-signing secret, the same for every instance sharing this state. */
  sessionSecret(): Promise<Buffer>;
  /** The current revocation counter. */
  revocation(): Promise<number>;
  /** Raises the counter (a logout of every session); resolves to the new value. */
  revokeAll(): Promise<number>;
}

const SECRET_BYTES = 32;

export class MemoryConsoleSessionState implements ConsoleSessionState {
  private readonly secret = randomBytes(SECRET_BYTES);
  private counter = 0;

  async sessionSecret(): Promise<Buffer> {
    return this.secret;
  }

  async revocation(): Promise<number> {
    return this.counter;
  }

  async revokeAll(): Promise<number> {
    return ++this.counter;
  }
}

export class RedisConsoleSessionState implements ConsoleSessionState {
  private secret: Buffer | undefined;

  constructor(private readonly link: RedisLink) {}

  async sessionSecret(): Promise<Buffer> {
    if (this.secret !== undefined) return this.secret;
    const key = this.link.key('console:secret');
    // The first instance's random secret wins; the others read it. It never changes once set.
    await this.link.client.set(key, randomBytes(SECRET_BYTES).toString('base64url'), 'NX');
    const stored = await this.link.client.get(key);
    if (stored === null) throw new Error('console session secret vanished from Redis');
    this.secret = Buffer.from(stored, 'base64url');
    return this.secret;
  }

  async revocation(): Promise<number> {
    return Number((await this.link.client.get(this.link.key('console:revocation'))) ?? 0);
  }

  async revokeAll(): Promise<number> {
    return this.link.client.incr(this.link.key('console:revocation'));
  }
}
