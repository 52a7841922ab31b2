/**
 * Keeps one Deepgram socket alive for a call: opens it, notices every unexpected close or error, reopens it with a
 * fresh SDK socket after a short backoff, and gives up after the last delay of the policy (or at once on 401/403).
 *
 * Why not the SDK's own reconnect (ReconnectingWebSocket, 5.13): its `sendMedia`/`sendText` throw while the socket is
 * not open, so it never buffers our audio or text anyway; a failed reconnect attempt (refused, 401, timeout) reaches
 * its close policy as code 1000, so by default it stops retrying after the first failed attempt; its first retry
 * waits a random 1–5 s; and when it runs out of retries it stops silently, so the machine would never be told. We
 * therefore pass `shouldReconnect: () => false` and own the loop here, with the actor told about every step.
 */
import { errorMessage, type Logger } from '../lib/logger.js';

export interface SocketHandlers {
  open(): void;
  message(msg: unknown): void;
  close(code: number, reason: string): void;
  error(err: Error): void;
}

/** What the STT and TTS sockets of the SDK have in common for wiring. */
interface WireableSocket {
  on(event: 'open', cb: () => void): void;
  on(event: 'message', cb: (msg: unknown) => void): void;
  on(event: 'close', cb: (e: { code: number; reason: string }) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  connect(): unknown;
}

/** Routes a fresh SDK socket's events to the reconnector's handlers, then connects it. */
export function wireAndConnect<S extends WireableSocket>(socket: S, h: SocketHandlers): S {
  socket.on('open', h.open);
  socket.on('message', h.message);
  socket.on('close', (e) => h.close(e.code, e.reason));
  socket.on('error', h.error);
  socket.connect();
  return socket;
}

export interface ReconnectPolicy {
  /** Delay before each retry of one outage; its length is the number of retries before giving up. */
  delaysMs: readonly number[];
  /** A connection that stayed open at least this long starts the next outage with a fresh retry budget. */
  stableMs: number;
}

export const defaultReconnectPolicy: ReconnectPolicy = { delaysMs: [100, 250, 500, 1000, 2000, 4000], stableMs: 3000 };

export interface ReconnectorHooks<S> {
  name: string;
  log: Logger;
  policy: ReconnectPolicy;
  /** Build an SDK socket, register `handlers` on it, start connecting, return it. */
  create(handlers: SocketHandlers): Promise<S>;
  onOpen(socket: S, info: { reconnected: boolean }): void;
  onMessage(msg: unknown): void;
  /** The first failure of an outage (a drop, or the first connect failing); retries follow. */
  onDown(reason: string): void;
  /** No more retries: the socket stays closed for the rest of the call. */
  onGiveUp(reason: string): void;
}

const AUTH_FAILURE = /\b(401|403)\b/;

export class Reconnector<S extends { close(): void }> {
  /** Identifies the live attempt; events of older sockets are ignored. */
  private generation = 0;
  private socket: S | null = null;
  private open = false;
  private openedAt = 0;
  private everOpened = false;
  private inOutage = false;
  private retries = 0;
  private attemptError: string | null = null;
  private fatal: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private gaveUp = false;

  constructor(private readonly hooks: ReconnectorHooks<S>) {}

  start(): void {
    this.attempt();
  }

  get isOpen(): boolean {
    return this.open;
  }

  get hasGivenUp(): boolean {
    return this.gaveUp;
  }

  /** The open socket, or null. */
  get current(): S | null {
    return this.open ? this.socket : null;
  }

  /**
   * The open socket went silent (see SilenceWatchdog): close it and reconnect as after a drop. Unlike a drop, a
   * silent socket never earns a fresh retry budget by having been open a while — only `healthy()` gives one — so
   * a provider that keeps accepting sockets and never answers is given up on like one that refuses them.
   */
  recycle(reason: string): void {
    if (!this.open || this.stopped || this.gaveUp) return;
    this.onFailure(this.generation, reason, { silent: true });
  }

  /** The open socket answered (a result, audio): its next outage starts with a fresh retry budget. */
  healthy(): void {
    this.retries = 0;
  }

  /** Stop for good: `beforeClose` may send a last message (CloseStream/Close) if the socket is open. */
  stop(beforeClose?: (socket: S) => void): void {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    const wasOpen = this.open;
    this.socket = null;
    this.open = false;
    if (socket && wasOpen && beforeClose) {
      try {
        beforeClose(socket);
      } catch (err) {
        this.hooks.log.debug(`${this.hooks.name}: last message not sent`, { error: errorMessage(err) });
      }
    }
    if (socket) safeClose(socket);
  }

  private attempt(): void {
    const generation = ++this.generation;
    this.attemptError = null;
    const live = (): boolean => generation === this.generation && !this.stopped;
    const handlers: SocketHandlers = {
      open: () => {
        if (live()) this.onOpen();
      },
      message: (msg) => {
        if (live()) this.hooks.onMessage(msg);
      },
      // The SDK reports a failed connect as close(1000) immediately followed by the error: defer so the error
      // (e.g. "Unexpected server response: 401") is known when we decide.
      close: (code, reason) => queueMicrotask(() => this.onFailure(generation, `closed ${code}${reason ? ` ${reason}` : ''}`)),
      error: (err) => {
        if (!live()) return;
        this.attemptError = err.message;
        if (AUTH_FAILURE.test(err.message)) this.fatal = `rejected by Deepgram: ${err.message}`;
        queueMicrotask(() => this.onFailure(generation, err.message));
      },
    };
    this.hooks.create(handlers).then(
      (socket) => {
        if (live()) this.socket = socket;
        else safeClose(socket);
      },
      (err: unknown) => this.onFailure(generation, `connect failed: ${errorMessage(err)}`),
    );
  }

  private onOpen(): void {
    const socket = this.socket;
    if (!socket) return; // cannot happen: the SDK socket is returned before any network event
    this.open = true;
    this.openedAt = Date.now();
    const reconnected = this.everOpened;
    this.everOpened = true;
    this.inOutage = false;
    this.hooks.log.info(`${this.hooks.name}: socket open`, reconnected ? { reconnected, retries: this.retries } : {});
    this.hooks.onOpen(socket, { reconnected });
  }

  private onFailure(generation: number, fallbackReason: string, how: { silent?: boolean } = {}): void {
    if (generation !== this.generation || this.stopped || this.gaveUp) return;
    this.generation++; // ignore whatever this socket still reports
    const reason = how.silent ? fallbackReason : (this.attemptError ?? fallbackReason);
    const wasOpen = this.open;
    if (wasOpen && !how.silent && Date.now() - this.openedAt >= this.hooks.policy.stableMs) this.retries = 0;
    this.open = false;
    const socket = this.socket;
    this.socket = null;
    if (socket) safeClose(socket);
    this.hooks.log.warn(`${this.hooks.name}: socket down`, { reason, wasOpen, retries: this.retries });
    if (this.fatal) return this.giveUp(this.fatal);
    if (!this.inOutage) {
      this.inOutage = true;
      this.hooks.onDown(reason);
    }
    const delay = this.hooks.policy.delaysMs[this.retries];
    if (delay === undefined) return this.giveUp(`gave up after ${this.retries} reconnect attempts (${reason})`);
    this.retries++;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.attempt();
    }, delay);
  }

  private giveUp(reason: string): void {
    this.gaveUp = true;
    this.hooks.log.error(`${this.hooks.name}: giving up`, { reason });
    this.hooks.onGiveUp(reason);
  }
}

function safeClose(socket: { close(): void }): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

