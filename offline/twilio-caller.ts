/**
 * A simulated Twilio call: behaves like Twilio towards our server for one call. It POSTs the signed voice webhook,
 * follows `<Connect><Stream>` (its `<Parameter>`s, the stream token among them, go into `start.customParameters`
 * as Twilio passes them), streams the caller's script as 20 ms µ-law frames at real-time pace, plays the agent's
 * audio at 8 bytes/ms, echoes marks when playback passes them, honours `clear`, and records what it heard and when.
 *
 * Built for hundreds of concurrent calls in one process: all calls share one 20 ms ticker, silent frames reuse a
 * pre-encoded payload, nothing is logged per frame.
 */
import { WebSocket, type RawData } from 'ws';
import twilio from 'twilio';
import { now } from '../lib/clock.js';
import { FRAME_BYTES, silence } from '../lib/mulaw.js';
import { encodeSpeech } from './speech-codec.js';
import { CallerEar } from './twilio-caller-ear.js';
import { StreamFrameWriter } from './twilio-stream-frames.js';
import { sharedTicker, type FrameTicker } from './twilio-ticker.js';
import { inboundCallParams, newSid, outboundCallParams, parseConnectStream, postVoiceWebhook, reachableStreamUrl, reachableUrl } from './twilio-webhook.js';
import { runScript, SCRIPT_STEP_DEFAULTS, type ScriptHost } from './twilio-caller-script.js';
import type { CallEnd, CallerTurn, CallRecord, SimulatedCall, SimulatedCallOptions, TimelineKind } from './twilio-caller-types.js';
import { errorMessage } from '../lib/logger.js';

export type * from './twilio-caller-types.js';

/** The caller's speech pace when not set (ms a word): what src/harness/sim-speed.ts scales for the tests. */
export const CALLER_WORD_MS_DEFAULT = 250;
/** The caller's patience when not set: quiet before a reply counts as heard, and the gap that ends an agent turn. */
export const CALLER_PATIENCE_DEFAULTS = { quietMs: 700, agentTurnGapMs: 1500 } as const;

export function placeSimulatedCall(opts: SimulatedCallOptions): SimulatedCall {
  const call = new SimulatedCallSession(opts);
  return { done: call.done, hangup: () => call.hangup('caller'), redirected: () => call.hangup('redirected'), record: call.record };
}

/** The numbers of a simulated call when the test names none. */
export const DEFAULT_FROM = '+15550001111';
export const DEFAULT_TO = '+15550002222';

interface Waiter {
  predicate: (at: number) => boolean;
  deadline: number | null;
  resolve: (ok: boolean) => void;
}

interface Utterance {
  audio: Buffer;
  offset: number;
  turn: CallerTurn;
  resolve: () => void;
}

const speechCache = new Map<string, Buffer>();

/** A script's mark for a pause inside an utterance. */
const isHesitation = (token: string): boolean => token === '...' || token === '…';

/**
 * Speech audio for a text, one word per `wordMs`, `hesitationMs` of silence per hesitation mark; cached because
 * hundreds of calls say the same lines.
 */
function speechAudio(tokens: readonly string[], wordMs: number, hesitationMs: number): Buffer {
  const key = `${wordMs}|${hesitationMs}|${tokens.join(' ')}`;
  let audio = speechCache.get(key);
  if (!audio) {
    const first = tokens.findIndex((t) => !isHesitation(t));
    audio = Buffer.concat(tokens.map((t, i) => (isHesitation(t) ? silence(hesitationMs) : encodeSpeech(i === first ? t : ' ' + t, wordMs))));
    if (speechCache.size > 1000) speechCache.clear();
    speechCache.set(key, audio);
  }
  return audio;
}

class SimulatedCallSession implements ScriptHost {
  readonly record: CallRecord;
  readonly done: Promise<CallRecord>;
  readonly quietMs: number;
  readonly waitTimeoutMs: number;
  private resolveDone: (record: CallRecord) => void = () => {};
  private readonly frames: StreamFrameWriter;
  private readonly ticker: FrameTicker;
  private ws: WebSocket | null = null;
  private ear: CallerEar | null = null;
  private utterance: Utterance | null = null;
  private waiters: Waiter[] = [];
  private unsubscribe: (() => void) | null = null;
  private finished = false;
  private hangingUp = false;
  private readonly reported = new Set<string>();

  constructor(private readonly opts: SimulatedCallOptions) {
    this.quietMs = opts.quietMs ?? CALLER_PATIENCE_DEFAULTS.quietMs;
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 15_000;
    this.ticker = opts.ticker ?? sharedTicker;
    this.frames = new StreamFrameWriter(newSid('MZ'));
    this.record = {
      callSid: opts.callSid ?? newSid('CA'),
      accountSid: opts.accountSid ?? newSid('AC'),
      streamSid: this.frames.streamSid,
      placedAt: now(),
      startedAt: null,
      webhookStatus: null,
      twiml: '',
      streamUrl: null,
      customParameters: {},
      timeline: [],
      transcript: [],
      firstAgentAudioMs: null,
      framesSent: 0,
      mediaBytesReceived: 0,
      marksReceived: 0,
      marksEchoed: 0,
      clears: 0,
      wrongStreamSid: 0,
      unplayedAtEnd: '',
      endedBy: null,
      closeCode: null,
      errors: [],
    };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    void this.placeCall();
  }

  get ended(): boolean {
    return this.finished || this.hangingUp;
  }

  // ── call setup ───────────────────────────────────────────────────────────────────────────────────────────────
  private async placeCall(): Promise<void> {
    const { opts, record } = this;
    const publicUrl = (opts.publicUrl ?? opts.serverUrl).replace(/\/$/, '');
    const serverUrl = opts.serverUrl.replace(/\/$/, '');
    const voiceUrl = opts.voiceUrl ?? `${publicUrl}/voice`;
    const identity = { callSid: record.callSid, accountSid: record.accountSid, from: opts.from ?? DEFAULT_FROM, to: opts.to ?? DEFAULT_TO };
    try {
      const answer = await postVoiceWebhook({
        postUrl: reachableUrl(voiceUrl, serverUrl, publicUrl),
        signedUrl: voiceUrl,
        signingToken: opts.signWith ?? opts.authToken,
        params: opts.voiceUrl === undefined ? inboundCallParams(identity) : outboundCallParams(identity),
      });
      record.webhookStatus = answer.status;
      record.twiml = answer.body;
      this.mark('webhook', String(answer.status));
      if (answer.status !== 200) return this.finish('webhook', `webhook answered ${answer.status}`);
      const stream = parseConnectStream(answer.body);
      if (!stream) return this.finish('no-stream', 'TwiML has no <Connect><Stream url>');
      if (this.hangingUp) return this.finish('caller');
      // The TwiML's <Parameter>s, plus any the test adds (as if its TwiML had them); the TwiML's win on a clash.
      record.customParameters = { ...opts.customParameters, ...stream.parameters };
      record.streamUrl = reachableStreamUrl(stream.url, serverUrl, publicUrl);
      await opts.beforeStream?.();
      if (this.hangingUp) return this.finish('caller');
      // Twilio signs the WebSocket handshake too: the stream URL from the TwiML, with no parameters.
      this.connect(record.streamUrl, twilio.getExpectedTwilioSignature(opts.signWith ?? opts.authToken, stream.url, {}));
    } catch (err) {
      this.finish('error', `call setup failed: ${errorMessage(err)}`);
    }
  }

  private connect(url: string, signature: string): void {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: { 'X-Twilio-Signature': signature } });
    this.ws = ws;
    ws.on('open', () => this.onOpen());
    ws.on('message', (data: RawData, isBinary: boolean) => this.onServerFrame(data, isBinary));
    ws.on('error', (err: Error) => this.report(`socket: ${err.message}`));
    ws.on('close', (code: number) => {
      this.record.closeCode = code;
      this.finish(this.record.startedAt === null ? 'error' : 'server'); // never opened: a connect failure
    });
  }

  private onOpen(): void {
    const { record } = this;
    this.send(this.frames.connected());
    this.mark('connected');
    this.send(this.frames.start(record.callSid, record.accountSid, record.customParameters));
    record.startedAt = now();
    this.ear = new CallerEar(
      record,
      { echo: (name) => this.send(this.frames.markEcho(name)), timeline: (kind, text, at) => this.mark(kind, text, at) },
      this.opts.agentTurnGapMs ?? CALLER_PATIENCE_DEFAULTS.agentTurnGapMs,
      record.startedAt,
    );
    this.mark('start');
    this.unsubscribe = this.ticker.subscribe(this.onTick);
    runScript(this, this.opts.script).catch((err: unknown) => this.report(`script: ${String(err)}`));
  }

  // ── the 20 ms tick: playback, one outbound frame, waits, max duration ────────────────────────────────────────
  private readonly onTick = (at: number): void => {
    const ws = this.ws;
    if (this.finished || !ws || !this.ear || ws.readyState !== WebSocket.OPEN) return;
    this.ear.tick(at);
    this.sendNextFrame(at);
    if (this.waiters.length > 0) this.checkWaiters(at);
    if (at - this.record.placedAt >= (this.opts.maxDurationMs ?? 120_000)) this.hangup('maxDuration');
  };

  private sendNextFrame(at: number): void {
    const u = this.utterance;
    this.record.framesSent++;
    if (!u) {
      this.send(this.frames.silence());
      return;
    }
    const end = Math.min(u.offset + FRAME_BYTES, u.audio.length);
    this.send(this.frames.media(u.audio.subarray(u.offset, end)));
    u.offset = end;
    if (end >= u.audio.length) this.endUtterance(at);
  }

  private endUtterance(at: number): void {
    const u = this.utterance;
    if (!u) return;
    this.utterance = null;
    u.turn.endAt = at;
    this.ear?.callerEnds(at);
    this.mark('said', u.turn.text, at);
    u.resolve();
  }

  private checkWaiters(at: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as Waiter;
      const ok = w.predicate(at);
      if (ok || (w.deadline !== null && at >= w.deadline)) {
        this.waiters.splice(i, 1);
        w.resolve(ok);
      }
    }
  }

  // ── what the server sends ────────────────────────────────────────────────────────────────────────────────────
  private onServerFrame(data: RawData, isBinary: boolean): void {
    const ear = this.ear;
    if (this.finished || !ear) return;
    if (isBinary) return this.report('server sent a binary frame');
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return this.report('server sent invalid JSON');
    }
    if (typeof msg !== 'object' || msg === null) return this.report('server sent a non-object frame');
    const frame = msg as { event?: unknown; streamSid?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
    if (frame.event !== 'media' && frame.event !== 'mark' && frame.event !== 'clear') {
      return this.report(`server sent unknown event ${String(frame.event).slice(0, 40)}`);
    }
    if (frame.streamSid !== this.frames.streamSid) {
      this.record.wrongStreamSid++;
      return this.report(`server sent ${frame.event} with streamSid ${String(frame.streamSid)}`);
    }
    const at = now();
    if (frame.event === 'media') {
      const payload = frame.media?.payload;
      if (typeof payload !== 'string') return this.report('server sent media without payload');
      ear.onMedia(Buffer.from(payload, 'base64'), at);
    } else if (frame.event === 'mark') {
      const name = frame.mark?.name;
      if (typeof name !== 'string') return this.report('server sent mark without name');
      ear.onMark(name, at);
    } else {
      ear.onClear(at);
    }
  }

  // ── ScriptHost ───────────────────────────────────────────────────────────────────────────────────────────────
  speak(text: string, bargeIn: boolean, hesitationMs: number = SCRIPT_STEP_DEFAULTS.hesitationMs): Promise<void> {
    const tokens = text.split(/\s+/).filter((w) => w.length > 0);
    const words = tokens.filter((t) => !isHesitation(t));
    if (this.ended || words.length === 0) return Promise.resolve();
    const at = now();
    this.ear?.callerStarts(at, bargeIn);
    const turn: CallerTurn = { role: 'caller', text: words.join(' '), bargeIn, startAt: at, endAt: null };
    this.record.transcript.push(turn);
    this.mark(bargeIn ? 'bargeIn' : 'sayStart', turn.text, at);
    const audio = speechAudio(tokens, this.opts.wordMs ?? CALLER_WORD_MS_DEFAULT, hesitationMs);
    return new Promise((resolve) => (this.utterance = { audio, offset: 0, turn, resolve }));
  }

  waitUntil(predicate: (at: number) => boolean, timeoutMs: number | null): Promise<boolean> {
    if (this.ended) return Promise.resolve(false);
    const deadline = timeoutMs === null ? null : now() + timeoutMs;
    return new Promise((resolve) => this.waiters.push({ predicate, deadline, resolve }));
  }

  replyFinished(): boolean {
    return this.opts.replyFinished?.() ?? true;
  }

  agentPlaying(): boolean {
    return this.ear?.playing ?? false;
  }

  quietFor(at: number): number {
    const idleSince = this.ear?.idleSince;
    return idleSince === null || idleSince === undefined ? 0 : Math.max(0, at - idleSince);
  }

  playedBytes(): number {
    return this.ear?.playedBytes ?? 0;
  }

  playedMarkEchoes(): number {
    return this.ear?.markEchoesPlayed ?? 0;
  }

  now(): number {
    return now();
  }

  dtmf(digit: string): void {
    this.send(this.frames.dtmf(digit));
    this.mark('dtmf', digit);
  }

  note(kind: 'timeout', text: string): void {
    this.record.errors.push(text);
    this.mark(kind, text);
  }

  /** Caller side hang-up: Twilio sends `stop` and closes the stream. */
  hangup(reason: CallEnd = 'caller'): void {
    if (this.finished || this.hangingUp) return;
    this.hangingUp = true;
    this.record.endedBy = reason;
    this.mark('hangup', reason);
    this.releaseWaits();
    const ws = this.ws;
    if (!ws) return; // still in the webhook: placeCall sees hangingUp and finishes
    if (ws.readyState !== WebSocket.OPEN) return ws.terminate();
    this.send(this.frames.stop(this.record.accountSid, this.record.callSid));
    ws.close(1000);
    // A server that never completes the close handshake must not keep the call (and the benchmark) alive.
    setTimeout(() => ws.terminate(), 2000).unref();
  }

  // ── bookkeeping ──────────────────────────────────────────────────────────────────────────────────────────────
  private send(text: string): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(text);
  }

  private mark(kind: TimelineKind, text?: string, at: number = now()): void {
    const entry = text === undefined ? { t: at - this.record.placedAt, kind } : { t: at - this.record.placedAt, kind, text };
    this.record.timeline.push(entry);
    this.opts.onEvent?.(entry);
  }

  /** Record a problem once per kind of message (a misbehaving server must not grow the record per frame). */
  private report(message: string): void {
    const key = message.slice(0, 40);
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.record.errors.push(message);
    this.mark('error', message);
  }

  private releaseWaits(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(false);
    if (this.utterance) {
      const u = this.utterance;
      this.utterance = null;
      u.turn.endAt ??= now();
      u.resolve();
    }
  }

  private finish(endedBy: CallEnd, error?: string): void {
    if (this.finished) return;
    const at = now();
    if (error) this.report(error);
    this.finished = true;
    this.record.endedBy ??= endedBy;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.ear?.close(at);
    this.releaseWaits();
    this.mark('closed', this.record.endedBy ?? endedBy, at);
    this.resolveDone(this.record);
  }
}
