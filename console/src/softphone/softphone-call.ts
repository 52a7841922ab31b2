/**
 * One softphone call: a grant from the console API, the microphone through the AudioWorklet, and `/media` spoken
 * as Twilio would speak it (the ticket as subprotocol, the stream token in `start`). The worklet owns playback;
 * this side moves messages between it and the socket and keeps the probe's counters.
 */
import workletUrl from './softphone-worklet.ts?worker&url';
import { LineMessages, parseLineInbound, randomSid, type KeypadKey } from './line-protocol.js';
import { WORKLET_NAME, type FromWorklet, type ToWorklet } from './worklet-messages.js';
import type { SegmentProbe, SoftphoneProbe } from './softphone-probe.js';

export type CallState = 'connecting' | 'in-call' | 'ended' | 'failed';

export interface CallHandlers {
  onState(state: CallState, detail?: string): void;
  /** Microphone level of each 20 ms frame, RMS 0 … 1. */
  onLevel(level: number): void;
}

export interface SoftphoneCall {
  /** Sends one key press; false when the stream is not up (nothing sent). */
  pressKey(key: KeypadKey): boolean;
  hangup(): void;
}

interface Grant {
  protocol: string;
  callSid: string;
  streamToken: string;
  tokenParameter: string;
}

const LOUD = 0.01; // -40 dBFS

async function requestGrant(): Promise<Grant> {
  const res = await fetch('/console/api/softphone', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  if (res.status === 401) throw new Error('Log in again.');
  if (res.status === 429) throw new Error('Too many calls — wait a minute.');
  if (res.status === 503) throw new Error('The server is shutting down.');
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as Grant;
}

/** The microphone, or an error a person can act on (the browser's own messages say little). */
async function openMicrophone(): Promise<MediaStream> {
  // Browsers offer getUserMedia only to secure pages (HTTPS, or localhost).
  if (typeof navigator.mediaDevices?.getUserMedia !== 'function')
    throw new Error('The microphone needs a secure page: open the console over HTTPS or on localhost.');
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    if (name === 'NotAllowedError') throw new Error('Microphone access was denied: allow it for this page, then dial again.');
    if (name === 'NotFoundError') throw new Error('No microphone was found.');
    if (name === 'NotReadableError') throw new Error('The microphone is in use by another application.');
    throw err;
  }
}

export async function dial(handlers: CallHandlers, probe: SoftphoneProbe): Promise<SoftphoneCall> {
  handlers.onState('connecting');
  // The microphone first: a refused microphone then costs no ticket.
  const mic = await openMicrophone();
  let grant: Grant;
  try {
    grant = await requestGrant();
  } catch (err) {
    for (const track of mic.getTracks()) track.stop();
    throw err;
  }
  const ctx = new AudioContext({ latencyHint: 'interactive' });
  probe.contextRate = ctx.sampleRate;
  let ws: WebSocket | null = null;
  let ended = false;
  const teardown = (state: CallState, detail?: string): void => {
    if (ended) return;
    ended = true;
    for (const track of mic.getTracks()) track.stop();
    void ctx.close();
    probe.state = state;
    handlers.onState(state, detail);
  };
  try {
    await ctx.audioWorklet.addModule(workletUrl);
  } catch (err) {
    teardown('failed', 'Audio worklet failed to load.');
    throw err;
  }
  const node = new AudioWorkletNode(ctx, WORKLET_NAME, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
  ctx.createMediaStreamSource(mic).connect(node);
  node.connect(ctx.destination);
  await ctx.resume();
  const toWorklet = (msg: ToWorklet, transfer: Transferable[] = []): void => node.port.postMessage(msg, transfer);

  const line = new LineMessages({ streamSid: randomSid('MZ'), callSid: grant.callSid, accountSid: 'AC' + '0'.repeat(32) });
  let started = false;
  /** Agent audio since the last mark: the segment the next mark closes. */
  let segment: { bytes: number; firstAudioAt: number } | null = null;
  const pending = new Map<string, SegmentProbe>();

  // Mark echoes wait until their audio has left the speakers (the worklet renders ahead of the output), in order.
  const echoes: Array<{ name: string; due: number; cleared: boolean }> = [];
  let echoTimer: ReturnType<typeof setTimeout> | null = null;
  const flushEchoes = (all: boolean): void => {
    if (echoTimer !== null) clearTimeout(echoTimer);
    echoTimer = null;
    const now = performance.now();
    for (let next = echoes[0]; next !== undefined && (all || next.due <= now); next = echoes[0]) {
      echoes.shift();
      if (socket.readyState === WebSocket.OPEN) socket.send(line.mark(next.name));
      const seg = pending.get(next.name);
      pending.delete(next.name);
      if (seg) Object.assign(seg, { echoedAt: performance.now(), cleared: next.cleared });
    }
    const head = echoes[0];
    if (head !== undefined) echoTimer = setTimeout(() => flushEchoes(false), head.due - now);
  };
  /** performance.now() at which context time `playsAt` is heard, by the browser's own output clock. */
  const heardAt = (playsAt: number | null): number => {
    const ts = ctx.getOutputTimestamp();
    if (playsAt === null || ts.contextTime === undefined || ts.performanceTime === undefined || ts.performanceTime === 0) return 0;
    return ts.performanceTime + (playsAt - ts.contextTime) * 1000;
  };

  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/media`;
  ws = new WebSocket(url, [grant.protocol]);
  const socket = ws;
  socket.onopen = () => {
    socket.send(line.connected());
    // From/To as Twilio passes them: the console shows this call as softphone → agent.
    socket.send(line.start({ [grant.tokenParameter]: grant.streamToken, From: 'softphone', To: 'agent' }));
    started = true;
    probe.state = 'in-call';
    handlers.onState('in-call');
  };
  socket.onclose = (e) => teardown(e.code === 1000 || e.code === 1005 ? 'ended' : 'failed', e.code === 1008 ? 'The server refused the stream.' : undefined);
  socket.onmessage = (e: MessageEvent<unknown>) => {
    if (typeof e.data !== 'string') return;
    const msg = parseLineInbound(e.data);
    if (msg === null) return;
    if (msg.event === 'media') {
      probe.mediaBytesReceived += msg.payload.length;
      segment ??= { bytes: 0, firstAudioAt: performance.now() };
      segment.bytes += msg.payload.length;
      toWorklet({ type: 'media', payload: msg.payload }, [msg.payload.buffer]);
    } else if (msg.event === 'mark') {
      const seg: SegmentProbe = { mark: msg.name, audioMs: (segment?.bytes ?? 0) / 8, firstAudioAt: segment?.firstAudioAt ?? performance.now(), echoedAt: null, cleared: false };
      probe.segments.push(seg);
      pending.set(msg.name, seg);
      segment = null;
      toWorklet({ type: 'mark', name: msg.name });
    } else {
      probe.clears.push({ receivedAt: performance.now(), silentAt: null, silenceHeardAt: null });
      segment = null;
      toWorklet({ type: 'clear' });
    }
  };

  node.port.onmessage = (e: MessageEvent<FromWorklet>) => {
    const msg = e.data;
    if (msg.type === 'frame') {
      if (!started || socket.readyState !== WebSocket.OPEN) return;
      socket.send(line.media(msg.payload));
      const now = performance.now();
      probe.framesSent++;
      if (msg.level >= LOUD) probe.loudFramesSent++;
      probe.firstFrameAt ??= now;
      probe.lastFrameAt = now;
      handlers.onLevel(msg.level);
    } else if (msg.type === 'marks') {
      const due = heardAt(msg.playsAt);
      for (const name of msg.names) echoes.push({ name, due, cleared: msg.cleared });
      // A clear answers every mark at once, those still waiting for the speakers first.
      flushEchoes(msg.cleared);
    } else if (msg.type === 'silent') {
      const last = probe.clears[probe.clears.length - 1];
      if (last && last.silentAt === null) Object.assign(last, { silentAt: performance.now(), silenceHeardAt: heardAt(msg.at) || null });
    } else {
      probe.underruns = msg.underruns;
      probe.playedMs = (msg.playedSamples / msg.rate) * 1000;
    }
  };

  return {
    pressKey(key) {
      if (!started || ended || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(line.dtmf(key));
      probe.keysSent++;
      return true;
    },
    hangup() {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(line.stop());
        socket.close(1000);
      }
      teardown('ended');
    },
  };
}
