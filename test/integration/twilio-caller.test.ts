/**
 * The simulated Twilio caller against a tiny stand-in of our server (express + ws + the real transport actor):
 * signed webhook, TwiML Parameters → customParameters, real-time inbound pacing, playback-paced mark echoes,
 * clear semantics and the heard-vs-cut transcript.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import twilio from 'twilio';
import { WebSocketServer } from 'ws';
import { createActor, setup, type AnyActorRef } from 'xstate';
import { createTwilioTransport } from '../../actors/twilio-transport.js';
import { MediaPipe } from '../../actors/media-pipe.js';
import type { CallEvent, TransportStart } from '../../machines/events.js';
import { silentLogger } from '../../lib/logger.js';
import { rms, SPEECH_RMS_THRESHOLD } from '../../lib/mulaw.js';
import { encodeSpeech, SpeechDecoder } from '../../offline/speech-codec.js';
import { placeSimulatedCall, type AgentTurn, type CallerTurn, type SimulatedCallOptions } from '../../offline/twilio-caller.js';

const AUTH_TOKEN = 'test-auth-token';
const PUBLIC_URL = 'https://voice.example.test'; // what the server signs against; the caller maps it to loopback
const GREETING_PARAM = `Hi "there" & <welcome>`;

/** One call as the stand-in server sees it. */
interface ServerCall {
  start: TransportStart | null;
  events: CallEvent[];
  inboundFrames: number;
  utterances: string[];
  /** Agent speech: simulated-speech audio then a mark. Returns the epoch ms it was handed to the transport. */
  say(text: string, ms: number, mark: string): number;
  clear(): void;
  hangup(): void;
}

interface AgentScript {
  onStart?(call: ServerCall): void;
  onUtterance?(call: ServerCall, text: string): void;
}

let server: Server;
let serverUrl: string;
const calls: ServerCall[] = [];
const webhookStatuses: number[] = [];
let agent: AgentScript = {};

beforeAll(async () => {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.post('/voice', (req, res) => {
    const params = req.body as Record<string, string>;
    const valid = twilio.validateRequest(AUTH_TOKEN, req.header('X-Twilio-Signature') ?? '', `${PUBLIC_URL}/voice`, params);
    webhookStatuses.push(valid ? 200 : 403);
    if (!valid) return void res.status(403).send('bad signature');
    const response = new twilio.twiml.VoiceResponse();
    const stream = response.connect().stream({ url: `${PUBLIC_URL.replace('https', 'wss')}/media` });
    for (const name of ['CallSid', 'From', 'To'] as const) stream.parameter({ name, value: params[name] ?? '' });
    stream.parameter({ name: 'Greeting', value: GREETING_PARAM });
    res.type('text/xml').send(response.toString());
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const wss = new WebSocketServer({ server, path: '/media' });
  wss.on('connection', (socket) => {
    const pipe = new MediaPipe();
    const decoder = new SpeechDecoder();
    let speaking = false;
    const call: ServerCall = {
      start: null,
      events: [],
      inboundFrames: 0,
      utterances: [],
      say(text, ms, mark) {
        const at = performance.timeOrigin + performance.now();
        pipe.sendOutbound(encodeSpeech(text, ms));
        pipe.sendMark(mark);
        return at;
      },
      clear: () => transport.send({ type: 'TRANSPORT.CLEAR' }),
      hangup: () => transport.send({ type: 'TRANSPORT.HANGUP' }),
    };
    calls.push(call);
    pipe.onInbound((frame) => {
      call.inboundFrames++;
      decoder.push(frame);
      const loud = rms(frame) > SPEECH_RMS_THRESHOLD;
      if (speaking && !loud) {
        const text = decoder.take();
        call.utterances.push(text);
        agent.onUtterance?.(call, text);
      }
      speaking = loud;
    });
    const machine = setup({ actors: { transport: createTwilioTransport({ socket, pipe, log: silentLogger }) } }).createMachine({
      invoke: { id: 'transport', src: 'transport' },
      on: {
        '*': {
          actions: ({ event }) => {
            call.events.push(event as CallEvent);
            if (event.type === 'TRANSPORT.START') {
              call.start = event as TransportStart;
              agent.onStart?.(call);
            }
          },
        },
      },
    });
    const actor = createActor(machine).start();
    const transport = actor.getSnapshot().children['transport'] as AnyActorRef;
    socket.on('close', () => setTimeout(() => actor.stop(), 10));
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function call(script: SimulatedCallOptions['script'], extra: Partial<SimulatedCallOptions> = {}) {
  return placeSimulatedCall({ serverUrl, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, from: '+15550100', to: '+15550199', script, maxDurationMs: 20_000, ...extra });
}

function serverCallFor(streamSid: string): ServerCall | undefined {
  return calls.find((c) => c.start?.streamSid === streamSid);
}

async function until(check: () => boolean, what: string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const marksOf = (c: ServerCall) => c.events.filter((e): e is Extract<CallEvent, { type: 'TRANSPORT.MARK' }> => e.type === 'TRANSPORT.MARK');
const kinds = (timeline: { kind: string }[]) => timeline.map((e) => e.kind);

describe('simulated Twilio caller', () => {
  it('signs the webhook, passes Parameters as customParameters, and streams at real-time pace', async () => {
    agent = {};
    const sim = call([{ pause: 1300 }, { say: 'hello there agent' }]);
    await until(() => !!serverCallFor(sim.record.streamSid), 'start at the server');
    const server = serverCallFor(sim.record.streamSid) as ServerCall;
    expect(sim.record.webhookStatus).toBe(200);
    expect(sim.record.streamUrl).toBe(`${serverUrl.replace('http', 'ws')}/media`);
    expect(server.start).toMatchObject({
      callSid: sim.record.callSid,
      accountSid: sim.record.accountSid,
      customParameters: { CallSid: sim.record.callSid, From: '+15550100', To: '+15550199', Greeting: GREETING_PARAM },
    });
    expect(sim.record.customParameters).toEqual(server.start?.customParameters);

    await new Promise((r) => setTimeout(r, 100));
    const before = server.inboundFrames;
    await new Promise((r) => setTimeout(r, 1000));
    const perSecond = server.inboundFrames - before;
    expect(perSecond).toBeGreaterThanOrEqual(30);
    expect(perSecond).toBeLessThanOrEqual(70);

    await until(() => server.utterances.length === 1, 'the utterance');
    expect(server.utterances).toEqual(['hello there agent']);
    server.hangup();
    const record = await sim.done;
    expect(record.endedBy).toBe('server');
    expect(record.closeCode).toBe(1000);
    expect(record.transcript).toEqual([expect.objectContaining({ role: 'caller', text: 'hello there agent', bargeIn: false })]);
    expect(record.errors).toEqual([]);
    await until(() => server.events.length === 2, 'STOP at the server');
    expect(server.events.map((e) => e.type)).toEqual(['TRANSPORT.START', 'TRANSPORT.STOP']);
  });

  it('pauses mid-sentence on a hesitation mark: silence inside one caller turn', async () => {
    agent = {};
    const sim = call([{ say: 'I would like to ... book a table', hesitationMs: 400 }], { wordMs: 120 });
    await until(() => !!serverCallFor(sim.record.streamSid), 'start at the server');
    const server = serverCallFor(sim.record.streamSid) as ServerCall;
    await until(() => server.utterances.length === 2, 'both halves');
    // The server hears two bursts of speech with silence between them …
    expect(server.utterances.map((u) => u.trim())).toEqual(['I would like to', 'book a table']);
    sim.hangup();
    const record = await sim.done;
    // … while the caller's record holds one turn (no mark in its text), lasting the words plus the pause.
    const turns = record.transcript.filter((t): t is CallerTurn => t.role === 'caller');
    expect(turns.map((t) => t.text)).toEqual(['I would like to book a table']);
    expect((turns[0]?.endAt ?? 0) - (turns[0]?.startAt ?? 0)).toBeGreaterThanOrEqual(7 * 120 + 400 - 40);
  });

  it('is refused with a bad signature and never opens the stream', async () => {
    const callsBefore = calls.length;
    const record = await call([{ say: 'hi' }], { signWith: 'not-the-token' }).done;
    expect(record.webhookStatus).toBe(403);
    expect(webhookStatuses.at(-1)).toBe(403);
    expect(record.endedBy).toBe('webhook');
    expect(record.startedAt).toBeNull();
    expect(calls.length).toBe(callsBefore);
  });

  it('plays agent audio at 8 bytes/ms and echoes the mark only after it played', async () => {
    const sentAt: number[] = [];
    agent = { onStart: (c) => sentAt.push(c.say('Welcome to the test line', 600, 'greeting')) };
    const sim = call([{ waitForAgent: 'speaking' }, { waitForAgent: 'silent' }, { hangup: true }]);
    const record = await sim.done;
    const server = serverCallFor(record.streamSid) as ServerCall;

    const [greeting] = marksOf(server);
    expect(greeting).toMatchObject({ name: 'greeting', played: true });
    expect((greeting?.at ?? 0) - (sentAt[0] ?? Infinity)).toBeGreaterThanOrEqual(599); // not before its 600 ms played
    expect(record.endedBy).toBe('caller');
    await until(() => server.events.some((e) => e.type === 'TRANSPORT.STOP'), 'STOP at the server');
    expect(server.events.at(-1)).toMatchObject({ type: 'TRANSPORT.STOP', reason: 'stop' });
    expect(record.transcript).toEqual([
      expect.objectContaining({ role: 'agent', text: 'Welcome to the test line', cut: '', interrupted: false, latencyMs: null }),
    ]);
    expect(record.firstAgentAudioMs).not.toBeNull();
    expect(kinds(record.timeline).filter((k) => ['agentAudioStart', 'mark', 'markEcho', 'agentAudioEnd', 'hangup'].includes(k))).toEqual([
      'agentAudioStart',
      'mark',
      'markEcho',
      'agentAudioEnd',
      'hangup',
    ]);
    expect(record.marksEchoed).toBe(1);
    expect(record.errors).toEqual([]);
  });

  it('on clear drops unplayed audio, echoes pending marks at once, and records heard vs cut text', async () => {
    const first = 'I am going to read you the whole terms and conditions of this fine establishment';
    const second = ' and then some more';
    agent = {
      onStart: (c) => {
        c.say(first, 4000, 'seg-1');
        c.say(second, 1000, 'seg-2');
      },
      onUtterance: (c) => {
        c.clear();
        setTimeout(() => c.hangup(), 300);
      },
    };
    const record = await call([{ bargeIn: 'wait stop', afterMs: 400 }]).done;
    const server = serverCallFor(record.streamSid) as ServerCall;

    expect(marksOf(server).map(({ name, played }) => ({ name, played }))).toEqual([
      { name: 'seg-1', played: false },
      { name: 'seg-2', played: false },
    ]);
    expect(record.clears).toBe(1);
    const clear = record.timeline.find((e) => e.kind === 'clear');
    const echoes = record.timeline.filter((e) => e.kind === 'markEcho');
    expect(echoes.map((e) => e.text)).toEqual(['seg-1', 'seg-2']);
    expect(echoes.every((e) => e.t === clear?.t)).toBe(true); // echoed in the same instant as the clear

    const [agentTurn, callerTurn] = record.transcript as [AgentTurn, CallerTurn];
    expect(callerTurn).toMatchObject({ role: 'caller', text: 'wait stop', bargeIn: true });
    expect(agentTurn).toMatchObject({ role: 'agent', interrupted: true });
    const full = first + second;
    expect(agentTurn.text.length).toBeGreaterThan(5); // ≥ 400 ms of it was heard before the barge-in
    expect(full.startsWith(agentTurn.text)).toBe(true);
    expect(agentTurn.cut.length).toBeGreaterThan(second.length);
    expect(full.endsWith(agentTurn.cut)).toBe(true);
    expect(agentTurn.text.length + agentTurn.cut.length).toBeGreaterThanOrEqual(full.length - 1);
    expect(clear?.text).toBe(agentTurn.cut);
    expect(record.endedBy).toBe('server');
  });

  it('holds a conversation: greeting, question, answer with latency, dtmf, hangup', async () => {
    agent = {
      onStart: (c) => c.say('Hello how can I help', 400, 'greeting'),
      onUtterance: (c, text) => c.say(`you said ${text}`, 500, 'answer'),
    };
    const record = await call([{ waitForAgent: 'reply' }, { say: 'what time is it' }, { waitForAgent: 'reply' }, { dtmf: '5' }, { hangup: true }]).done;
    const server = serverCallFor(record.streamSid) as ServerCall;

    expect(record.transcript.map((t) => [t.role, t.text])).toEqual([
      ['agent', 'Hello how can I help'],
      ['caller', 'what time is it'],
      ['agent', 'you said what time is it'],
    ]);
    const answer = record.transcript[2] as AgentTurn;
    expect(answer.latencyMs).not.toBeNull();
    expect(answer.latencyMs).toBeGreaterThan(0);
    expect(server.events.filter((e) => e.type === 'TRANSPORT.DTMF')).toEqual([expect.objectContaining({ digit: '5' })]);
    expect(marksOf(server).map((m) => [m.name, m.played])).toEqual([
      ['greeting', true],
      ['answer', true],
    ]);
    expect(record.endedBy).toBe('caller');
    expect(record.errors).toEqual([]);
  });

  it('hangs up by itself after maxDurationMs', async () => {
    agent = {};
    const record = await call([], { maxDurationMs: 600 }).done;
    const server = serverCallFor(record.streamSid) as ServerCall;
    expect(record.endedBy).toBe('maxDuration');
    await until(() => server.events.some((e) => e.type === 'TRANSPORT.STOP'), 'STOP at the server');
    expect(server.events.at(-1)).toMatchObject({ type: 'TRANSPORT.STOP', reason: 'stop' });
  });

  it('keeps concurrent calls apart: each hears only its own answer', async () => {
    agent = {
      onUtterance: (c, text) => {
        c.say(`echo ${text}`, 300, 'answer');
        setTimeout(() => c.hangup(), 900);
      },
    };
    const sims = Array.from({ length: 12 }, (_, i) => call([{ say: `caller number ${i}` }]));
    const records = await Promise.all(sims.map((s) => s.done));
    expect(new Set(records.map((r) => r.streamSid)).size).toBe(12);
    records.forEach((r, i) => {
      expect(r.transcript.map((t) => t.text)).toEqual([`caller number ${i}`, `echo caller number ${i}`]);
      expect(r.wrongStreamSid).toBe(0);
      expect(r.errors).toEqual([]);
    });
  });
});

describe('simulated Twilio caller, failure paths', () => {
  it('records an unreachable server instead of rejecting', async () => {
    const record = await placeSimulatedCall({ serverUrl: 'http://127.0.0.1:1', authToken: AUTH_TOKEN, script: [{ say: 'hi' }] }).done;
    expect(record.endedBy).toBe('error');
    expect(record.errors[0]).toMatch(/call setup failed/);
  });

  it('hangup() before the stream opens ends the call cleanly', async () => {
    agent = {};
    const sim = call([{ say: 'never said' }]);
    sim.hangup();
    const record = await sim.done;
    expect(record.endedBy).toBe('caller');
    expect(record.framesSent).toBe(0);
  });
});
