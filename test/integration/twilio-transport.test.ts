/**
 * The transport actor on a real `ws` server socket, driven by a raw `ws` client playing Twilio with the payloads of
 * protocols.md, hosted by a minimal parent machine that records every event the actor sends back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import winston from 'winston';
import { WebSocket, WebSocketServer } from 'ws';
import { createActor, setup, type AnyActorRef } from 'xstate';
import { createTwilioTransport, type IgnoredKind, type TwilioTransportDeps } from '../../actors/twilio-transport.js';
import { MediaPipe } from '../../actors/media-pipe.js';
import type { CallEvent, TransportCommand, TransportStart } from '../../machines/events.js';

const PAYLOAD = Buffer.alloc(160, 0x7f).toString('base64');
const START = (sid = 'MZ456') =>
  `{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC123","streamSid":"${sid}","callSid":"CA789","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"From":"+15551234567","Greeting":"hi & bye"}},"streamSid":"${sid}"}`;
const MEDIA = (payload = PAYLOAD, n = 2) =>
  `{"event":"media","sequenceNumber":"${n}","media":{"track":"inbound","chunk":"${n - 1}","timestamp":"${(n - 2) * 20}","payload":"${payload}"},"streamSid":"MZ456"}`;
const MARK = (name: string) => `{"event":"mark","sequenceNumber":"103","streamSid":"MZ456","mark":{"name":"${name}"}}`;

type LogLine = { level: string; message: string; kind?: string; [key: string]: unknown };

interface Harness {
  client: WebSocket;
  events: CallEvent[];
  inbound: Buffer[];
  logs: LogLine[];
  fromServer: Record<string, unknown>[];
  pipe: MediaPipe;
  starts: TransportStart[];
  send(cmd: TransportCommand): void;
  actor: { stop(): void; getSnapshot(): { status: string } };
  serverSocket: WebSocket;
}

let http: Server;
let wss: WebSocketServer;
let url: string;
const open: Harness[] = [];

beforeAll(async () => {
  http = createServer();
  wss = new WebSocketServer({ server: http, path: '/media' });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/media`;
});

afterEach(() => {
  for (const h of open.splice(0)) {
    h.actor.stop();
    h.client.terminate();
  }
});

afterAll(async () => {
  wss.close();
  await new Promise((resolve) => http.close(resolve));
});

function captureLogger(lines: LogLine[]): winston.Logger {
  const sink = new Writable({
    objectMode: true,
    write(info: LogLine, _enc, done) {
      lines.push(info);
      done();
    },
  });
  return winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream: sink })] });
}

async function connect(extra: Partial<TwilioTransportDeps> = {}): Promise<Harness> {
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(url);
  const fromServer: Record<string, unknown>[] = [];
  client.on('message', (data) => fromServer.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise((resolve) => client.once('open', resolve));
  const socket = await serverSide;
  const events: CallEvent[] = [];
  const inbound: Buffer[] = [];
  const logs: LogLine[] = [];
  const starts: TransportStart[] = [];
  const pipe = new MediaPipe();
  pipe.onInbound((chunk) => inbound.push(chunk));
  const machine = setup({
    actors: { transport: createTwilioTransport({ socket, pipe, log: captureLogger(logs), onStart: (s) => starts.push(s), ...extra }) },
  }).createMachine({
    invoke: { id: 'transport', src: 'transport' },
    on: { '*': { actions: ({ event }) => events.push(event as CallEvent) } },
  });
  const actor = createActor(machine);
  actor.subscribe({ error: (err) => events.push({ type: 'CALL.HANGUP', reason: `actor error: ${String(err)}` }) });
  actor.start();
  const child = actor.getSnapshot().children['transport'] as AnyActorRef;
  const h: Harness = { client, events, inbound, logs, fromServer, pipe, starts, send: (cmd) => child.send(cmd), actor, serverSocket: socket };
  open.push(h);
  return h;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ofType = <T extends CallEvent['type']>(events: CallEvent[], type: T) =>
  events.filter((e): e is Extract<CallEvent, { type: T }> => e.type === type);

describe('twilio transport actor', () => {
  it('parses connected, start, media, mark, dtmf and stop', async () => {
    const h = await connect();
    h.client.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    h.client.send(START());
    h.client.send(MEDIA());
    h.client.send(MEDIA(Buffer.from([1, 2, 3]).toString('base64'), 3));
    h.client.send('{"event":"dtmf","streamSid":"MZ456","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}');
    h.client.send(MARK('never-sent'));
    h.client.send('{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC123","callSid":"CA789"},"streamSid":"MZ456"}');
    await until(() => h.events.some((e) => e.type === 'TRANSPORT.STOP'), 'STOP');

    expect(h.events.map((e) => e.type)).toEqual(['TRANSPORT.START', 'TRANSPORT.DTMF', 'TRANSPORT.STOP']);
    expect(h.events[0]).toMatchObject({
      streamSid: 'MZ456',
      callSid: 'CA789',
      accountSid: 'AC123',
      customParameters: { From: '+15551234567', Greeting: 'hi & bye' },
    });
    expect(h.starts).toEqual([h.events[0]]);
    expect(h.events[1]).toMatchObject({ digit: '1' });
    expect(h.events[2]).toMatchObject({ reason: 'stop' });
    expect(h.inbound).toEqual([Buffer.alloc(160, 0x7f), Buffer.from([1, 2, 3])]);
    expect(h.logs.some((l) => l.message === 'ignored echo of unknown mark' && l.level === 'debug')).toBe(true);
    expect(h.logs.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('ignores every kind of garbage, logging each kind once, and keeps working', async () => {
    const h = await connect();
    const garbage: [string, () => void][] = [
      ['media-before-start', () => h.client.send(MEDIA())],
      ['invalid-json', () => h.client.send('{"event":"media",')],
      ['binary-frame', () => h.client.send(Buffer.from([1, 2, 3, 4]))],
      ['not-an-object', () => h.client.send('42')],
      ['unknown-event', () => h.client.send('{"event":"dance","streamSid":"MZ456"}')],
      ['missing-fields', () => h.client.send('{"event":"mark","streamSid":"MZ456"}')],
      ['oversized-frame', () => h.client.send(JSON.stringify({ event: 'media', media: { payload: 'A'.repeat(1024 * 1024) } }))],
    ];
    for (const [, send] of garbage) {
      send();
      send();
    }
    h.client.send(START());
    h.client.send(MEDIA('not base64!!'));
    h.client.send(MEDIA('QUJD=')); // wrong length
    h.client.send(MEDIA('')); // empty payload
    h.client.send(START('MZother'));
    h.client.send(START('MZother'));
    h.client.send(MEDIA());
    await until(() => h.inbound.length === 1, 'the valid media frame after the garbage');
    h.send({ type: 'TRANSPORT.HANGUP' });
    await until(() => h.events.some((e) => e.type === 'TRANSPORT.STOP'), 'STOP');

    const warned = h.logs.filter((l) => l.message === 'ignored bad media stream frame').map((l) => l.kind);
    expect(warned.sort()).toEqual([...garbage.map(([kind]) => kind), 'bad-base64', 'duplicate-start'].sort());
    expect(h.events.map((e) => e.type)).toEqual(['TRANSPORT.START', 'TRANSPORT.STOP']);
    expect(h.events[0]).toMatchObject({ streamSid: 'MZ456' }); // the duplicate start changed nothing
    expect(h.actor.getSnapshot().status).toBe('active');

    h.actor.stop();
    const summary = h.logs.find((l) => l.message === 'media stream ended');
    expect(summary?.['ignoredFrames']).toMatchObject({ 'invalid-json': 2, 'bad-base64': 3, 'oversized-frame': 2, 'duplicate-start': 2 });
  });

  it('sends media and marks with the streamSid, queueing what came before start', async () => {
    const h = await connect();
    h.pipe.sendOutbound(Buffer.from([9, 9, 9]));
    h.pipe.sendMark('greeting');
    expect(h.fromServer).toEqual([]);
    h.client.send(START());
    await until(() => h.fromServer.length === 2, 'queued frames');
    h.pipe.sendOutbound(Buffer.alloc(4000, 0xaa)); // any size
    await until(() => h.fromServer.length === 3, 'big media frame');
    expect(h.fromServer).toEqual([
      { event: 'media', streamSid: 'MZ456', media: { payload: Buffer.from([9, 9, 9]).toString('base64') } },
      { event: 'mark', streamSid: 'MZ456', mark: { name: 'greeting' } },
      { event: 'media', streamSid: 'MZ456', media: { payload: Buffer.alloc(4000, 0xaa).toString('base64') } },
    ]);
    // START is reported before the queued audio starts playing.
    expect(h.events.map((e) => e.type)).toEqual(['TRANSPORT.START', 'TRANSPORT.AUDIO_STARTED']);
  });

  it('reports marks as played, or not played when they were outstanding at a clear, and AUDIO_STARTED per idle→audio', async () => {
    const h = await connect();
    const playedInFull: string[] = []; // what the pipe tells the TTS child it may let go of
    h.pipe.onPlayed((segment) => playedInFull.push(segment));
    h.client.send(START());
    await until(() => h.events.length === 1, 'START');

    h.pipe.sendOutbound(Buffer.alloc(800));
    h.pipe.sendOutbound(Buffer.alloc(800)); // same response: no second AUDIO_STARTED
    h.pipe.sendMark('seg-1');
    h.pipe.sendOutbound(Buffer.alloc(800));
    h.pipe.sendMark('seg-2');
    await until(() => h.fromServer.length === 5, 'outbound frames');
    h.client.send(MARK('seg-1')); // played
    await until(() => ofType(h.events, 'TRANSPORT.MARK').length === 1, 'seg-1 echo');
    h.send({ type: 'TRANSPORT.CLEAR' }); // seg-2 outstanding at the clear
    await until(() => h.fromServer.length === 6, 'clear');
    expect(h.fromServer[5]).toEqual({ event: 'clear', streamSid: 'MZ456' });
    h.pipe.sendOutbound(Buffer.alloc(160)); // after a clear the line is idle: new speech
    h.pipe.sendMark('seg-3');
    h.client.send(MARK('seg-2')); // Twilio's immediate echo caused by the clear
    h.client.send(MARK('seg-3'));
    h.client.send(MARK('seg-3')); // duplicate echo: unknown by now
    await until(() => ofType(h.events, 'TRANSPORT.MARK').length === 3, 'three mark events');
    h.pipe.sendOutbound(Buffer.alloc(160)); // everything echoed: idle again
    await until(() => ofType(h.events, 'TRANSPORT.AUDIO_STARTED').length === 3, 'third AUDIO_STARTED');

    expect(ofType(h.events, 'TRANSPORT.MARK').map(({ name, played }) => ({ name, played }))).toEqual([
      { name: 'seg-1', played: true },
      { name: 'seg-2', played: false },
      { name: 'seg-3', played: true },
    ]);
    expect(playedInFull).toEqual(['seg-1', 'seg-3']);
    expect(h.events.map((e) => e.type)).toEqual([
      'TRANSPORT.START',
      'TRANSPORT.AUDIO_STARTED',
      'TRANSPORT.MARK',
      'TRANSPORT.AUDIO_STARTED',
      'TRANSPORT.MARK',
      'TRANSPORT.MARK',
      'TRANSPORT.AUDIO_STARTED',
    ]);
    const marks = ofType(h.events, 'TRANSPORT.MARK');
    expect(marks.every((m, i) => i === 0 || m.at >= (marks[i - 1] as { at: number }).at)).toBe(true);
  });

  it('reports the mark of a partial segment (TTS dropped mid-segment) as not played, also when queued before start', async () => {
    const h = await connect();
    h.pipe.sendOutbound(Buffer.alloc(160));
    h.pipe.sendMark('early-cut', { partial: true });
    h.client.send(START());
    await until(() => h.fromServer.length === 2, 'queued frames');
    h.pipe.sendOutbound(Buffer.alloc(160));
    h.pipe.sendMark('whole');
    await until(() => h.fromServer.length === 4, 'frames');
    expect(h.fromServer[1]).toEqual({ event: 'mark', streamSid: 'MZ456', mark: { name: 'early-cut' } }); // Twilio sees a plain mark
    h.client.send(MARK('early-cut'));
    h.client.send(MARK('whole'));
    await until(() => ofType(h.events, 'TRANSPORT.MARK').length === 2, 'echoes');
    expect(ofType(h.events, 'TRANSPORT.MARK').map(({ name, played }) => ({ name, played }))).toEqual([
      { name: 'early-cut', played: false },
      { name: 'whole', played: true },
    ]);
  });

  it('answers a clear before start with not-played marks for the dropped queue', async () => {
    const h = await connect();
    h.pipe.sendOutbound(Buffer.alloc(160));
    h.pipe.sendMark('early');
    h.send({ type: 'TRANSPORT.CLEAR' });
    h.client.send(START());
    await until(() => h.events.length === 2, 'events');
    expect(h.events.map((e) => [e.type, 'played' in e ? e.played : null])).toEqual([
      ['TRANSPORT.MARK', false],
      ['TRANSPORT.START', null],
    ]);
    expect(h.fromServer).toEqual([]);
  });

  it('HANGUP closes the socket with 1000 and reports STOP once', async () => {
    const h = await connect();
    h.client.send(START());
    await until(() => h.events.length === 1, 'START');
    const closed = new Promise<number>((resolve) => h.client.once('close', resolve));
    h.send({ type: 'TRANSPORT.HANGUP' });
    expect(await closed).toBe(1000);
    await until(() => h.events.some((e) => e.type === 'TRANSPORT.STOP'), 'STOP');
    h.pipe.sendOutbound(Buffer.alloc(160)); // sending on a closed socket is a no-op
    h.send({ type: 'TRANSPORT.CLEAR' });
    h.send({ type: 'TRANSPORT.HANGUP' });
    await new Promise((r) => setTimeout(r, 20));
    expect(ofType(h.events, 'TRANSPORT.STOP')).toEqual([expect.objectContaining({ reason: 'socket-closed' })]);
    expect(h.actor.getSnapshot().status).toBe('active');
  });

  it('reports socket-closed when Twilio drops the socket, and stopping the actor closes an open socket', async () => {
    const a = await connect();
    a.client.send(START());
    a.client.close();
    await until(() => a.events.some((e) => e.type === 'TRANSPORT.STOP'), 'STOP');
    expect(a.events.at(-1)).toMatchObject({ type: 'TRANSPORT.STOP', reason: 'socket-closed' });

    const b = await connect();
    const closed = new Promise<number>((resolve) => b.client.once('close', resolve));
    b.actor.stop();
    expect(await closed).toBe(1000);
    expect(b.serverSocket.listenerCount('message')).toBe(0);
    b.pipe.sendOutbound(Buffer.alloc(10)); // sink detached: nothing happens
    expect(b.fromServer).toEqual([]);
  });

  it('authorizeStart decides on start: refused → closed 1008 and STOP rejected, never START; accepted → START with its parameters', async () => {
    const seen: string[] = [];
    const rejections: string[] = [];
    const refused = await connect({
      authorizeStart: (start) => {
        seen.push(start.callSid);
        return { ok: false, reason: 'token-missing' };
      },
      onRejected: (reason) => rejections.push(reason),
    });
    const closed = new Promise<number>((resolve) => refused.client.once('close', resolve));
    refused.pipe.sendOutbound(Buffer.alloc(160)); // audio queued for a call that will never start
    refused.client.send(START());
    refused.client.send(MEDIA());
    expect(await closed).toBe(1008);
    await until(() => refused.events.length > 0, 'STOP');
    expect(refused.events).toEqual([expect.objectContaining({ type: 'TRANSPORT.STOP', reason: 'rejected' })]);
    expect({ seen, rejections, starts: refused.starts, inbound: refused.inbound, sent: refused.fromServer }).toEqual({
      seen: ['CA789'],
      rejections: ['token-missing'],
      starts: [],
      inbound: [],
      sent: [],
    });
    expect(refused.logs.filter((l) => l.level === 'warn' || l.level === 'info')).toEqual([]); // a stream that never started is quiet

    const accepted = await connect({ authorizeStart: () => ({ ok: true, customParameters: { From: 'checked' } }) });
    accepted.client.send(START());
    await until(() => accepted.events.length === 1, 'START');
    expect(accepted.events[0]).toMatchObject({ type: 'TRANSPORT.START', customParameters: { From: 'checked' } });
  });

  it('an asynchronous start check (a shared store) holds the frames that follow start and hands them over in order once accepted; refused, they are dropped', async () => {
    const ignored: IgnoredKind[] = [];
    let decide: (d: { ok: true; customParameters: Record<string, string> }) => void = () => {};
    const h = await connect({ authorizeStart: () => new Promise((resolve) => (decide = resolve)), onIgnoredFrame: (kind) => ignored.push(kind) });
    h.client.send(START());
    h.client.send(MEDIA());
    h.client.send(MEDIA(Buffer.alloc(160, 0x11).toString('base64'), 3));
    h.client.send('{"event":"dtmf","streamSid":"MZ456","sequenceNumber":"4","dtmf":{"track":"inbound_track","digit":"5"}}');
    await new Promise((r) => setTimeout(r, 50));
    expect({ events: h.events, inbound: h.inbound }).toEqual({ events: [], inbound: [] }); // nothing before the decision
    decide({ ok: true, customParameters: {} });
    await until(() => h.events.length === 2, 'START then the held DTMF');
    expect(h.events.map((e) => e.type)).toEqual(['TRANSPORT.START', 'TRANSPORT.DTMF']);
    expect(h.inbound).toEqual([Buffer.alloc(160, 0x7f), Buffer.alloc(160, 0x11)]);
    expect(ignored).toEqual([]); // held, not counted as frames before start

    const refused = await connect({ authorizeStart: () => Promise.resolve({ ok: false, reason: 'token-reused' }) });
    const closed = new Promise<number>((resolve) => refused.client.once('close', resolve));
    refused.client.send(START());
    refused.client.send(MEDIA());
    expect(await closed).toBe(1008);
    expect({ starts: refused.starts, inbound: refused.inbound }).toEqual({ starts: [], inbound: [] });
  });

  it('after start, frames of another streamSid are ignored and counted; before start only stop means anything', async () => {
    const ignored: IgnoredKind[] = [];
    const h = await connect({ onIgnoredFrame: (kind) => ignored.push(kind) });
    h.client.send('{"event":"dtmf","streamSid":"MZ456","sequenceNumber":"2","dtmf":{"track":"inbound_track","digit":"9"}}');
    h.client.send(START());
    const other = (frame: string) => frame.replace('"streamSid":"MZ456"', '"streamSid":"MZevil"');
    h.client.send(other(MEDIA()));
    h.client.send(other('{"event":"dtmf","streamSid":"MZ456","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}'));
    h.client.send(other('{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC123","callSid":"CA789"},"streamSid":"MZ456"}'));
    h.client.send('{"event":"media","sequenceNumber":"3","media":{"track":"inbound","payload":"' + Buffer.alloc(160).toString('base64') + '"}}');
    h.client.send(MEDIA());
    await until(() => h.inbound.length === 1, 'the stream\'s own media');
    expect(h.inbound).toEqual([Buffer.alloc(160, 0x7f)]);
    expect(h.events.map((e) => e.type)).toEqual(['TRANSPORT.START']);
    expect(ignored).toEqual(['frame-before-start', 'foreign-stream-sid', 'foreign-stream-sid', 'foreign-stream-sid', 'foreign-stream-sid']);
    expect(h.logs.filter((l) => l.level === 'warn').map((l) => l.kind)).toEqual(['foreign-stream-sid']); // once per kind
  });

  it('rejects a stream with no accepted start within startTimeoutMs (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const rejections: string[] = [];
      const h = await connect({ startTimeoutMs: 5000, onRejected: (reason) => rejections.push(reason) });
      const closed = new Promise<number>((resolve) => h.client.once('close', resolve));
      h.client.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
      vi.advanceTimersByTime(4999);
      expect(rejections).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(rejections).toEqual(['start-timeout']);
      expect(h.events).toEqual([expect.objectContaining({ type: 'TRANSPORT.STOP', reason: 'rejected' })]);
      vi.useRealTimers();
      expect(await closed).toBe(1008);

      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const started = await connect({ startTimeoutMs: 5000, onRejected: (reason) => rejections.push(reason) });
      started.client.send(START());
      vi.useRealTimers();
      await until(() => started.events.length === 1, 'START');
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      vi.advanceTimersByTime(60_000);
      expect(rejections).toEqual(['start-timeout']); // a started stream is never timed out
      expect(started.serverSocket.readyState).toBe(WebSocket.OPEN);
    } finally {
      vi.useRealTimers();
    }
  });
});
