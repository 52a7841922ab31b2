/**
 * The `stt` child on Deepgram Flux (`listen.v2.connect`, `/v2/listen`): the same role and contract as the Nova actor
 * (`deepgram-stt.ts`) — one socket for the life of the call, caller audio from the MediaPipe, audio kept while the
 * socket is down and replayed on reconnect, STT.CONNECTED / STT.ERROR as there — with Flux's turn events mapped by
 * `FluxTurnTracker` (Update → STT.INTERIM, EndOfTurn → STT.FINAL speechFinal, plus STT.TURN_STARTED, STT.EAGER_END,
 * STT.TURN_RESUMED).
 *
 * What differs from Nova, per Deepgram's Flux docs and the v5 SDK:
 * - Audio goes out in 80 ms messages ("strongly recommended for optimal model performance and latency"): four
 *   Twilio frames per message, so at most 60 ms waits in the actor.
 * - v2 has no KeepAlive message (the SDK's v2 socket has no sendKeepAlive; an unknown JSON message closes the
 *   socket). Flux decides turns on audio time, so a turn left open when audio stops would never end: after
 *   `silenceFillMs` without caller audio the actor sends µ-law silence for the time that passed, which keeps the
 *   socket busy and lets Flux end the turn. Twilio streams continuously, so on a healthy call this never fires.
 * - `CloseStream` on stop (Flux then closes without a status code; the SDK treats that as final).
 * - Replay after a drop starts at the current turn: Flux never revisits a finished turn (see `FluxTurnTracker`).
 */
import { fromCallback, type EventObject } from 'xstate';
import type { SttInput } from '../machines/call.machine.js';
import type { CallEvent } from '../machines/events.js';
import type { MediaPipe } from './media-pipe.js';
import type { Logger } from '../lib/logger.js';
import { now } from '../lib/clock.js';
import { BYTES_PER_MS, silence } from '../lib/mulaw.js';
import type { DeepgramClient, FluxSocket } from './deepgram-client.js';
import { defaultReconnectPolicy, Reconnector, wireAndConnect, type ReconnectPolicy } from './deepgram-reconnect.js';
import { SttAudioBuffer } from './deepgram-stt-buffer.js';
import { SttAudioLink } from './stt-audio-link.js';
import { AudioChunker } from './audio-chunker.js';
import { FluxTurnTracker, parseTurnInfo } from './flux-turns.js';
import { isRecord } from './deepgram-messages.js';

export interface FluxSttOptions {
  /** `flux-general-en` (or `flux-general-multi`). */
  model: string;
  /** End-of-turn confidence (0.5–1.0); unset = Deepgram's default (0.7). */
  eotThreshold?: number;
  /** Eager end-of-turn confidence (0.3–0.9); unset = no EagerEndOfTurn / TurnResumed events. */
  eagerEotThreshold?: number;
  /** A turn ends this long after speech whatever the confidence (500–60000); unset = Deepgram's 5000. */
  eotTimeoutMs?: number;
  /** Audio per message. Default 80 (Deepgram's recommendation). */
  chunkMs?: number;
  /** Send silence after this long without caller audio. Default 500. */
  silenceFillMs?: number;
  /** Caller audio kept while the socket is not open. Default 10000. */
  maxBufferMs?: number;
}

export interface DeepgramFluxSttDeps {
  client: DeepgramClient;
  pipe: MediaPipe;
  log: Logger;
  options: FluxSttOptions;
  reconnect?: ReconnectPolicy;
}

type FluxConnectArgs = Parameters<DeepgramClient['listen']['v2']['connect']>[0];

export function fluxConnectArgs(options: FluxSttOptions): FluxConnectArgs {
  return {
    model: options.model,
    encoding: 'mulaw',
    sample_rate: 8000,
    ...(options.eotThreshold === undefined ? {} : { eot_threshold: options.eotThreshold }),
    ...(options.eagerEotThreshold === undefined ? {} : { eager_eot_threshold: options.eagerEotThreshold }),
    ...(options.eotTimeoutMs === undefined ? {} : { eot_timeout_ms: options.eotTimeoutMs }),
    // We reconnect ourselves (see deepgram-reconnect.ts).
    shouldReconnect: () => false,
    connectionTimeoutInSeconds: 5,
  };
}

export function createDeepgramFluxStt(deps: DeepgramFluxSttDeps) {
  // Flux (flux-general-en) is English-only: a per-call language does not apply.
  return fromCallback<EventObject, SttInput>(({ sendBack }) => {
    const session = new FluxSttSession(deps, (event) => sendBack(event));
    session.start();
    return () => session.stop();
  });
}

/** Longest silence sent at once by the fill (a stall longer than this is filled over several periods). */
const MAX_FILL_MS = 2000;

class FluxSttSession {
  private readonly link: SttAudioLink;
  private readonly tracker = new FluxTurnTracker();
  private readonly reconnector: Reconnector<FluxSocket>;
  private readonly chunkBytes: number;
  private readonly fillMs: number;
  private readonly chunker: AudioChunker;
  private fillTimer: NodeJS.Timeout | null = null;
  /** performance.now() of the last audio sent: audio only records it, the fill timer checks it when due. */
  private lastSentAt = 0;
  /** Protocol surprises already logged (a misbehaving server must not log every 0.25 s). */
  private readonly surprises = new Set<string>();
  private stopped = false;
  private dead = false;

  constructor(
    private readonly deps: DeepgramFluxSttDeps,
    private readonly report: (event: CallEvent) => void,
  ) {
    this.chunkBytes = Math.max(1, Math.round((deps.options.chunkMs ?? 80) * BYTES_PER_MS));
    this.chunker = new AudioChunker(this.chunkBytes, (chunk) => this.sendChunk(chunk));
    this.fillMs = deps.options.silenceFillMs ?? 500;
    this.link = new SttAudioLink(new SttAudioBuffer((deps.options.maxBufferMs ?? 10_000) * BYTES_PER_MS), deps.log, 'stt');
    const args = fluxConnectArgs(deps.options);
    this.reconnector = new Reconnector<FluxSocket>({
      name: 'stt',
      log: deps.log,
      policy: deps.reconnect ?? defaultReconnectPolicy,
      create: async (h) => wireAndConnect(await deps.client.listen.v2.connect(args), h),
      onOpen: (socket) => this.onOpen(socket),
      onMessage: (msg) => this.onMessage(msg),
      onDown: (reason) => {
        this.reportAll(this.tracker.connectionLost(now()));
        this.report({ type: 'STT.ERROR', message: reason, recoverable: true, at: now() });
      },
      onGiveUp: (reason) => {
        this.dead = true;
        this.link.discard(); // nothing will ever send it
        this.chunker.discard();
        this.reportAll(this.tracker.connectionLost(now()));
        this.report({ type: 'STT.ERROR', message: reason, recoverable: false, at: now() });
      },
    });
  }

  start(): void {
    // Attach first, synchronously: the pipe hands over audio it kept before we existed.
    this.deps.pipe.onInbound((chunk) => this.onAudio(chunk));
    this.lastSentAt = performance.now();
    this.fillTimer = setTimeout(() => this.onFillDue(), this.fillMs);
    this.reconnector.start();
  }

  stop(): void {
    if (this.stopped) return;
    this.deps.pipe.onInbound(null);
    if (!this.dead) this.chunker.flush(); // the caller's last words go out before CloseStream
    this.stopped = true;
    if (this.fillTimer) clearTimeout(this.fillTimer);
    this.reconnector.stop((socket) => socket.sendCloseStream({ type: 'CloseStream' }));
    this.deps.log.info('stt: stopped');
  }

  /** 20 ms Twilio frames, gathered into `chunkMs` messages. */
  private onAudio(frame: Buffer): void {
    if (this.stopped || this.dead || frame.length === 0) return; // never an empty binary frame
    this.chunker.push(frame);
  }

  private sendChunk(chunk: Buffer): void {
    // 12 messages a second: re-arming a timer per message costs more than recording the time.
    if (this.link.send(this.reconnector.current, chunk)) this.lastSentAt = performance.now();
  }

  private onOpen(socket: FluxSocket): void {
    const resentBytes = this.link.replay(socket);
    this.lastSentAt = performance.now();
    this.report({ type: 'STT.CONNECTED', resentBytes, at: now() });
  }

  private onFillDue(): void {
    if (this.stopped) return;
    const quietMs = performance.now() - this.lastSentAt;
    // (1 ms of slack: libuv's cached loop time can fire a timer a hair before performance.now() says it is due.)
    if (quietMs < this.fillMs - 1) {
      this.fillTimer = setTimeout(() => this.onFillDue(), this.fillMs - quietMs);
      return;
    }
    const socket = this.reconnector.current;
    if (socket && !this.dead) {
      this.chunker.flush();
      const fill = silence(Math.min(quietMs, MAX_FILL_MS));
      for (let at = 0; at < fill.length; at += this.chunkBytes) this.link.send(socket, fill.subarray(at, at + this.chunkBytes));
      this.deps.log.debug('stt: no caller audio; silence sent to Flux', { ms: Math.round(quietMs) });
    }
    this.lastSentAt = performance.now();
    this.fillTimer = setTimeout(() => this.onFillDue(), this.fillMs);
  }

  private onMessage(msg: unknown): void {
    if (this.stopped || !isRecord(msg)) return;
    const info = parseTurnInfo(msg);
    if (info) {
      const { events, unexpected } = this.tracker.onTurnInfo(info, now());
      if (unexpected && !this.surprises.has(unexpected)) {
        this.surprises.add(unexpected);
        this.deps.log.warn('stt: unexpected Flux turn event (ignored)', { detail: unexpected, turnIndex: info.turnIndex });
      }
      this.reportAll(events);
      this.link.settle(Math.floor(this.tracker.settledMs * BYTES_PER_MS));
      return;
    }
    switch (msg.type) {
      case 'Connected':
        this.deps.log.debug('stt: flux connected', { requestId: msg.request_id });
        return;
      case 'ConfigureSuccess':
        this.deps.log.info('stt: flux thresholds configured', { thresholds: msg.thresholds });
        return;
      case 'ConfigureFailure':
        this.deps.log.warn('stt: flux Configure rejected');
        return;
      case 'Error':
        // Flux closes the socket after an Error: the reconnector reports the outage.
        this.deps.log.warn('stt: flux error', { code: msg.code, description: msg.description });
        return;
      default:
        this.deps.log.debug('stt: unhandled message', { type: String(msg.type) });
    }
  }

  private reportAll(events: readonly CallEvent[]): void {
    for (const e of events) this.report(e);
  }
}
