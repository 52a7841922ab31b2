/**
 * The memory of stream tokens (see src/twilio/stream-token.ts): which were used (a token opens one stream, on any
 * instance) and which this instance issued that no stream has used yet (the calls on their way, which its drain
 * waits for). In memory for one process; in Redis for many, where a token issued by A and used on B leaves A's
 * "on their way" set at once.
 */
import type { RedisLink } from './redis-link.js';
import { RedisScript } from './redis-link.js';

export interface PendingStreams {
  count: number;
  /** Epoch ms at which the soonest of them expires (null: none). */
  nextExpiry: number | null;
}

export interface TokenLedger {
  /** This instance issued token `id`, valid until `expiresAt`. */
  issue(id: string, expiresAt: number): Promise<void>;
  /** Uses token `id` up: 'first' the first time anywhere, 'reused' after. Rejects when it cannot be told (fail closed). */
  redeem(id: string, expiresAt: number): Promise<'first' | 'reused'>;
  /** Tokens this instance issued, not used yet and not expired. */
  pending(): Promise<PendingStreams>;
}

export class MemoryTokenLedger implements TokenLedger {
  /** Used tokens → expiry. */
  private readonly used = new Map<string, number>();
  /** Issued, not used → expiry (insertion order = expiry order: one TTL). */
  private readonly issued = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async issue(id: string, expiresAt: number): Promise<void> {
    this.prune();
    this.issued.set(id, expiresAt);
  }

  async redeem(id: string, expiresAt: number): Promise<'first' | 'reused'> {
    this.prune();
    if (this.used.has(id)) return 'reused';
    this.used.set(id, expiresAt);
    this.issued.delete(id);
    return 'first';
  }

  async pending(): Promise<PendingStreams> {
    this.prune();
    const next = this.issued.values().next();
    return { count: this.issued.size, nextExpiry: next.done === true ? null : next.value };
  }

  private prune(): void {
    const now = this.now();
    for (const map of [this.issued, this.used]) {
      // Oldest first; used entries are nearly in expiry order too, and a stale entry only costs a few bytes.
      for (const [id, expiresAt] of map) {
        if (expiresAt > now) break;
        map.delete(id);
      }
    }
  }
}

/**
 * Used once, atomically: `SET used NX PX`; the first use also takes the token out of its issuer's set (the issuer is
 * found through `issuer:<id>`), so one round trip does both.
 */
const REDEEM = new RedisScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local issuer = redis.call('GET', KEYS[2])
if issuer then
  redis.call('ZREM', ARGV[2] .. issuer, ARGV[3])
  redis.call('DEL', KEYS[2])
end
return 1
`);

export class RedisTokenLedger implements TokenLedger {
  constructor(
    private readonly link: RedisLink,
    private readonly instanceId: string,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(id: string, expiresAt: number): Promise<void> {
    const ttl = this.ttl(expiresAt);
    const issued = this.issuedKey(this.instanceId);
    await this.link.client
      .multi()
      .zremrangebyscore(issued, '-inf', this.now())
      .zadd(issued, expiresAt, id)
      .pexpire(issued, ttl)
      .set(this.link.key(`tok:issuer:${id}`), this.instanceId, 'PX', ttl)
      .exec()
      .then(throwOnFailure);
  }

  async redeem(id: string, expiresAt: number): Promise<'first' | 'reused'> {
    const first = await REDEEM.run(
      this.link.client,
      [this.link.key(`tok:used:${id}`), this.link.key(`tok:issuer:${id}`)],
      [this.ttl(expiresAt), this.issuedKey(''), id],
    );
    return first === 1 ? 'first' : 'reused';
  }

  async pending(): Promise<PendingStreams> {
    const issued = this.issuedKey(this.instanceId);
    const replies = await this.link.client
      .multi()
      .zremrangebyscore(issued, '-inf', this.now())
      .zcard(issued)
      .zrange(issued, 0, 0, 'WITHSCORES')
      .exec()
      .then(throwOnFailure);
    const count = Number(replies[1]);
    const first = replies[2] as string[];
    return { count, nextExpiry: first[1] === undefined ? null : Number(first[1]) };
  }

  private issuedKey(instance: string): string {
    return this.link.key(`tok:issued:${instance}`);
  }

  /** Redis keeps an entry as long as the token is valid (at least 1 ms: PX 0 is an error). */
  private ttl(expiresAt: number): number {
    return Math.max(1, Math.ceil(expiresAt - this.now()));
  }
}

/** A MULTI's replies, or the first error in it. */
export function throwOnFailure(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (results === null) throw new Error('Redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
