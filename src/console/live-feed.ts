/**
 * The console's live calls, pushed as server-sent events (`GET /console/api/live`). Calls are only registered while
 * no console is open; the first client subscribes every call's view, the last one leaving unsubscribes them, so a
 * server nobody watches pays nothing. A client is sent a snapshot, then each diff once serialised for all; one that
 * lets more than `maxQueuedBytes` pile up (a stalled tab) is dropped. A stream ends when its session expires.
 */
import { Router, type Request, type Response } from 'express';
import type { Logger } from '../../lib/logger.js';
import type { CallWatcher } from './live-call-view.js';
import { sessionOf } from './console-router.js';
import type { FeedMessage, LiveCall } from './feed-types.js';
import { LiveCallView } from './live-call-view.js';

export const MAX_QUEUED_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 25_000;

/** The part of a call the feed needs (a CallHandle). */
export interface WatchableCall {
  watch(watcher: CallWatcher): () => void;
}

/** Where a client's messages go: an SSE response in the server, a plain sink in unit tests. */
export interface FeedClient {
  write(chunk: string): void;
  /** Bytes written but not yet taken by the network. */
  queuedBytes(): number;
  close(): void;
}

interface Tracked {
  view: LiveCallView | null;
  unwatch: (() => void) | null;
}

export interface LiveFeedOptions {
  log: Logger;
  maxQueuedBytes?: number;
  now?: () => number;
}

export class LiveFeed {
  private readonly calls = new Map<WatchableCall, Tracked>();
  private readonly clients = new Set<FeedClient>();
  private readonly agents = new Map<WatchableCall, string | null>();
  private readonly maxQueuedBytes: number;
  /** Messages and bytes sent (per message, not per client): the bench reads them. */
  readonly stats = { messages: 0, bytes: 0, snapshots: 0, snapshotBytes: 0, dropped: 0, sizes: [] as number[] };

  constructor(private readonly opts: LiveFeedOptions) {
    this.maxQueuedBytes = opts.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** A call the server accepted; followed only while a console is open. `untrack` when it is over. */
  track(call: WatchableCall, agent: string | null): void {
    const tracked: Tracked = { view: null, unwatch: null };
    this.calls.set(call, tracked);
    this.agents.set(call, agent);
    if (this.clients.size > 0) this.follow(call, tracked);
  }

  untrack(call: WatchableCall): void {
    const tracked = this.calls.get(call);
    tracked?.unwatch?.();
    this.calls.delete(call);
    this.agents.delete(call);
  }

  /** A console connected: it gets every live call at once, then the diffs. */
  connect(client: FeedClient): () => void {
    if (this.clients.size === 0) for (const [call, tracked] of this.calls) this.follow(call, tracked);
    this.clients.add(client);
    const calls: LiveCall[] = [];
    for (const tracked of this.calls.values()) {
      const call = tracked.view?.current();
      if (call) calls.push(call);
    }
    const data = frame({ type: 'snapshot', calls });
    this.stats.snapshots++;
    this.stats.snapshotBytes = data.length;
    client.write(data);
    return () => this.disconnect(client);
  }

  /** Ends every stream (server closing). */
  close(): void {
    for (const client of [...this.clients]) {
      client.close();
      this.disconnect(client);
    }
  }

  router(): Router {
    const router = Router();
    router.get('/live', (req: Request, res: Response) => this.serve(req, res));
    return router;
  }

  private serve(req: Request, res: Response): void {
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    const socket = res.socket;
    socket?.setNoDelay(true);
    let closed = false;
    const client: FeedClient = {
      write: (chunk) => {
        if (!closed) res.write(chunk);
      },
      queuedBytes: () => (res.socket?.writableLength ?? 0) + res.writableLength,
      close: () => {
        if (closed) return;
        closed = true;
        res.end();
      },
    };
    const disconnect = this.connect(client);
    const now = this.opts.now ?? Date.now;
    // The session's cookie expires: so does its stream (the page then asks to log in again).
    const expiry = setTimeout(() => client.close(), Math.max(0, sessionOf(res).expiresAt - now()));
    const heartbeat = setInterval(() => client.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const cleanup = (): void => {
      closed = true;
      clearTimeout(expiry);
      clearInterval(heartbeat);
      disconnect();
    };
    res.on('close', cleanup);
    req.on('error', cleanup);
  }

  private disconnect(client: FeedClient): void {
    if (!this.clients.delete(client) || this.clients.size > 0) return;
    // Nobody watches: stop following the calls (their views are rebuilt from the machines on the next connect).
    for (const tracked of this.calls.values()) {
      tracked.unwatch?.();
      tracked.unwatch = null;
      tracked.view = null;
    }
  }

  private follow(call: WatchableCall, tracked: Tracked): void {
    const view = new LiveCallView(this.agents.get(call) ?? null, (m) => this.broadcast(m), this.opts.now);
    tracked.view = view;
    tracked.unwatch = call.watch({
      snapshot: (s) => view.snapshot(s),
      emitted: (e) => view.emitted(e),
      ended: () => view.end('ended'),
    });
  }

  private broadcast(message: FeedMessage): void {
    const data = frame(message);
    this.stats.messages++;
    this.stats.bytes += data.length;
    if (this.stats.sizes.length < 100_000) this.stats.sizes.push(data.length);
    for (const client of [...this.clients]) {
      if (client.queuedBytes() > this.maxQueuedBytes) {
        this.stats.dropped++;
        this.opts.log.warn('console client dropped: too much queued (a stalled tab?)', { queuedBytes: client.queuedBytes() });
        client.close();
        this.disconnect(client);
        continue;
      }
      client.write(data);
    }
  }
}

function frame(message: FeedMessage): string {
  return `data: ${JSON.stringify(message)}\n\n`;
}
