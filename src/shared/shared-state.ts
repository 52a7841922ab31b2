/**
 * The state that ties a call together across requests, in one place: in this process's memory (the default: one
 * process is the whole service), or in Redis when REDIS_URL is set (any number of identical instances behind a
 * plain load balancer). The server and the console see only these interfaces.
 */
import type { Logger } from '../../lib/logger.js';
import { MemoryCallDirectory, MemoryDirectoryHub, RedisCallDirectory, type CallDirectory } from './call-directory.js';
import { MemoryConsoleSessionState, RedisConsoleSessionState, type ConsoleSessionState } from './console-state.js';
import { MemoryMessageBus, RedisMessageBus, type MessageBus } from './message-bus.js';
import { RedisLink } from './redis-link.js';
import { MemorySlidingWindow, RedisSlidingWindow, type SlidingWindow } from './sliding-window.js';
import { MemoryTicketStore, RedisTicketStore, type TicketStore } from './ticket-store.js';
import { MemoryTokenLedger, RedisTokenLedger, type TokenLedger } from './token-ledger.js';

export interface SharedState {
  readonly kind: 'memory' | 'redis';
  readonly instanceId: string;
  readonly tokens: TokenLedger;
  readonly tickets: TicketStore;
  readonly consoleSessions: ConsoleSessionState;
  readonly calls: CallDirectory;
  readonly bus: MessageBus;
  /** A throttle shared by every instance (`name` keeps different throttles apart). */
  window(name: string, limit: number, windowMs: number): SlidingWindow;
  /** Whether what needs shared state can be done now (memory: always). */
  isUp(): boolean;
  close(): Promise<void>;
}

export interface SharedStateOptions {
  /** Unset: in memory. */
  redisUrl?: string;
  /** Key and channel prefix in Redis. */
  prefix?: string;
  instanceId: string;
  log: Logger;
  /** Call ownership lasts this long without a heartbeat. */
  ownerTtlMs: number;
  /** Commands for a call not live yet are held this long. */
  holdMs?: number;
  /** Redis became reachable or unreachable (after the first status, which `connect` waits for). */
  onStatus?: (up: boolean) => void;
  /** How long start-up waits for Redis before going on not ready (it keeps reconnecting). Default 3000. */
  connectTimeoutMs?: number;
  now?: () => number;
}

export async function createSharedState(opts: SharedStateOptions): Promise<SharedState> {
  const directoryOptions = { instanceId: opts.instanceId, ttlMs: opts.ownerTtlMs, holdMs: opts.holdMs ?? 60_000, log: opts.log };
  if (opts.redisUrl === undefined) {
    const bus = new MemoryMessageBus();
    return {
      kind: 'memory',
      instanceId: opts.instanceId,
      tokens: new MemoryTokenLedger(opts.now),
      tickets: new MemoryTicketStore(opts.now),
      consoleSessions: new MemoryConsoleSessionState(),
      calls: new MemoryCallDirectory(new MemoryDirectoryHub(), bus, directoryOptions),
      bus,
      window: (_name, limit, windowMs) => new MemorySlidingWindow(limit, windowMs),
      isUp: () => true,
      close: async () => {},
    };
  }
  const link = new RedisLink({ url: opts.redisUrl, prefix: opts.prefix ?? 'voice:', log: opts.log, onStatus: opts.onStatus });
  await link.waitUntilUp(opts.connectTimeoutMs ?? 3000);
  const bus = new RedisMessageBus(link, opts.log);
  const calls = new RedisCallDirectory(link, bus, directoryOptions);
  return {
    kind: 'redis',
    instanceId: opts.instanceId,
    tokens: new RedisTokenLedger(link, opts.instanceId, opts.now),
    tickets: new RedisTicketStore(link, opts.now),
    consoleSessions: new RedisConsoleSessionState(link),
    calls,
    bus,
    window: (name, limit, windowMs) => new RedisSlidingWindow(link, name, limit, windowMs),
    isUp: () => link.isUp(),
    close: async () => {
      calls.close();
      await link.close();
    },
  };
}
