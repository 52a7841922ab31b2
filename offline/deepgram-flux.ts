/**
 * One simulated Deepgram Flux socket (`/v2/listen`), driven only by the audio it receives, like the /v1/listen
 * simulator: 20 ms frames are speech or silence by level, the simulated-speech decoder yields the words, and
 * `FluxTurnModel` turns both into TurnInfo events. Its clock is audio time.
 *
 * Wire (docs/flux and the v5 SDK's ListenV2* types): `Connected` on open; `TurnInfo` {request_id, sequence_id, event,
 * turn_index, audio_window_start, audio_window_end, transcript, words[{word, confidence, start, end}],
 * end_of_turn_confidence, trigger (EndOfTurn only)}; `sequence_id` counts every server message from 0. Client text
 * messages: `Configure` (→ ConfigureSuccess / ConfigureFailure), `CloseStream` (one last Update, then the server
 * closes without a status code: the client sees 1005; the turn is not finalised), `ForceEndTurn` (EndOfTurn
 * trigger manual). v2 has no KeepAlive message: any other text message is answered with an `Error`
 * (UNPARSABLE_CLIENT_MESSAGE) and the socket is closed. WebSocket pings count as activity.
 *
 * Modelled, not documented: without audio, a ping or a message for `idleTimeoutMs` the socket is closed 1011.
 */
import type { WebSocket } from 'ws';
import { randomUUID } from 'node:crypto';
import { FRAME_MS, rms, SPEECH_RMS_THRESHOLD } from '../lib/mulaw.js';
import { SpeechWords, type TimedWord } from './speech-words.js';
import { FluxTurnModel, type FluxEmission, type FluxWord } from './flux-turn-model.js';
import { parseThresholds, type FluxParams } from './deepgram-flux-types.js';
import { toBuffer } from './deepgram-listen.js';
import { parseJsonObject, simNow, type SessionContext } from './deepgram-sim-types.js';

const WORD_CONFIDENCE = 0.97;
const IDLE_REASON = 'no audio, ping or message received within the timeout window';

export class FluxSession {
  private readonly requestId = randomUUID();
  private readonly words = new SpeechWords();
  private readonly model: FluxTurnModel;
  private readonly frameBytes: number;
  private readonly bytesPerMs: number;
  private sequenceId = 0;
  private carry = Buffer.alloc(0);
  private audioMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly params: FluxParams,
    private readonly ctx: SessionContext,
  ) {
    const o = ctx.options;
    this.model = new FluxTurnModel(
      { startOfTurnMs: o.fluxStartOfTurnMs, eagerMs: o.fluxEagerMs, finalMs: o.fluxFinalMs, updateIntervalMs: o.fluxUpdateIntervalMs },
      params.thresholds,
    );
    this.bytesPerMs = params.sampleRate / 1000; // µ-law: one byte per sample
    this.frameBytes = Math.round(FRAME_MS * this.bytesPerMs);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('ping', () => this.armIdleTimer());
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => {}); // abrupt client drops surface as close
    this.armIdleTimer();
    this.send({ type: 'Connected', request_id: this.requestId });
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    if (this.closed) return;
    this.armIdleTimer();
    const buf = toBuffer(data);
    if (isBinary) {
      if (buf.length === 0) {
        this.ctx.stats.emptyFrames++; // never meaningful; counted so tests can prove the client sends none
        return;
      }
      this.ctx.stats.listenAudioBytes += buf.length;
      this.ctx.stats.fluxAudioMessages++;
      this.onAudio(buf);
      return;
    }
    const msg = parseJsonObject(buf.toString('utf8'));
    const base = { connection: this.ctx.connection, at: simNow() };
    switch (msg?.type) {
      case 'Configure':
        return this.configure(msg);
      case 'CloseStream':
        this.ctx.emit('flux.closeStream', base);
        this.sendTurnInfo(this.model.closeStream(fluxWords(this.words.flush(this.audioMs))));
        // Flux closes without a status code (the client sees 1005) once the last Update is out.
        this.send(null, () => this.close());
        return;
      case 'ForceEndTurn':
        this.ctx.emit('flux.forceEndTurn', base);
        this.sendTurnInfo(this.model.forceEndTurn());
        return;
      default:
        this.fail('UNPARSABLE_CLIENT_MESSAGE', `unknown or malformed message type ${JSON.stringify(msg?.type ?? null)}`);
    }
  }

  private configure(msg: Record<string, unknown>): void {
    const base = { connection: this.ctx.connection, at: simNow() };
    const raw = msg.thresholds ?? {};
    const parsed =
      typeof raw === 'object' && raw !== null && !Array.isArray(raw)
        ? parseThresholds(raw as Record<string, unknown>, this.params.thresholds)
        : { error: 'thresholds must be an object' };
    if ('error' in parsed) {
      this.ctx.emit('flux.configure', { ...base, ok: false });
      this.send({ type: 'ConfigureFailure', request_id: this.requestId });
      return;
    }
    this.params.thresholds = parsed;
    this.model.configure(parsed);
    this.ctx.emit('flux.configure', { ...base, ok: true });
    this.send({
      type: 'ConfigureSuccess',
      request_id: this.requestId,
      thresholds: {
        eot_threshold: parsed.eotThreshold,
        eot_timeout_ms: parsed.eotTimeoutMs,
        ...(parsed.eagerEotThreshold === null ? {} : { eager_eot_threshold: parsed.eagerEotThreshold }),
      },
      keyterms: [],
    });
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
    const startMs = this.audioMs;
    this.audioMs += frame.length / this.bytesPerMs;
    const speech = rms(frame) >= SPEECH_RMS_THRESHOLD;
    const completed = fluxWords(this.words.push(frame, startMs, this.audioMs, speech));
    this.sendTurnInfo(this.model.onFrame(startMs, this.audioMs, speech, completed));
  }

  private sendTurnInfo(emissions: readonly FluxEmission[]): void {
    for (const e of emissions) {
      const transcript = e.words.map((w) => w.word).join(' ');
      const payload: Record<string, unknown> = {
        type: 'TurnInfo',
        request_id: this.requestId,
        event: e.event,
        turn_index: e.turnIndex,
        audio_window_start: seconds(e.windowStartMs),
        audio_window_end: seconds(e.windowEndMs),
        transcript,
        words: e.words.map((w) => ({ word: w.word, confidence: WORD_CONFIDENCE, start: seconds(w.startMs), end: seconds(w.endMs) })),
        end_of_turn_confidence: e.confidence,
      };
      if (e.trigger) payload.trigger = e.trigger;
      this.send(payload, () =>
        this.ctx.emit('flux.turnInfo', {
          connection: this.ctx.connection,
          at: simNow(),
          event: e.event,
          turnIndex: e.turnIndex,
          transcript,
          windowEnd: e.windowEndMs / 1000,
          confidence: e.confidence,
          ...(e.trigger ? { trigger: e.trigger } : {}),
        }),
      );
    }
  }

  /** An Error message, then the socket closes (no status code, as after CloseStream). */
  private fail(code: string, description: string): void {
    this.ctx.emit('flux.error', { connection: this.ctx.connection, at: simNow(), code, description });
    this.send({ type: 'Error', code, description }, () => this.close());
  }

  /**
   * Sends in order after the configured recognition latency, numbering every message; `after` runs once the
   * message is on the wire (a null payload only runs `after`, in order).
   */
  private send(payload: Record<string, unknown> | null, after?: () => void): void {
    const message = payload === null ? null : JSON.stringify({ ...payload, sequence_id: this.sequenceId++ });
    const write = (): void => {
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (message !== null) this.ws.send(message);
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

  /** No code = a close frame without a status code (1005 at the client). */
  private close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (code === undefined) this.ws.close();
    else this.ws.close(code, reason);
  }

  private onClose(code: number, reason: string): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.ctx.emit('flux.close', { connection: this.ctx.connection, at: simNow(), code, reason });
  }
}

function fluxWords(words: readonly TimedWord[]): FluxWord[] {
  return words.map((w) => ({ word: w.token, startMs: w.startMs, endMs: w.endMs }));
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
