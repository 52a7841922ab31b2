/**
 * Options, observer events and counters of the Deepgram simulator (shared by the server and its two session kinds).
 * Every `at` is `performance.timeOrigin + performance.now()`, the same clock as `actors/clock.ts`, so the benchmark
 * can subtract simulator times from call-event times directly.
 */
import type { Logger } from '../lib/logger.js';
import type { FluxSimEventMap, FluxSimOptions } from './deepgram-flux-types.js';

/** Every option of the simulator; the /v2/listen (Flux) ones are in FluxSimOptions. */
export interface DeepgramSimOptions extends FluxSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Accepted key for `Authorization: Token <key>`; default: any non-empty key. */
  apiKey?: string;
  log?: Logger;
  /**
   * The simulated world's clock speed (default 1: Deepgram as it is). A world played N times faster (the harness's
   * `speed`) hands the server N-times-shorter settings; Deepgram's own minimums (`utterance_end_ms` ≥ 1000) then hold
   * on that clock, i.e. ≥ 1000 / N. At 1 the simulator refuses what Deepgram refuses.
   */
  clockSpeed?: number;

  // ── /v1/listen ──
  /** Close 1011 (NET-0001) after this long without audio or a text message. Default 10000. */
  idleTimeoutMs?: number;
  /** Audio time between interim Results during speech. Default 200. */
  interimIntervalMs?: number;
  /** A long utterance gets is_final=true, speech_final=false Results every this much audio. Default 3000. */
  maxFinalSpanMs?: number;
  /** Wall-clock delay added before every STT message (recognition latency). Default 0. */
  sttLatencyMs?: number;
  /** Return true to send speech_final=false at the endpoint of this utterance (exercises the UtteranceEnd fallback). */
  withholdSpeechFinal?: (utteranceText: string) => boolean;
  /**
   * Burst mode: transcribe each speech-energy burst as the next of these phrases, whatever the audio says (for audio
   * that went through a real path, e.g. a browser's microphone). Empty or absent: decode simulated speech.
   */
  burstPhrases?: readonly string[];

  // ── /v1/speak ──
  /** Wall-clock delay from Flush to the first audio chunk. Default 50. */
  ttsFirstByteMs?: number;
  /** Audio length per character of text. Default 60. */
  ttsMsPerChar?: number;
  /** Bytes per binary audio frame. Default 1600 (200 ms). */
  ttsChunkBytes?: number;
  /** Wall-clock gap between audio frames (Deepgram is faster than real time). Default 5. */
  ttsChunkIntervalMs?: number;
  /** Wall-clock time a Clear takes to take effect; audio keeps flowing meanwhile. Default 0. */
  ttsClearDelayMs?: number;
  /** Flush rate limit before a Warning is sent. Default 20 per 60000 ms. */
  flushLimit?: { count: number; windowMs: number };
}

export type ResolvedSimOptions = Required<Omit<DeepgramSimOptions, 'apiKey' | 'log' | 'withholdSpeechFinal'>> &
  Pick<DeepgramSimOptions, 'apiKey' | 'withholdSpeechFinal'> & { log: Logger | undefined };

/** `listen` = /v1/listen (Nova), `flux` = /v2/listen, `speak` = /v1/speak. */
export type SocketKind = 'listen' | 'flux' | 'speak';

type At = { connection: number; at: number };

/** Observer events (name → payload); the /v2/listen ones are in FluxSimEventMap. */
export interface DeepgramSimEventMap extends FluxSimEventMap {
  'auth.rejected': [{ path: string; at: number }];
  'listen.open': [At & { params: Record<string, string> }];
  'listen.speechStarted': [At & { timestamp: number }];
  'listen.results': [
    At & { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean; transcript: string; start: number; duration: number },
  ];
  'listen.utteranceEnd': [At & { lastWordEnd: number }];
  'listen.keepAlive': [At];
  'listen.finalize': [At];
  'listen.closeStream': [At];
  'listen.close': [At & { code: number; reason: string }];
  'speak.open': [At & { params: Record<string, string> }];
  'speak.speak': [At & { text: string }];
  'speak.flush': [At & { sequenceId: number; text: string }];
  'speak.audioStart': [At & { sequenceId: number }];
  'speak.flushed': [At & { sequenceId: number; bytes: number }];
  'speak.clear': [At];
  'speak.cleared': [At & { sequenceId: number }];
  'speak.warning': [At & { code: string }];
  'speak.close': [At & { code: number; reason: string }];
  /** The `dropSpeakMidSegment` fault fired: the socket was dropped after `bytes` of that flush's audio. */
  'speak.dropped': [At & { sequenceId: number; bytes: number }];
}

/** Live counters (read them any time). */
export interface DeepgramSimStats {
  listenConnections: number;
  /** /v2/listen (Flux) connections, and the audio messages received on them. */
  fluxConnections: number;
  fluxAudioMessages: number;
  speakConnections: number;
  authRejected: number;
  /** Caller audio bytes received on /v1/listen and /v2/listen. */
  listenAudioBytes: number;
  /** Binary audio messages received on /v1/listen (a client may gather several 20 ms frames into one). */
  listenAudioMessages: number;
  /** 20 ms frames judged on /v1/listen, and those loud enough to be speech. */
  listenFrames: number;
  listenSpeechFrames: number;
  keepAlives: number;
  /** Zero-length binary frames received (a client must never send one: Deepgram treats it as CloseStream). */
  emptyFrames: number;
  speakMessages: number;
  flushes: number;
  clears: number;
  /** Audio bytes sent on /v1/speak. */
  speakAudioBytes: number;
}

export function newStats(): DeepgramSimStats {
  return {
    listenConnections: 0,
    fluxConnections: 0,
    fluxAudioMessages: 0,
    speakConnections: 0,
    authRejected: 0,
    listenAudioBytes: 0,
    listenAudioMessages: 0,
    listenFrames: 0,
    listenSpeechFrames: 0,
    keepAlives: 0,
    emptyFrames: 0,
    speakMessages: 0,
    flushes: 0,
    clears: 0,
    speakAudioBytes: 0,
  };
}

/** Fault switches armed at run time (one-shot: each fires once, then disarms itself). */
export interface SimFaults {
  /** Drop the next /v1/speak socket once it has sent this many bytes of one flush's audio with more to come. */
  dropSpeakAfterBytes: number | null;
}

/** What a session needs from the server. */
export interface SessionContext {
  connection: number;
  options: ResolvedSimOptions;
  stats: DeepgramSimStats;
  faults: SimFaults;
  emit<K extends keyof DeepgramSimEventMap>(name: K, ...payload: DeepgramSimEventMap[K]): void;
}

export function simNow(): number {
  return performance.timeOrigin + performance.now();
}

export function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
