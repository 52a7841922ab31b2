/**
 * One simulated Deepgram streaming-TTS socket (`/v1/speak`). Speak text accumulates; each Flush turns it into
 * simulated speech (`encodeSpeech`, ttsMsPerChar per character) sent in binary chunks faster than real time after
 * ttsFirstByteMs, then `Flushed`. Flushes are served one after another. Clear drops pending text and audio and answers
 * `Cleared`; Close closes 1000; an unknown type closes 1008; too many flushes get a Warning (and are still served).
 */
import type { WebSocket } from 'ws';
import { randomUUID } from 'node:crypto';
import { encodeSpeech } from './speech-codec.js';
import { toBuffer } from './deepgram-listen.js';
import { parseJsonObject, simNow, type SessionContext } from './deepgram-sim-types.js';

interface FlushJob {
  sequenceId: number;
  text: string;
}

export class SpeakSession {
  private text = '';
  private nextSequenceId = 0;
  private readonly jobs: FlushJob[] = [];
  private busy = false;
  /** Bumped by Clear/Close: a running job sees it and stops sending. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushTimes: number[] = [];
  private closed = false;
  /** Messages received while a Clear takes effect (null when none is in progress). */
  private held: { data: Buffer; isBinary: boolean }[] | null = null;
  private clearTimer: NodeJS.Timeout | null = null;
  /** Silenced: messages are still taken, nothing is sent (no audio, Flushed or Cleared). */
  private silent = false;

  constructor(
    private readonly ws: WebSocket,
    model: string,
    private readonly ctx: SessionContext,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(toBuffer(data), isBinary));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => {});
    this.sendJson({
      type: 'Metadata',
      request_id: randomUUID(),
      model_name: model,
      model_version: '2025-04-07.0',
      model_uuid: 'ecb3a4ac-5a2a-4b9b-9f2a-0b1e4a0c6a1f',
    });
  }

  /** From now on this socket stays open and sends nothing (see DeepgramSimulator.silenceConnections). */
  silence(): void {
    this.silent = true;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    // While a Clear is taking effect, later messages wait their turn (the server handles them in order).
    if (this.held) {
      this.held.push({ data, isBinary });
      return;
    }
    const msg = isBinary ? null : parseJsonObject(data.toString('utf8'));
    const connection = this.ctx.connection;
    const at = simNow();
    switch (msg?.type) {
      case 'Speak': {
        if (typeof msg.text !== 'string') return this.close(1008, 'Speak requires a text string');
        this.ctx.stats.speakMessages++;
        this.text += msg.text;
        this.ctx.emit('speak.speak', { connection, at, text: msg.text });
        return;
      }
      case 'Flush':
        return this.onFlush(at);
      case 'Clear':
        this.ctx.stats.clears++;
        this.ctx.emit('speak.clear', { connection, at });
        if (this.ctx.options.ttsClearDelayMs > 0) {
          // Audio already in the pipeline keeps coming for a moment ("stops as soon as possible").
          this.held = [];
          this.clearTimer = setTimeout(() => this.completeClear(), this.ctx.options.ttsClearDelayMs);
        } else this.completeClear();
        return;
      case 'Close':
        this.cancelAll();
        return this.close(1000, '');
      default:
        return this.close(1008, 'unknown or malformed message type');
    }
  }

  private completeClear(): void {
    this.clearTimer = null;
    this.cancelAll();
    const sequenceId = Math.max(0, this.nextSequenceId - 1);
    this.sendJson({ type: 'Cleared', sequence_id: sequenceId }, () =>
      this.ctx.emit('speak.cleared', { connection: this.ctx.connection, at: simNow(), sequenceId }),
    );
    const held = this.held ?? [];
    this.held = null;
    for (const m of held) this.onMessage(m.data, m.isBinary);
  }

  private onFlush(at: number): void {
    const { count, windowMs } = this.ctx.options.flushLimit;
    this.flushTimes = this.flushTimes.filter((t) => at - t < windowMs);
    this.flushTimes.push(at);
    if (this.flushTimes.length > count) {
      const code = 'FLUSH_LIMIT_EXCEEDED';
      this.sendJson({ type: 'Warning', description: `More than ${count} Flush messages in ${windowMs / 1000} s`, code });
      this.ctx.emit('speak.warning', { connection: this.ctx.connection, at, code });
    }
    const job = { sequenceId: this.nextSequenceId++, text: this.text };
    this.text = '';
    this.ctx.stats.flushes++;
    this.ctx.emit('speak.flush', { connection: this.ctx.connection, at, sequenceId: job.sequenceId, text: job.text });
    this.jobs.push(job);
    this.pump();
  }

  private pump(): void {
    if (this.busy || this.closed) return;
    const job = this.jobs.shift();
    if (!job) return;
    this.busy = true;
    const generation = this.generation;
    const opts = this.ctx.options;
    const chars = job.text.trim().length;
    const audio = chars > 0 ? encodeSpeech(job.text, chars * opts.ttsMsPerChar) : Buffer.alloc(0);
    let offset = 0;
    const step = (): void => {
      this.timer = null;
      if (generation !== this.generation || this.closed || this.silent) return;
      if (offset < audio.length) {
        if (offset === 0) this.ctx.emit('speak.audioStart', { connection: this.ctx.connection, at: simNow(), sequenceId: job.sequenceId });
        const chunk = audio.subarray(offset, offset + opts.ttsChunkBytes);
        offset += chunk.length;
        this.ctx.stats.speakAudioBytes += chunk.length;
        const dropAfter = this.ctx.faults.dropSpeakAfterBytes;
        if (dropAfter !== null && offset >= dropAfter && offset < audio.length) {
          // A network drop mid-segment: this chunk still arrives, then the socket dies without a close frame.
          this.ctx.faults.dropSpeakAfterBytes = null;
          this.ctx.emit('speak.dropped', { connection: this.ctx.connection, at: simNow(), sequenceId: job.sequenceId, bytes: offset });
          this.ws.send(chunk, { binary: true }, () => this.ws.terminate());
          return;
        }
        this.ws.send(chunk, { binary: true });
        // The last chunk and Flushed go out back to back, as Deepgram does (often in one TCP read at the client).
        if (offset < audio.length) {
          this.timer = setTimeout(step, opts.ttsChunkIntervalMs);
          return;
        }
      }
      this.sendJson({ type: 'Flushed', sequence_id: job.sequenceId }, () =>
        this.ctx.emit('speak.flushed', { connection: this.ctx.connection, at: simNow(), sequenceId: job.sequenceId, bytes: audio.length }),
      );
      this.busy = false;
      this.pump();
    };
    this.timer = setTimeout(step, audio.length > 0 ? opts.ttsFirstByteMs : 0);
  }

  private cancelAll(): void {
    this.generation++;
    this.text = '';
    this.jobs.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.busy = false;
  }

  private sendJson(payload: Record<string, unknown>, after?: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN || this.silent) return;
    this.ws.send(JSON.stringify(payload));
    after?.();
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelAll();
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.ws.close(code, reason);
  }

  private onClose(code: number, reason: string): void {
    this.closed = true;
    this.cancelAll();
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.ctx.emit('speak.close', { connection: this.ctx.connection, at: simNow(), code, reason });
  }
}
