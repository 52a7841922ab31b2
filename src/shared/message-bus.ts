/**
 * Messages between instances (JSON over Redis pub/sub): commands for the instance that owns a call, the console's
 * live feed. Fire and forget, as pub/sub is: a message published while a subscriber is disconnected is lost, so
 * nothing that must not be lost travels here (records and webhooks are in the database).
 *
 * The in-memory bus links the servers of one process (tests, or several servers embedded in one program).
 */
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { RedisLink } from './redis-link.js';

export type BusHandler = (message: unknown) => void;

export interface MessageBus {
  /** Resolves to the number of subscribers that received it. */
  publish(channel: string, message: unknown): Promise<number>;
  /** Handlers run for every message on `channel` (from this instance too). */
  subscribe(channel: string, handler: BusHandler): Promise<void>;
  unsubscribe(channel: string, handler: BusHandler): Promise<void>;
}

export class MemoryMessageBus implements MessageBus {
  private readonly handlers = new Map<string, Set<BusHandler>>();

  async publish(channel: string, message: unknown): Promise<number> {
    const handlers = [...(this.handlers.get(channel) ?? [])];
    // A copy, delivered on a later tick like a network message would be: no handler sees the sender's object.
    const copy: unknown = JSON.parse(JSON.stringify(message));
    setImmediate(() => handlers.forEach((h) => h(copy)));
    return handlers.length;
  }

  async subscribe(channel: string, handler: BusHandler): Promise<void> {
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
  }

  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    this.handlers.get(channel)?.delete(handler);
  }
}

export class RedisMessageBus implements MessageBus {
  private readonly handlers = new Map<string, Set<BusHandler>>();

  constructor(
    private readonly link: RedisLink,
    private readonly log: Logger,
  ) {
    link.subscriber.on('message', (channel: string, text: string) => {
      const handlers = this.handlers.get(channel);
      if (handlers === undefined) return;
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        this.log.warn('bus message ignored: not JSON', { channel });
        return;
      }
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (err) {
          this.log.error('bus message handler failed', { channel, error: errorMessage(err) });
        }
      }
    });
  }

  async publish(channel: string, message: unknown): Promise<number> {
    return this.link.client.publish(this.link.key(channel), JSON.stringify(message));
  }

  async subscribe(channel: string, handler: BusHandler): Promise<void> {
    const full = this.link.key(channel);
    const set = this.handlers.get(full);
    if (set !== undefined) {
      set.add(handler);
      return;
    }
    this.handlers.set(full, new Set([handler]));
    await this.link.subscriber.subscribe(full);
  }

  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    const full = this.link.key(channel);
    const set = this.handlers.get(full);
    if (set === undefined) return;
    set.delete(handler);
    if (set.size > 0) return;
    this.handlers.delete(full);
    await this.link.subscriber.unsubscribe(full);
  }
}
