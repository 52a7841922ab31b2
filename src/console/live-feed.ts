/**
 * The console's live calls, pushed as server-sent events (`GET /console/api/live`). Calls are only registered while
 * no console is open; the first client subscribes every call's view, the last one leaving unsubscribes them, so a
 * server nobody watches pays nothing. A client is sent a snapshot, then each diff once serialised for all; one that
 * lets more than `maxQueuedBytes` pile up (a stalled tab) is dropped. A stream ends when its session expires.
 *
 * With several instances (`cluster`: shared state), an instance with consoles announces it on the feed channel
 * (again every beat while they stay); every instance then follows its own calls and publishes their diffs there,
 * and each instance folds the others' diffs into RemoteCalls and passes them to its consoles. So a console on any
 * instance shows every instance's live calls with the same diffs. A call whose ownership key expired (its instance
 * died) is dropped from the view as `instance-lost`.
 */
import { Router, type Request, type Response } from 'express';
import type { Logger } from '../../lib/logger.js';
import type { CallWatcher } from './live-call-view.js';
import { sessionOf } from './console-router.js';
import type { FeedMessage, LiveCall } from './feed-types.js';
import { LiveCallView } from './live-call-view.js';
import { RemoteCalls } from './remote-calls.js';
import type { MessageBus } from '../shared/message-bus.js';

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

/** The other instances' side of the feed (absent: one process). */
export interface FeedCluster {
  instanceId: string;
  bus: MessageBus;
  /** The current owner of each call (null: nobody — its instance stopped heartbeating). */
  owners(callSids: readonly string[]): Promise<Array<string | null>>;
  /** How often a watching instance says so again, and remote calls are checked for a lost owner. Default 5000. */
  beatMs?: number;
}

export interface LiveFeedOptions {
  log: Logger;
  maxQueuedBytes?: number;
  now?: () => number;
  cluster?: FeedCluster;
}

export const FEED_CHANNEL = 'feed';

/** What instances tell each other on the feed channel. */
type ClusterMessage =
  | { from: string; kind: 'watch'; sync: boolean }
  | { from: string; kind: 'feed'; message: FeedMessage };

export class LiveFeed {
  private readonly calls = new Map<WatchableCall, Tracked>();
  private readonly clients = new Set<FeedClient>();
  private readonly agents = new Map<WatchableCall, string | null>();
  private readonly maxQueuedBytes: number;
  /** Messages and bytes sent (per message, not per client): the bench reads them. */
  readonly stats = { messages: 0, bytes: 0, snapshots: 0, snapshotBytes: 0, dropped: 0, sizes: [] as number[] };
  /** Whether this instance's calls are followed (a console here or, with a cluster, on another instance). */
  private following = false;
  /** Another instance has a console until then (epoch ms). */
  private remoteWatchUntil = 0;
  private readonly remote = new RemoteCalls();
  private readonly beat: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly onClusterMessage = (m: unknown): void => this.fromCluster(m);

  constructor(private readonly opts: LiveFeedOptions) {
    this.maxQueuedBytes = opts.maxQueuedBytes ?? MAX_QUEUED_BYTES;
    this.now = opts.now ?? Date.now;
    const cluster = opts.cluster;
    if (cluster !== undefined) {
      cluster.bus.subscribe(FEED_CHANNEL, this.onClusterMessage).catch((err: unknown) => opts.log.warn('live feed: not subscribed to other instances', { error: String(err) }));
      this.beat = setInterval(() => this.onBeat(), cluster.beatMs ?? 5000);
      this.beat.unref();
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** A call the server accepted; followed only while a console is open. `untrack` when it is over. */
  track(call: WatchableCall, agent: string | null): void {
    const tracked: Tracked = { view: null, unwatch: null };
    this.calls.set(call, tracked);
    this.agents.set(call, agent);
    if (this.following) this.follow(call, tracked);
  }

  untrack(call: WatchableCall): void {
    const tracked = this.calls.get(call);
    tracked?.unwatch?.();
    this.calls.delete(call);
    this.agents.delete(call);
  }

  /** A console connected: it gets every live call at once, then the diffs. */
  connect(client: FeedClient): () => void {
    this.startFollowing();
    this.clients.add(client);
    // The other instances start (or go on) publishing, and say again which calls they have.
    this.publish({ from: this.opts.cluster?.instanceId ?? '', kind: 'watch', sync: true });
    const calls: LiveCall[] = this.remote.list();
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
    clearInterval(this.beat);
    this.opts.cluster?.bus.unsubscribe(FEED_CHANNEL, this.onClusterMessage).catch(() => {});
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
    if (!this.clients.delete(client)) return;
    if (!this.watched()) this.stopFollowing();
  }

  private watched(): boolean {
    return this.clients.size > 0 || this.remoteWatchUntil > this.now();
  }

  private startFollowing(): void {
    if (this.following) return;
    this.following = true;
    for (const [call, tracked] of this.calls) this.follow(call, tracked);
  }

  /** Nobody watches: stop following the calls (their views are rebuilt from the machines on the next connect). */
  private stopFollowing(): void {
    if (!this.following) return;
    this.following = false;
    for (const tracked of this.calls.values()) {
      tracked.unwatch?.();
      tracked.unwatch = null;
      tracked.view = null;
    }
  }

  private publish(message: ClusterMessage): void {
    this.opts.cluster?.bus.publish(FEED_CHANNEL, message).catch(() => {}); // Redis down: the status line says so once
  }

  private fromCluster(raw: unknown): void {
    const m = raw as ClusterMessage;
    if (typeof m !== 'object' || m === null || m.from === this.opts.cluster?.instanceId) return;
    if (m.kind === 'watch') {
      this.remoteWatchUntil = this.now() + 3 * (this.opts.cluster?.beatMs ?? 5000);
      if (!this.following) return this.startFollowing(); // each view announces its call as it is built
      if (!m.sync) return;
      for (const tracked of this.calls.values()) {
        const call = tracked.view?.current();
        if (call) this.publish({ from: this.opts.cluster?.instanceId ?? '', kind: 'feed', message: { type: 'call', call } });
      }
    } else if (m.kind === 'feed' && typeof m.message === 'object' && m.message !== null) {
      this.remote.apply(m.from, m.message);
      this.sendLocal(m.message);
    }
  }

  private onBeat(): void {
    if (this.clients.size > 0) this.publish({ from: this.opts.cluster?.instanceId ?? '', kind: 'watch', sync: false });
    else if (!this.watched()) this.stopFollowing();
    if (this.remote.size > 0) void this.sweep();
  }

  /** Remote calls whose owner is no longer the instance that showed them (it died): gone from the view. */
  private async sweep(): Promise<void> {
    const cluster = this.opts.cluster;
    if (cluster === undefined) return;
    const entries = this.remote.entries();
    let owners: Array<string | null>;
    try {
      owners = await cluster.owners(entries.map((e) => e.callSid));
    } catch {
      return; // Redis down: looked at again on the next beat
    }
    entries.forEach(({ callSid, instance }, i) => {
      if (owners[i] === instance) return;
      this.remote.delete(callSid);
      this.opts.log.info('live call dropped from the console: its instance stopped answering', { callSid, instance });
      this.sendLocal({ type: 'ended', callSid, reason: 'instance-lost' });
    });
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

  /** A diff of one of this instance's calls: to its consoles, and to the other instances'. */
  private broadcast(message: FeedMessage): void {
    if (this.opts.cluster !== undefined) this.publish({ from: this.opts.cluster.instanceId, kind: 'feed', message });
    this.sendLocal(message);
  }

  private sendLocal(message: FeedMessage): void {
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
