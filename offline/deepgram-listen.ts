/**
 * One simulated Deepgram live-transcription socket (`/v1/listen`). It is driven only by the audio it receives:
 * each 20 ms frame is speech or silence by its level, and the simulated-speech decoder "recognises" the words in it.
 * Its clock is AUDIO time (bytes / 8 per ms): Twilio streams continuously in real time, and tests may feed faster.
 *
 * Behaviour (as Deepgram): SpeechStarted at speech onset (vad_events); interim Results every interimIntervalMs of
 * speech (interim_results); is_final=true speech_final=false Results every maxFinalSpanMs of a long utterance; after
 * `endpointing` ms of silence is_final=true speech_final=true with the remaining words; UtteranceEnd once
 * `utterance_end_ms` passed since the last word (needs interim_results); empty is_final Results during long silence.
 * Noise (words marked as such by the caller, speech-codec.ts) shows in interim Results and not in final ones.
 * With `burstPhrases` the words come from the script instead of the audio, one phrase per burst (speech-bursts.ts).
 */
import type { WebSocket } from 'ws';
import { randomUUID } from 'node:crypto';
import { FRAME_MS, rms, SPEECH_RMS_THRESHOLD } from '../lib/mulaw.js';
import { isNoiseWord, SpeechDecoder, withoutNoiseMark } from './speech-codec.js';
import { BurstTranscriber } from './speech-bursts.js';
import { parseJsonObject, simNow, type SessionContext } from './deepgram-sim-types.js';

interface SimWord {
  token: string;
  start: number;
  end: number;
}

export interface ListenParams {
  interimResults: boolean;
  /** null = endpointing disabled. */
  endpointingMs: number | null;
  utteranceEndMs: number | null;
  vadEvents: boolean;
  smartFormat: boolean;
  bytesPerMs: number;
  model: string;
}

function flag(params: URLSearchParams, name: string): boolean {
  return params.get(name) === 'true';
}

function positiveNumber(value: string | null): number | null {
  if (value === null || value === 'false') return null;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : null;
}

export function parseListenParams(params: URLSearchParams): ListenParams {
  const sampleRate = positiveNumber(params.get('sample_rate')) ?? 8000;
  return {
    interimResults: flag(params, 'interim_results'),
    // Deepgram's default endpointing is 10 ms when the parameter is absent.
    endpointingMs: params.has('endpointing') ? positiveNumber(params.get('endpointing')) : 10,
    utteranceEndMs: positiveNumber(params.get('utterance_end_ms')),
    vadEvents: flag(params, 'vad_events'),
    smartFormat: flag(params, 'smart_format') || flag(params, 'punctuate'),
    bytesPerMs: sampleRate / 1000, // µ-law: one byte per sample
    model: params.get('model') ?? 'nova-2',
  };
}

/** Deepgram's floor for `utterance_end_ms`: its interim results come about once a second, so a shorter gap means nothing. */
export const UTTERANCE_END_MIN_MS = 1000;

/**
 * Why Deepgram would refuse these parameters at the handshake (null: it accepts them). `clockSpeed` > 1: the world runs
 * that many times faster, and so does the minimum (see DeepgramSimOptions.clockSpeed).
 */
export function listenParamsError(params: ListenParams, clockSpeed: number): string | null {
  const minimum = UTTERANCE_END_MIN_MS / clockSpeed;
  if (params.utteranceEndMs !== null && params.utteranceEndMs < minimum) {
    return `utterance_end_ms must be at least ${clockSpeed === 1 ? UTTERANCE_END_MIN_MS : `${minimum} (${UTTERANCE_END_MIN_MS} at clock speed ${clockSpeed})`}, got ${params.utteranceEndMs}`;
  }
  return null;
}

const IDLE_REASON = 'NET-0001: Deepgram did not receive audio data or a text message within the timeout window.';

export class ListenSession {
  private readonly requestId = randomUUID();
  private readonly decoder = new SpeechDecoder();
  private readonly bursts: BurstTranscriber | null;
  private readonly frameBytes: number;
  private carry = Buffer.alloc(0);
  private audioMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Silenced: audio is still taken (and recognised), nothing is sent. */
  private silent = false;

  // Recognition state.
  private partial = '';
  private partialStartMs = 0;
  private words: SimWord[] = [];
  private utteranceTokens: string[] = [];
  private inSpeech = false;
  private utteranceOpen = false;
  private lastSpeechEndMs = 0;
  private spanStartMs = 0;
  private lastInterimMs = Number.NEGATIVE_INFINITY;
  private lastWordEndMs: number | null = null;
  private wordsSinceUtteranceEnd = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly params: ListenParams,
    private readonly ctx: SessionContext,
  ) {
    this.frameBytes = Math.round(FRAME_MS * params.bytesPerMs);
    const phrases = ctx.options.burstPhrases;
    this.bursts = phrases.length > 0 ? new BurstTranscriber(phrases, { gapMs: params.endpointingMs ?? undefined }) : null;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => {}); // abrupt client drops surface as close
    this.armIdleTimer();
  }

  /** From now on this socket stays open and sends nothing (see DeepgramSimulator.silenceConnections). */
  silence(): void {
    this.silent = true;
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    if (this.closed) return;
    const buf = toBuffer(data);
    if (isBinary) {
      if (buf.length === 0) {
        // Deepgram treats an empty binary frame as the legacy "close stream" signal.
        this.ctx.stats.emptyFrames++;
        this.closeStream();
        return;
      }
      this.armIdleTimer();
      this.ctx.stats.listenAudioBytes += buf.length;
      this.ctx.stats.listenAudioMessages++;
      this.onAudio(buf);
      return;
    }
    const msg = parseJsonObject(buf.toString('utf8'));
    const at = simNow();
    const connection = this.ctx.connection;
    switch (msg?.type) {
      case 'KeepAlive':
        this.armIdleTimer();
        this.ctx.stats.keepAlives++;
        this.ctx.emit('listen.keepAlive', { connection, at });
        return;
      case 'Finalize':
        this.armIdleTimer();
        this.ctx.emit('listen.finalize', { connection, at });
        this.completePartialWord(this.audioMs);
        this.sendResults({ isFinal: true, speechFinal: false, fromFinalize: true });
        return;
      case 'CloseStream':
        this.ctx.emit('listen.closeStream', { connection, at });
        this.closeStream();
        return;
      default:
        this.close(1008, 'DATA-0000: unknown or malformed message type');
    }
  }

  private onAudio(buf: Buffer): void {
    let data = this.carry.length > 0 ? Buffer.concat([this.carry, buf]) : buf;
    while (data.length >= this.frameBytes) {
      this.onFrame(data.subarray(0, this.frameBytes));
      data = data.subarray(this.frameBytes);
    }
    this.carry = Buffer.from(data);
  }

  private onFrame(frame: Buffer): void {
    const frameStart = this.audioMs;
    this.audioMs += frame.length / this.params.bytesPerMs;
    const speech = rms(frame) >= SPEECH_RMS_THRESHOLD;
    this.ctx.stats.listenFrames++;
    if (speech) this.ctx.stats.listenSpeechFrames++;
    if (this.bursts) this.consumeText(this.bursts.push(speech, FRAME_MS), frameStart);
    else {
      this.decoder.push(frame);
      this.consumeText(this.decoder.take(), frameStart);
    }
    if (speech) this.onSpeechFrame(frameStart);
    else this.onSilenceFrame();
  }

  private onSpeechFrame(frameStart: number): void {
    if (!this.inSpeech) {
      this.inSpeech = true;
      if (!this.utteranceOpen) {
        this.utteranceOpen = true;
        if (this.params.vadEvents) this.sendSpeechStarted(frameStart);
      }
    }
    this.lastSpeechEndMs = this.audioMs;
    const opts = this.ctx.options;
    if (this.params.interimResults && this.audioMs - this.lastInterimMs >= opts.interimIntervalMs) {
      this.lastInterimMs = this.audioMs;
      this.sendResults({ isFinal: false, speechFinal: false, fromFinalize: false });
    }
    if (this.audioMs - this.spanStartMs >= opts.maxFinalSpanMs && this.words.length > 0) {
      this.sendResults({ isFinal: true, speechFinal: false, fromFinalize: false });
    }
  }

  private onSilenceFrame(): void {
    if (this.inSpeech) {
      this.inSpeech = false;
      this.completePartialWord(this.lastSpeechEndMs);
    }
    const endpointing = this.params.endpointingMs;
    if (this.utteranceOpen && endpointing !== null && this.audioMs - this.lastSpeechEndMs >= endpointing) {
      this.utteranceOpen = false;
      const utterance = [...this.utteranceTokens, ...this.words.map((w) => w.token)].join(' ');
      const withheld = this.ctx.options.withholdSpeechFinal?.(utterance) ?? false;
      this.sendResults({ isFinal: true, speechFinal: !withheld, fromFinalize: false });
      this.utteranceTokens = [];
    }
    const utteranceEndMs = this.params.utteranceEndMs;
    if (
      this.params.interimResults &&
      utteranceEndMs !== null &&
      this.wordsSinceUtteranceEnd &&
      this.lastWordEndMs !== null &&
      this.audioMs - this.lastWordEndMs >= utteranceEndMs
    ) {
      this.wordsSinceUtteranceEnd = false;
      this.sendUtteranceEnd(this.lastWordEndMs);
    }
    // Long silence still yields (empty) final Results now and then, as with the real service.
    if (!this.utteranceOpen && this.audioMs - this.spanStartMs >= this.ctx.options.maxFinalSpanMs) {
      this.sendResults({ isFinal: true, speechFinal: false, fromFinalize: false });
    }
  }

  /** Newly decoded characters → words (a word completes at whitespace or when speech stops). */
  private consumeText(text: string, frameStart: number): void {
    for (const ch of text) {
      if (/\s/.test(ch)) {
        this.completePartialWord(this.audioMs);
      } else {
        if (this.partial.length === 0) this.partialStartMs = frameStart;
        this.partial += ch;
      }
    }
  }

  private completePartialWord(endMs: number): void {
    if (this.partial.length === 0) return;
    this.words.push({ token: this.partial, start: this.partialStartMs, end: Math.max(endMs, this.partialStartMs) });
    this.partial = '';
    this.lastWordEndMs = endMs;
    this.wordsSinceUtteranceEnd = true;
  }

  private sendResults(kind: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean }): void {
    // Noise words show in interim results and are revised away in the final one (speech-codec.ts, NOISE_MARK).
    const words = (kind.isFinal ? this.words.filter((w) => !isNoiseWord(w.token)) : this.words).map((w) => ({
      ...w,
      token: withoutNoiseMark(w.token),
    }));
    const tokens = words.map((w) => this.format(w.token));
    const transcript = tokens.join(' ');
    const start = this.spanStartMs / 1000;
    const duration = (this.audioMs - this.spanStartMs) / 1000;
    if (kind.isFinal) {
      this.utteranceTokens.push(...words.map((w) => w.token));
      this.words = [];
      this.spanStartMs = this.audioMs;
    }
    const payload: Record<string, unknown> = {
      type: 'Results',
      channel_index: [0, 1],
      duration: round3(duration),
      start: round3(start),
      is_final: kind.isFinal,
      speech_final: kind.speechFinal,
      channel: {
        alternatives: [
          {
            transcript,
            confidence: words.length > 0 ? 0.98 : 0,
            words: words.map((w) => ({
              word: normaliseWord(w.token),
              start: round3(w.start / 1000),
              end: round3(w.end / 1000),
              confidence: 0.98,
              ...(this.params.smartFormat ? { punctuated_word: w.token } : {}),
            })),
          },
        ],
      },
      metadata: {
        request_id: this.requestId,
        model_info: { name: `2-general-${this.params.model}`, version: '2024-01-09.29447', arch: this.params.model },
        model_uuid: '4d892fb6-7b7b-4ad1-ad91-3e8c5a0a4f0e',
      },
    };
    if (kind.fromFinalize) payload.from_finalize = true;
    this.send(payload, () =>
      this.ctx.emit('listen.results', {
        connection: this.ctx.connection,
        at: simNow(),
        isFinal: kind.isFinal,
        speechFinal: kind.speechFinal,
        fromFinalize: kind.fromFinalize,
        transcript,
        start,
        duration,
      }),
    );
  }

  private format(token: string): string {
    return this.params.smartFormat ? token : normaliseWord(token);
  }

  private sendSpeechStarted(onsetMs: number): void {
    const timestamp = round3(onsetMs / 1000);
    this.send({ type: 'SpeechStarted', channel: [0, 1], timestamp }, () =>
      this.ctx.emit('listen.speechStarted', { connection: this.ctx.connection, at: simNow(), timestamp }),
    );
  }

  private sendUtteranceEnd(lastWordEndMs: number): void {
    const lastWordEnd = round3(lastWordEndMs / 1000);
    this.send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: lastWordEnd }, () =>
      this.ctx.emit('listen.utteranceEnd', { connection: this.ctx.connection, at: simNow(), lastWordEnd }),
    );
  }

  /** CloseStream: final Results for what is pending, Metadata, then close 1000. */
  private closeStream(): void {
    this.completePartialWord(this.audioMs);
    if (this.words.length > 0) this.sendResults({ isFinal: true, speechFinal: false, fromFinalize: false });
    const metadata = {
      type: 'Metadata',
      transaction_key: 'deprecated',
      request_id: this.requestId,
      sha256: '0'.repeat(64),
      created: new Date().toISOString(),
      duration: round3(this.audioMs / 1000),
      channels: 1,
    };
    this.send(metadata, () => this.close(1000, ''));
  }

  /** Sends in order, after the configured recognition latency; `after` runs once the frame is on the wire. */
  private send(payload: Record<string, unknown>, after?: () => void): void {
    const write = (): void => {
      if (this.ws.readyState !== this.ws.OPEN || this.silent) return;
      this.ws.send(JSON.stringify(payload));
      after?.();
    };
    const latency = this.ctx.options.sttLatencyMs;
    if (latency > 0) setTimeout(write, latency);
    else write();
  }

  private armIdleTimer(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.close(1011, IDLE_REASON), this.ctx.options.idleTimeoutMs);
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.ws.close(code, reason);
  }

  private onClose(code: number, reason: string): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.ctx.emit('listen.close', { connection: this.ctx.connection, at: simNow(), code, reason });
  }
}

export function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data.filter((d): d is Buffer => Buffer.isBuffer(d)));
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.alloc(0);
}

function normaliseWord(token: string): string {
  return token.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, '');
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
