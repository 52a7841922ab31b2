/**
 * The `stt` child: one Deepgram live-transcription socket (`listen.v1.connect`) for the life of the call.
 *
 * - Caller audio comes from the MediaPipe (attached synchronously at start), never through the machine.
 * - Audio that arrives before the socket opens, or while it is down, is buffered (≤ maxBufferMs, oldest dropped)
 *   and sent in order on open; audio Deepgram had not finalised when a socket dropped is replayed too
 *   (see `SttAudioBuffer`), so a drop loses no words unless the outage outlasts the buffer.
 * - `KeepAlive` after keepAliveMs without anything sent; never an empty binary frame; `CloseStream` on stop.
 * - Reports STT.INTERIM / STT.FINAL / STT.UTTERANCE_END / STT.SPEECH_STARTED, STT.CONNECTED {resentBytes} on every
 *   open (bytes replayed from the buffer), STT.ERROR recoverable:true on a drop (reconnecting) and
 *   recoverable:false when it gives up (then caller audio is discarded). Never throws.
 * - Silent-socket watchdog: Deepgram can keep a socket open and stop sending anything. When caller audio with
 *   speech energy was sent and no message at all came back for `silenceWatchdogMs`, the socket is reconnected like
 *   after a drop (STT.ERROR recoverable:true, then the unfinalised audio is replayed) and `onWatchdog` counts it.
 */
import { fromCallback, type EventObject } from 'xstate';
import type { SttInput } from '../machines/call.machine.js';
import type { CallEvent } from '../machines/events.js';
import type { MediaPipe } from './media-pipe.js';
import { errorMessage, type Logger } from '../lib/logger.js';
import { now } from '../lib/clock.js';
import { BYTES_PER_MS, isSpeech } from '../lib/mulaw.js';
import type { DeepgramClient, ListenSocket } from './deepgram-client.js';
import { defaultReconnectPolicy, Reconnector, wireAndConnect, type ReconnectPolicy } from './deepgram-reconnect.js';
import { SttAudioBuffer } from './deepgram-stt-buffer.js';
import { AudioChunker } from './audio-chunker.js';
import { isRecord } from './deepgram-messages.js';
import { SilenceWatchdog } from './silence-watchdog.js';

export interface SttOptions {
  model: string;
  endpointingMs: number;
  /** ≥ 1000 against Deepgram (its minimum); only a simulated world on a faster clock passes less. */
  utteranceEndMs: number;
  /** Caller audio is sent in messages of this many ms (whole 20 ms frames gathered). Default 40; 20 = frame by frame. */
  chunkMs?: number;
  /** Send KeepAlive after this long without audio. Default 5000 (Deepgram closes after 10 s). */
  keepAliveMs?: number;
  language?: string;
  /** Caller audio kept while the socket is not open. Default 10000. */
  maxBufferMs?: number;
  /** Caller speech sent and no STT message this long → reconnect. Default 5000; 0 = off. */
  silenceWatchdogMs?: number;
}

export interface DeepgramSttDeps {
  client: DeepgramClient;
  pipe: MediaPipe;
  log: Logger;
  options: SttOptions;
  reconnect?: ReconnectPolicy;
  /** The watchdog reconnected a silent socket (metrics). */
  onWatchdog?: () => void;
}

type ListenConnectArgs = Parameters<DeepgramClient['listen']['v1']['connect']>[0];

export function listenConnectArgs(options: SttOptions): ListenConnectArgs {
  return {
    model: options.model,
    encoding: 'mulaw',
    sample_rate: 8000,
    channels: 1,
    interim_results: 'true',
    endpointing: options.endpointingMs,
    // As given: Deepgram requires ≥ 1000 ms and the config checks it (STT_UTTERANCE_END_MS); a simulated world on a
    // faster clock (src/harness/sim-speed.ts) passes its scaled value to a simulator that knows that clock.
    utterance_end_ms: options.utteranceEndMs,
    vad_events: 'true',
    smart_format: 'true',
    ...(options.language ? { language: options.language } : {}),
    queryParams: { no_delay: 'true' },
    // We reconnect ourselves (see deepgram-reconnect.ts).
    shouldReconnect: () => false,
    connectionTimeoutInSeconds: 5,
  };
}

export function createDeepgramStt(deps: DeepgramSttDeps) {
  return fromCallback<EventObject, SttInput>(({ sendBack, input }) => {
    // A per-call language (the agent's onCallStart) overrides the server's STT_LANGUAGE.
    const language = input?.language ?? null;
    const callDeps = language === null ? deps : { ...deps, options: { ...deps.options, language } };
    const session = new SttSession(callDeps, (event) => sendBack(event));
    session.start();
    return () => session.stop();
  });
}

class SttSession {
  private readonly buffer: SttAudioBuffer;
  private readonly chunker: AudioChunker;
  private readonly reconnector: Reconnector<ListenSocket>;
  private readonly watchdog: SilenceWatchdog;
  private readonly keepAliveMs: number;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  /** When we last sent anything (performance.now()): audio only records it, the timer checks it when due. */
  private lastSentAt = 0;
  private stopped = false;
  private dead = false;

  constructor(
    private readonly deps: DeepgramSttDeps,
    private readonly report: (event: CallEvent) => void,
  ) {
    this.keepAliveMs = deps.options.keepAliveMs ?? 5000;
    this.buffer = new SttAudioBuffer((deps.options.maxBufferMs ?? 10_000) * BYTES_PER_MS);
    this.chunker = new AudioChunker(Math.max(1, Math.round((deps.options.chunkMs ?? 40) * BYTES_PER_MS)), (chunk) => this.sendAudio(chunk));
    const args = listenConnectArgs(deps.options);
    this.reconnector = new Reconnector<ListenSocket>({
      name: 'stt',
      log: deps.log,
      policy: deps.reconnect ?? defaultReconnectPolicy,
      create: async (h) => wireAndConnect(await deps.client.listen.v1.connect(args), h),
      onOpen: (socket) => this.onOpen(socket),
      onMessage: (msg) => this.onMessage(msg),
      onDown: (reason) => {
        this.watchdog.cancel();
        this.report({ type: 'STT.ERROR', message: reason, recoverable: true, at: now() });
      },
      onGiveUp: (reason) => {
        this.dead = true;
        this.watchdog.stop();
        this.chunker.discard();
        this.buffer.takeReplay(); // nothing will ever send it
        this.report({ type: 'STT.ERROR', message: reason, recoverable: false, at: now() });
      },
    });
    this.watchdog = new SilenceWatchdog(deps.options.silenceWatchdogMs ?? 5000, (silentMs) => this.onSilent(silentMs));
  }

  start(): void {
    // Attach first, synchronously: the pipe hands over audio it kept before we existed.
    this.deps.pipe.onInbound((frame) => {
      if (!this.stopped && !this.dead && frame.length > 0) this.chunker.push(frame); // never an empty binary frame
    });
    this.lastSentAt = performance.now();
    this.keepAliveTimer = setTimeout(() => this.onKeepAliveDue(), this.keepAliveMs);
    this.reconnector.start();
  }

  stop(): void {
    if (this.stopped) return;
    this.deps.pipe.onInbound(null);
    if (!this.dead) this.chunker.flush(); // the caller's last words go out before CloseStream
    this.stopped = true;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.watchdog.stop();
    this.reconnector.stop((socket) => socket.sendCloseStream({ type: 'CloseStream' }));
    this.deps.log.info('stt: stopped');
  }

  private sendAudio(chunk: Buffer): void {
    const socket = this.reconnector.current;
    if (!socket) {
      this.buffer.hold(chunk);
      return;
    }
    try {
      socket.sendMedia(chunk);
      this.buffer.sent(chunk);
      // 50 frames a second: re-arming a timer per frame costs more than the frame's own bookkeeping.
      this.lastSentAt = performance.now();
      // The level is checked only while no answer is due (once due, the wait counts from the first speech).
      if (!this.watchdog.waiting && isSpeech(chunk)) this.watchdog.expect();
    } catch (err) {
      // Closed between our check and the send: keep it for the next connection.
      this.buffer.hold(chunk);
      this.deps.log.debug('stt: audio held (socket not writable)', { error: errorMessage(err) });
    }
  }

  private onOpen(socket: ListenSocket): void {
    const replay = this.buffer.takeReplay();
    let resentBytes = 0;
    for (let i = 0; i < replay.length; i++) {
      const chunk = replay[i] as Buffer;
      try {
        socket.sendMedia(chunk);
      } catch (err) {
        // Closed mid-replay: keep the rest for the next connection (the close handler follows).
        for (const rest of replay.slice(i)) this.buffer.hold(rest);
        this.deps.log.warn('stt: replay interrupted', { error: errorMessage(err) });
        break;
      }
      this.buffer.sent(chunk);
      resentBytes += chunk.length;
    }
    this.lastSentAt = performance.now();
    // Replayed speech is owed an answer too (the caller may have stopped talking while the socket was down).
    this.watchdog.cancel();
    if (replay.some((chunk) => isSpeech(chunk))) this.watchdog.expect();
    if (this.buffer.lostBytes > 0) {
      this.deps.log.warn('stt: caller audio lost while disconnected (buffer full)', { lostBytes: this.buffer.lostBytes });
      this.buffer.lostBytes = 0;
    }
    this.report({ type: 'STT.CONNECTED', resentBytes, at: now() });
  }

  private onKeepAliveDue(): void {
    if (this.stopped) return;
    const quietMs = performance.now() - this.lastSentAt;
    // (1 ms of slack: libuv's cached loop time can fire a timer a hair before performance.now() says it is due.)
    if (quietMs < this.keepAliveMs - 1) {
      // Something was sent since the timer was armed: wait for the rest of the quiet period.
      this.keepAliveTimer = setTimeout(() => this.onKeepAliveDue(), this.keepAliveMs - quietMs);
      return;
    }
    if (this.chunker.pendingBytes > 0 && !this.dead) {
      // The caller's frames stopped mid-chunk: send the rest of their audio rather than a KeepAlive.
      this.chunker.flush();
      this.keepAliveTimer = setTimeout(() => this.onKeepAliveDue(), this.keepAliveMs);
      return;
    }
    const socket = this.reconnector.current;
    if (socket) {
      try {
        socket.sendKeepAlive({ type: 'KeepAlive' });
      } catch (err) {
        this.deps.log.debug('stt: KeepAlive not sent', { error: errorMessage(err) });
      }
    }
    this.lastSentAt = performance.now();
    this.keepAliveTimer = setTimeout(() => this.onKeepAliveDue(), this.keepAliveMs);
  }

  /** The socket stayed open and said nothing while caller speech flowed: reconnect it (replaying the audio). */
  private onSilent(silentMs: number): void {
    if (this.stopped || this.dead) return;
    this.deps.log.warn('stt: no message while caller speech flowed; reconnecting', { silentMs });
    this.deps.onWatchdog?.();
    this.reconnector.recycle(`watchdog: no STT message for ${silentMs} ms while caller speech flowed`);
  }

  private onMessage(msg: unknown): void {
    if (this.stopped || !isRecord(msg)) return;
    const at = now();
    this.watchdog.answered();
    switch (msg.type) {
      case 'Results':
        this.reconnector.healthy();
        return this.onResults(msg, at);
      case 'SpeechStarted':
        return this.report({ type: 'STT.SPEECH_STARTED', at });
      case 'UtteranceEnd':
        return this.report({ type: 'STT.UTTERANCE_END', at });
      case 'Metadata':
        this.deps.log.debug('stt: metadata', { requestId: msg.request_id });
        return;
      default:
        this.deps.log.debug('stt: unhandled message', { type: String(msg.type) });
    }
  }

  private onResults(msg: Record<string, unknown>, at: number): void {
    const isFinal = msg.is_final === true;
    const speechFinal = msg.speech_final === true;
    const text = transcriptOf(msg);
    if (isFinal) {
      const start = typeof msg.start === 'number' ? msg.start : 0;
      const duration = typeof msg.duration === 'number' ? msg.duration : 0;
      this.buffer.confirm(Math.round((start + duration) * 1000 * BYTES_PER_MS));
      // An empty speech_final still ends the turn (its words came in earlier finals): waiting for the
      // UtteranceEnd instead would add utterance_end_ms to the reply latency.
      if (text || speechFinal) this.report({ type: 'STT.FINAL', text, speechFinal, at });
    } else if (text) {
      this.report({ type: 'STT.INTERIM', text, at });
    }
  }
}

function transcriptOf(msg: Record<string, unknown>): string {
  const channel = msg.channel;
  if (!isRecord(channel) || !Array.isArray(channel.alternatives)) return '';
  const first: unknown = channel.alternatives[0];
  if (!isRecord(first) || typeof first.transcript !== 'string') return '';
  return first.transcript.trim();
}
