/**
 * The connection to Redis that every shared store uses: one client for commands, one for pub/sub (a subscribed
 * connection can do nothing else). Commands fail fast while Redis is unreachable (no offline queue, a command
 * timeout): the callers then refuse what needs shared state (fail closed) instead of waiting. Reconnection never
 * stops, so the instance recovers by itself. Up → down and down → up are each told once, in one log line and through
 * `onStatus` (the server's metric and readiness).
 */
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../lib/logger.js';

export interface RedisLinkOptions {
  url: string;
  /** Every key and channel starts with it (several deployments, or test runs, may share one Redis). */
  prefix: string;
  log: Logger;
  /** Redis became reachable (true) or unreachable (false). */
  onStatus?: (up: boolean) => void;
  /** A command not answered within this long fails (a hung Redis must not hang a call's start). Default 1000. */
  commandTimeoutMs?: number;
}

export class RedisLink {
  readonly client: Redis;
  /** The pub/sub connection (subscriptions are restored by ioredis after a reconnect). */
  readonly subscriber: Redis;
  readonly prefix: string;
  private up = false;
  /** Whether the first status (up or down) has been told yet. */
  private told = false;
  private closed = false;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly opts: RedisLinkOptions) {
    this.prefix = opts.prefix;
    const common: RedisOptions = {
      // Reconnect for ever, at most a second apart: recovery needs no restart.
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
    };
    this.client = new Redis(opts.url, { ...common, enableOfflineQueue: false, commandTimeout: opts.commandTimeoutMs ?? 1000 });
    // Subscriptions asked for while disconnected wait for the connection (they are not a caller's request).
    this.subscriber = new Redis(opts.url, { ...common, enableOfflineQueue: true });
    for (const connection of [this.client, this.subscriber]) {
      connection.on('error', () => {}); // every failed reconnect emits one: the status line says it once instead
      connection.on('ready', () => this.update());
      connection.on('close', () => this.update());
      connection.on('end', () => this.update());
    }
  }

  isUp(): boolean {
    return this.up;
  }

  /** `name` with the deployment's prefix. */
  key(name: string): string {
    return this.prefix + name;
  }

  /** Resolves once both connections are ready, or after `timeoutMs` (then the status is told as down). */
  async waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (!this.up) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    if (!this.told) this.tell(this.up);
    return this.up;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  private update(): void {
    if (this.closed) return;
    const up = this.client.status === 'ready' && this.subscriber.status === 'ready';
    if (up === this.up) return;
    this.up = up;
    if (up) this.waiters.splice(0).forEach((resolve) => resolve());
    // Before waitUntilUp has told the first status, a flap while connecting is not news.
    if (this.told) this.tell(up);
  }

  private tell(up: boolean): void {
    this.told = true;
    const { hostname, port } = new URL(this.opts.url);
    if (up) this.opts.log.info('shared state (Redis) reachable: taking new calls', { redis: `${hostname}:${port || 6379}` });
    else this.opts.log.error('shared state (Redis) unreachable: new calls are refused until it is back; calls already up go on', { redis: `${hostname}:${port || 6379}` });
    this.opts.onStatus?.(up);
  }
}

/** A Lua script run by its SHA (the text is sent once per connection, when Redis does not know it yet). */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
