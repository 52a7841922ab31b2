/**
 * The transport actor: owns one Twilio Media Stream socket (server side, already open). Inbound caller audio goes
 * straight to the STT actor through the MediaPipe; only lifecycle events reach the machine (START, MARK, DTMF,
 * AUDIO_STARTED, STOP). Outbound audio and marks come from the TTS actor through the pipe, in one ordered channel.
 *
 * A stream must earn its call: `authorizeStart` (the server's stream-token check) decides on Twilio's `start` before
 * TRANSPORT.START is sent; a refused start, or none within `startTimeoutMs`, closes the socket with 1008 (policy
 * violation) and sends TRANSPORT.STOP {reason: 'rejected'} instead. After `start`, frames carrying another
 * streamSid are ignored.
 *
 * Nothing a peer sends can make it throw: every malformed frame is ignored, each kind logged once per call and then
 * only counted (the counts go into the end-of-stream line and `onIgnoredFrame`). A stream that never started is
 * logged at debug only: whoever holds a handshake signature can open many of them.
 */
import { fromCallback } from 'xstate';
import { WebSocket, type RawData } from 'ws';
import type { CustomParameters, TransportCommand, TransportStart, TransportStop } from '../machines/events.js';
import type { MarkOptions, MediaPipe } from './media-pipe.js';
import { errorMessage, type Logger } from '../lib/logger.js';
import { now } from '../lib/clock.js';
import { decodeBase64Payload, OutboundFrames, parseTwilioFrame, type GarbageKind, type TwilioInbound } from './twilio-frames.js';
import { MarkTracker } from './twilio-mark-tracker.js';
import { BYTES_PER_MS } from '../lib/mulaw.js';

export interface TwilioTransportDeps {
  /** The server side of the Media Stream WebSocket (from `ws`), already open. */
  socket: WebSocket;
  pipe: MediaPipe;
  log: Logger;
  /** Called once with Twilio's `start` (the server labels its logs with the callSid). */
  onStart?: (start: TransportStart) => void;
  /** Text frames larger than this are ignored unparsed. Twilio's frames are ~300 bytes, `start` a few KB. */
  maxFrameBytes?: number;
  /** Outbound audio held while waiting for `start` (no streamSid yet); beyond this it is dropped. Default 2 min. */
  maxQueuedBytes?: number;
  /**
   * Decides whether Twilio's `start` may begin the call (the server checks the stream token here). Refused → the
   * stream is rejected. Accepted → the call starts with the returned parameters (the token stripped). Absent: every
   * start is accepted as sent. A promise (the check asks a shared store) holds the frames that follow `start` until it
   * settles; they are then handled in order (or dropped with the stream, if it is refused).
   */
  authorizeStart?: (start: StartRequest) => StartDecision | Promise<StartDecision>;
  /** Reject the stream when no accepted `start` came within this long after the actor started. Absent: no limit. */
  startTimeoutMs?: number;
  /** The stream was rejected (the server logs it rate-limited and counts it). */
  onRejected?: (reason: string) => void;
  /** A frame was ignored (the server counts these in /metrics). Called per ignored frame, never per good one. */
  onIgnoredFrame?: (kind: IgnoredKind) => void;
}

export interface StartRequest {
  callSid: string;
  streamSid: string;
  accountSid: string;
  customParameters: CustomParameters;
}

export type StartDecision = { ok: true; customParameters: CustomParameters } | { ok: false; reason: string };

export type IgnoredKind = GarbageKind | 'queue-overflow' | 'frame-before-start';

type Queued = { audio: Buffer } | { mark: string; opts: MarkOptions | undefined };

const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
const DEFAULT_MAX_QUEUED_BYTES = 120_000 * 8;
/** Inbound frames kept while an asynchronous start check runs (5 s of 20 ms frames; it takes about a millisecond). */
const MAX_FRAMES_WHILE_AUTHORIZING = 250;

function rawByteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, b) => sum + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawToText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
}


export function createTwilioTransport(deps: TwilioTransportDeps) {
  return fromCallback<TransportCommand>(({ sendBack, receive }) => {
    const { socket, pipe } = deps;
    const maxFrameBytes = deps.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const maxQueuedBytes = deps.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    let log = deps.log;
    const tracker = new MarkTracker();
    const garbage = new Map<IgnoredKind, number>();
    let frames: OutboundFrames | null = null;
    let streamSid: string | null = null;
    let rejected = false;
    let startTimer: NodeJS.Timeout | null = null;
    /** Outbound audio and marks not sent yet: before `start` (no streamSid), or while held (a speculative reply). */
    let queued: Queued[] = [];
    let queuedBytes = 0;
    let holding = false;
    const blocked = (): boolean => frames === null || holding;
    let stopSent = false;
    /** Frames that came while an asynchronous start check runs (null: none running). */
    let authorizing: TwilioInbound[] | null = null;
    let disposed = false;
    let inboundFrames = 0;
    let clears = 0;

    /** Lines about a stream that never started are debug: anyone with a handshake signature can open many. */
    const started = (): boolean => streamSid !== null;

    const reportGarbage = (kind: IgnoredKind, detail: string): void => {
      const seen = garbage.get(kind) ?? 0;
      garbage.set(kind, seen + 1);
      if (seen === 0) log.log(started() ? 'warn' : 'debug', 'ignored bad media stream frame', { kind, detail });
      deps.onIgnoredFrame?.(kind);
    };

    const send = (text: string): boolean => {
      if (socket.readyState !== WebSocket.OPEN) return false;
      try {
        socket.send(text);
        return true;
      } catch (err) {
        log.warn('media socket send failed', { error: errorMessage(err) });
        return false;
      }
    };

    const sendStop = (reason: TransportStop['reason']): void => {
      if (stopSent) return;
      stopSent = true;
      sendBack({ type: 'TRANSPORT.STOP', reason, at: now() });
    };

    // ── outbound: pipe → Twilio ────────────────────────────────────────────────────────────────────────────────
    const sendAudio = (audio: Buffer): void => {
      if (audio.length === 0) return;
      if (!frames || holding) {
        if (queuedBytes + audio.length > maxQueuedBytes) return reportGarbage('queue-overflow', frames ? 'held audio' : 'audio before start');
        queued.push({ audio });
        queuedBytes += audio.length;
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      const startsSpeech = tracker.audioSent(audio.length);
      send(frames.media(audio));
      if (startsSpeech) sendBack({ type: 'TRANSPORT.AUDIO_STARTED', at: now() });
    };

    const sendMark = (name: string, opts?: MarkOptions): void => {
      if (!frames || holding) {
        queued.push({ mark: name, opts });
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      tracker.markSent(name, opts?.partial ?? false);
      send(frames.mark(name));
    };

    /** Sends what was queued, in order, once nothing blocks it any more. */
    const flush = (): void => {
      if (blocked()) return;
      const backlog = queued;
      queued = [];
      queuedBytes = 0;
      for (const item of backlog) {
        if ('audio' in item) sendAudio(item.audio);
        else sendMark(item.mark, item.opts);
      }
    };

    const clear = (): void => {
      clears++;
      holding = false;
      // What never reached Twilio is dropped, its marks answered the way Twilio would (not played).
      const marks = queued.flatMap((q) => ('mark' in q ? [q.mark] : []));
      queued = [];
      queuedBytes = 0;
      for (const name of marks) sendBack({ type: 'TRANSPORT.MARK', name, played: false, at: now() });
      if (!frames) return;
      const flagged = tracker.cleared();
      send(frames.clear);
      log.debug('sent clear', { outstandingMarks: flagged });
    };

    const hangup = (): void => {
      log.info('hanging up media stream');
      closeSocket();
    };

    const closeSocket = (code = 1000, reason?: string): void => {
      if (socket.readyState !== WebSocket.OPEN && socket.readyState !== WebSocket.CONNECTING) return;
      try {
        socket.close(code, reason);
      } catch (err) {
        log.warn('media socket close failed', { error: errorMessage(err) });
      }
    };

    const clearStartTimer = (): void => {
      if (startTimer) clearTimeout(startTimer);
      startTimer = null;
    };

    /** No call for this stream: close it as a policy violation; the machine hears STOP 'rejected', never START. */
    const reject = (reason: string): void => {
      if (rejected || started()) return;
      rejected = true;
      clearStartTimer();
      log.debug('media stream rejected', { reason });
      try {
        deps.onRejected?.(reason);
      } catch (err) {
        log.error('onRejected callback failed', { error: errorMessage(err) });
      }
      // Close first: the STOP ends the machine at once, and its cleanup would close with a plain 1000.
      closeSocket(1008, 'stream not authorised');
      sendStop('rejected');
    };

    // ── inbound: Twilio → machine / stt ─────────────────────────────────────────────────────────────────────────
    const authorize = (frame: Extract<TwilioInbound, { event: 'start' }>): StartDecision | Promise<StartDecision> => {
      const { callSid, streamSid: sid, accountSid, customParameters } = frame;
      if (!deps.authorizeStart) return { ok: true, customParameters };
      try {
        return deps.authorizeStart({ callSid, streamSid: sid, accountSid, customParameters });
      } catch (err) {
        log.error('authorizeStart failed', { error: errorMessage(err) });
        return { ok: false, reason: 'authorize-failed' };
      }
    };

    const onStartFrame = (frame: Extract<TwilioInbound, { event: 'start' }>): void => {
      if (frames || authorizing !== null) return reportGarbage('duplicate-start', frame.streamSid);
      const decision = authorize(frame);
      if (!(decision instanceof Promise)) return begin(frame, decision);
      authorizing = [];
      void decision
        .catch((err: unknown): StartDecision => {
          log.error('authorizeStart failed', { error: errorMessage(err) });
          return { ok: false, reason: 'authorize-failed' };
        })
        .then((settled) => {
          const backlog = authorizing ?? [];
          authorizing = null;
          if (disposed || stopSent || rejected) return;
          begin(frame, settled);
          if (!started()) return;
          for (const held of backlog) {
            try {
              handleFrame(held);
            } catch (err) {
              log.error('media stream frame handling failed', { error: errorMessage(err) });
            }
          }
        });
    };

    const begin = (frame: Extract<TwilioInbound, { event: 'start' }>, decision: StartDecision): void => {
      if (!decision.ok) return reject(decision.reason);
      clearStartTimer();
      streamSid = frame.streamSid;
      frames = new OutboundFrames(frame.streamSid);
      log = log.child({ callSid: frame.callSid, streamSid: frame.streamSid });
      const start: TransportStart = {
        type: 'TRANSPORT.START',
        streamSid: frame.streamSid,
        callSid: frame.callSid,
        accountSid: frame.accountSid,
        customParameters: decision.customParameters,
        at: now(),
      };
      log.info('media stream started', { tracks: frame.tracks, parameters: Object.keys(decision.customParameters) });
      try {
        deps.onStart?.(start);
      } catch (err) {
        log.error('onStart callback failed', { error: errorMessage(err) });
      }
      sendBack(start);
      flush();
    };

    const handleFrame = (frame: TwilioInbound): void => {
      if (authorizing !== null && frame.event !== 'start') {
        if (authorizing.length < MAX_FRAMES_WHILE_AUTHORIZING) authorizing.push(frame);
        else reportGarbage('queue-overflow', 'frames while the start is checked');
        return;
      }
      if (frame.event !== 'connected' && frame.event !== 'start') {
        if (!started()) {
          // Before start nothing but `stop` means anything: there is no call yet.
          if (frame.event === 'media') return reportGarbage('media-before-start', 'media');
          if (frame.event !== 'stop') return reportGarbage('frame-before-start', frame.event);
        } else if (frame.streamSid !== streamSid) {
          return reportGarbage('foreign-stream-sid', `${frame.event} ${String(frame.streamSid).slice(0, 40)}`);
        }
      }
      switch (frame.event) {
        case 'connected':
          log.debug('media stream connected');
          return;
        case 'start':
          return onStartFrame(frame);
        case 'media': {
          if (frame.track !== 'inbound' && frame.track !== 'inbound_track') return; // outbound track echo: not the caller
          const audio = decodeBase64Payload(frame.payload);
          if (!audio) return reportGarbage('bad-base64', `${frame.payload.length} chars`);
          inboundFrames++;
          pipe.sendInbound(audio);
          return;
        }
        case 'mark': {
          const echo = tracker.echoed(frame.name);
          if (!echo) {
            log.debug('ignored echo of unknown mark', { name: frame.name });
            return;
          }
          log.debug('mark echoed', { name: echo.name, played: echo.played, segmentMs: echo.ms });
          sendBack({ type: 'TRANSPORT.MARK', name: echo.name, played: echo.played, at: now() });
          if (echo.played) pipe.sendPlayed(echo.name);
          return;
        }
        case 'dtmf':
          log.info('dtmf received', { digit: frame.digit });
          sendBack({ type: 'TRANSPORT.DTMF', digit: frame.digit, at: now() });
          return;
        case 'stop':
          log.info('media stream stop received');
          sendStop('stop');
          return;
      }
    };

    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (rejected) return;
      try {
        if (isBinary) return reportGarbage('binary-frame', `${rawByteLength(data)} bytes`);
        const size = rawByteLength(data);
        if (size > maxFrameBytes) return reportGarbage('oversized-frame', `${size} bytes`);
        const parsed = parseTwilioFrame(rawToText(data));
        if (!parsed.ok) return reportGarbage(parsed.kind, parsed.detail);
        handleFrame(parsed.frame);
      } catch (err) {
        // A sibling's inbound sink or sendBack failed: keep the call alive, say so once per occurrence.
        log.error('media stream frame handling failed', { error: errorMessage(err) });
      }
    };

    const onClose = (code: number, reason: Buffer): void => {
      clearStartTimer();
      log.log(started() ? 'info' : 'debug', 'media socket closed', { code, reason: reason.toString('utf8').slice(0, 120) });
      sendStop('socket-closed');
    };

    const onError = (err: Error): void => {
      log.warn('media socket error', { error: err.message });
    };

    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
    pipe.onOutbound({ audio: sendAudio, mark: sendMark });
    if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) sendStop('socket-closed');
    else if (deps.startTimeoutMs !== undefined) startTimer = setTimeout(() => reject('start-timeout'), deps.startTimeoutMs);

    receive((command) => {
      try {
        if (command.type === 'TRANSPORT.CLEAR') clear();
        else if (command.type === 'TRANSPORT.HOLD') holding = true;
        else if (command.type === 'TRANSPORT.RELEASE') {
          holding = false;
          flush();
        }
        else if (command.type === 'TRANSPORT.HANGUP') hangup();
      } catch (err) {
        log.error('transport command failed', { command: command.type, error: errorMessage(err) });
      }
    });

    return () => {
      disposed = true;
      clearStartTimer();
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
      // An 'error' without any listener would crash the process; late errors of a socket we are done with don't matter.
      if (socket.listenerCount('error') === 0) socket.on('error', () => {});
      pipe.onOutbound(null);
      closeSocket();
      log.log(started() ? 'info' : 'debug', 'media stream ended', {
        inboundFrames,
        outboundMs: tracker.bytesSent / BYTES_PER_MS,
        clears,
        ...(garbage.size > 0 ? { ignoredFrames: Object.fromEntries(garbage) } : {}),
      });
    };
  });
}
