/**
 * The transport actor: owns one Twilio Media Stream socket (server side, already open). Inbound caller audio goes
 * straight to the STT actor through the MediaPipe; only lifecycle events reach the machine (START, MARK, DTMF,
 * AUDIO_STARTED, STOP). Outbound audio and marks come from the TTS actor through the pipe, in one ordered channel.
 *
 * Nothing a peer sends can make it throw: every malformed frame is ignored, each kind logged once per call and then
 * only counted (the counts go into the end-of-stream line).
 */
import { fromCallback } from 'xstate';
import { WebSocket, type RawData } from 'ws';
import type { TransportCommand, TransportStart } from '../machines/events.js';
import type { MediaPipe } from './media-pipe.js';
import type { Logger } from '../lib/logger.js';
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
}

type Queued = { audio: Buffer } | { mark: string };

const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
const DEFAULT_MAX_QUEUED_BYTES = 120_000 * 8;

function rawByteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, b) => sum + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawToText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createTwilioTransport(deps: TwilioTransportDeps) {
  return fromCallback<TransportCommand>(({ sendBack, receive }) => {
    const { socket, pipe } = deps;
    const maxFrameBytes = deps.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const maxQueuedBytes = deps.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    let log = deps.log;
    const tracker = new MarkTracker();
    const garbage = new Map<GarbageKind | 'queue-overflow', number>();
    let frames: OutboundFrames | null = null;
    let queued: Queued[] = [];
    let queuedBytes = 0;
    let stopSent = false;
    let inboundFrames = 0;
    let clears = 0;

    const reportGarbage = (kind: GarbageKind | 'queue-overflow', detail: string): void => {
      const seen = garbage.get(kind) ?? 0;
      garbage.set(kind, seen + 1);
      if (seen === 0) log.warn('ignored bad media stream frame', { kind, detail });
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

    const sendStop = (reason: 'stop' | 'socket-closed'): void => {
      if (stopSent) return;
      stopSent = true;
      sendBack({ type: 'TRANSPORT.STOP', reason, at: now() });
    };

    // ── outbound: pipe → Twilio ────────────────────────────────────────────────────────────────────────────────
    const sendAudio = (audio: Buffer): void => {
      if (audio.length === 0) return;
      if (!frames) {
        if (queuedBytes + audio.length > maxQueuedBytes) return reportGarbage('queue-overflow', 'audio before start');
        queued.push({ audio });
        queuedBytes += audio.length;
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      const startsSpeech = tracker.audioSent(audio.length);
      send(frames.media(audio));
      if (startsSpeech) sendBack({ type: 'TRANSPORT.AUDIO_STARTED', at: now() });
    };

    const sendMark = (name: string): void => {
      if (!frames) {
        queued.push({ mark: name });
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      tracker.markSent(name);
      send(frames.mark(name));
    };

    const clear = (): void => {
      clears++;
      if (!frames) {
        // Nothing reached Twilio yet: drop the queue and answer its marks the way Twilio would (not played).
        const marks = queued.flatMap((q) => ('mark' in q ? [q.mark] : []));
        queued = [];
        queuedBytes = 0;
        for (const name of marks) sendBack({ type: 'TRANSPORT.MARK', name, played: false, at: now() });
        return;
      }
      const flagged = tracker.cleared();
      send(frames.clear);
      log.debug('sent clear', { outstandingMarks: flagged });
    };

    const hangup = (): void => {
      log.info('hanging up media stream');
      closeSocket();
    };

    const closeSocket = (): void => {
      if (socket.readyState !== WebSocket.OPEN && socket.readyState !== WebSocket.CONNECTING) return;
      try {
        socket.close(1000);
      } catch (err) {
        log.warn('media socket close failed', { error: errorMessage(err) });
      }
    };

    // ── inbound: Twilio → machine / stt ─────────────────────────────────────────────────────────────────────────
    const onStartFrame = (frame: Extract<TwilioInbound, { event: 'start' }>): void => {
      if (frames) return reportGarbage('duplicate-start', frame.streamSid);
      frames = new OutboundFrames(frame.streamSid);
      log = log.child({ callSid: frame.callSid, streamSid: frame.streamSid });
      const start: TransportStart = {
        type: 'TRANSPORT.START',
        streamSid: frame.streamSid,
        callSid: frame.callSid,
        accountSid: frame.accountSid,
        customParameters: frame.customParameters,
        at: now(),
      };
      log.info('media stream started', { tracks: frame.tracks, parameters: Object.keys(frame.customParameters) });
      try {
        deps.onStart?.(start);
      } catch (err) {
        log.error('onStart callback failed', { error: errorMessage(err) });
      }
      sendBack(start);
      const backlog = queued;
      queued = [];
      queuedBytes = 0;
      for (const item of backlog) {
        if ('audio' in item) sendAudio(item.audio);
        else sendMark(item.mark);
      }
    };

    const handleFrame = (frame: TwilioInbound): void => {
      switch (frame.event) {
        case 'connected':
          log.debug('media stream connected');
          return;
        case 'start':
          return onStartFrame(frame);
        case 'media': {
          if (!frames) return reportGarbage('media-before-start', 'media');
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
      log.info('media socket closed', { code, reason: reason.toString('utf8').slice(0, 120) });
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

    receive((command) => {
      try {
        if (command.type === 'TRANSPORT.CLEAR') clear();
        else if (command.type === 'TRANSPORT.HANGUP') hangup();
      } catch (err) {
        log.error('transport command failed', { command: command.type, error: errorMessage(err) });
      }
    });

    return () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
      // An 'error' without any listener would crash the process; late errors of a socket we are done with don't matter.
      if (socket.listenerCount('error') === 0) socket.on('error', () => {});
      pipe.onOutbound(null);
      closeSocket();
      log.info('media stream ended', {
        inboundFrames,
        outboundMs: tracker.bytesSent / BYTES_PER_MS,
        clears,
        ...(garbage.size > 0 ? { ignoredFrames: Object.fromEntries(garbage) } : {}),
      });
    };
  });
}
