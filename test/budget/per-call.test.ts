/**
 * Per-call budgets (budgets.ts), checked by counting, never by timing: the server runs alone in a child process
 * (server-probe.ts, with --expose-gc) against the simulators in this process; warm-up calls, then CALLS identical
 * scripted calls held live between turns. Measured: events the machine received per call, heap retained per live
 * call and per ended call (after GC), memory outside the heap (`process.memoryUsage().external`: audio and other
 * Buffers) per call idle, per call speaking a long reply and per ended call, timers and sockets per live call, and
 * modules loaded after the first call. BUDGET_HEAP_SNAPSHOTS=<dir> also writes heap snapshots of each phase there
 * (an ArrayBuffer's backing store shows as `system / JSArrayBufferData`; its retainers say who holds the bytes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeepgramSimulator, type DeepgramSimulator } from '../../offline/deepgram.js';
import { startLlmSimulator, type LlmSimulator } from '../../offline/llm.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import type { ScriptStep, SimulatedCall } from '../../offline/twilio-caller-types.js';
import { freePort } from '../../bench/server-process.js';
import { PER_CALL_BUDGETS } from './budgets.js';
import type { ProbeMemory, ProbeReply, ProbeRequest, ProbeSample } from './probe-protocol.js';

const CALLS = 8;
const WARM_UP_CALLS = 4;
const SETTLE_MS = 2000;
const AUTH_TOKEN = 'budget-test-token';
const STORY = 'Once upon a time there was a shop. It sold pans and pots to the whole town. Everyone loved it. The end of the story.';
/** A reply of six sentences (~15 s of audio, ~120 KB of µ-law): the calls are sampled while they play it. */
const SAGA =
  'The saga begins in a small harbour town. A baker there rose every day before the sun. ' +
  'One winter the ovens went cold and the town went hungry. The baker walked to the mountains for wood. ' +
  'She came back with a cart full of pine and a song. The ovens burned all winter and nobody forgot her.';

/** Greeting, a question and its reply, a story cut short by a barge-in and the reply to that; then the line idles. */
const SCRIPT: ScriptStep[] = [
  { waitForAgent: 'reply' },
  { say: 'what are your opening hours' },
  { waitForAgent: 'reply' },
  { say: 'tell me a long story' },
  { bargeIn: 'wait stop please', afterMs: 400 },
  { waitForAgent: 'reply' },
  { pause: 120_000 },
];
const AGENT_TURNS_BEFORE_IDLE = 4;

/** Greeting, then a long reply that is still playing when the calls are sampled. */
const SPEAKING_SCRIPT: ScriptStep[] = [
  { waitForAgent: 'reply' },
  { say: 'tell me the whole saga' },
  { waitForAgent: 'speaking' },
  { pause: 120_000 },
];

class Probe {
  private waiting: Array<(reply: ProbeReply) => void> = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: ProbeReply) => this.waiting.shift()?.(reply));
  }
  ask(request: ProbeRequest): Promise<ProbeReply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.send(request);
    });
  }
  async memory(): Promise<ProbeMemory> {
    const reply = await this.ask({ cmd: 'memory' });
    if (reply.cmd !== 'memory') throw new Error(`probe answered ${reply.cmd}`);
    return reply.memory;
  }
  async sample(): Promise<ProbeSample> {
    const reply = await this.ask({ cmd: 'sample' });
    if (reply.cmd !== 'sample') throw new Error(`probe answered ${reply.cmd}`);
    return reply.sample;
  }
}

let deepgram: DeepgramSimulator;
let llm: LlmSimulator;
let probe: Probe;
let serverUrl: string;
let recordsDir: string;

beforeAll(async () => {
  deepgram = await startDeepgramSimulator({});
  llm = await startLlmSimulator({ script: [{ when: /story$/i, text: STORY }, { when: /saga$/i, text: SAGA }] });
  recordsDir = mkdtempSync(path.join(os.tmpdir(), 'budget-records-'));
  const port = await freePort();
  const child = fork(fileURLToPath(new URL('./server-probe.ts', import.meta.url)), [], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      DEEPGRAM_API_KEY: 'budget-deepgram-key',
      DEEPGRAM_BASE_URL: deepgram.url,
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'budget-openai-key',
      OPENAI_BASE_URL: llm.openaiBaseUrl,
      CALL_DB_PATH: path.join(recordsDir, 'calls.db'),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<ProbeReply>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`budget probe exited with ${String(code)} before it was ready`)));
  });
  if (ready.cmd !== 'ready') throw new Error(`probe said ${ready.cmd}`);
  serverUrl = ready.url;
  probe = new Probe(child);
}, 60_000);

afterAll(async () => {
  if (probe !== undefined) await probe.ask({ cmd: 'stop' });
  await Promise.all([deepgram?.close(), llm?.close()]);
  if (recordsDir !== undefined) rmSync(recordsDir, { recursive: true, force: true });
}, 30_000);

function place(script: readonly ScriptStep[]): SimulatedCall {
  return placeSimulatedCall({ serverUrl, authToken: AUTH_TOKEN, script, maxDurationMs: 150_000 });
}

async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The saga is playing and all of its audio has arrived (nothing new for a second): the TTS holds all of it. */
function speakingWithAllAudio(calls: readonly SimulatedCall[]): () => Promise<boolean> {
  let last = -1;
  let stableSince = 0;
  return async () => {
    const playing = calls.every((call) => {
      const agent = call.record.transcript.filter((t) => t.role === 'agent');
      return agent.length >= 2 && agent[agent.length - 1]?.endAt === null;
    });
    const received = calls.reduce((sum, call) => sum + call.record.mediaBytesReceived, 0);
    if (!playing || received !== last) {
      last = received;
      stableSince = Date.now();
      return false;
    }
    return Date.now() - stableSince >= 1000;
  };
}

const idleBetweenTurns = (call: SimulatedCall): boolean => {
  const agent = call.record.transcript.filter((t) => t.role === 'agent');
  return agent.length >= AGENT_TURNS_BEFORE_IDLE && agent[agent.length - 1]?.endAt !== null;
};

describe('per-call budgets (budgets.ts)', () => {
  let idle: ProbeSample;
  let live: ProbeSample;
  let ended: ProbeSample;
  let speaking: ProbeMemory;
  let afterSpeaking: ProbeMemory;

  beforeAll(async () => {
    // The first calls load whatever a call needs (after them nothing more may be loaded) and let V8 compile the call
    // path, so the heap measured below is the calls' data, not code and type feedback (a few hundred KB).
    const warmUp = Array.from({ length: WARM_UP_CALLS }, () => place([...SCRIPT.slice(0, -1), { hangup: true }]));
    await Promise.all(warmUp.map((c) => c.done));
    await until(async () => (await probe.sample()).activeCalls === 0, 'the warm-up calls to end');
    await probe.ask({ cmd: 'markModules' });
    idle = await probe.sample();
    if (process.env.BUDGET_HEAP_SNAPSHOTS) await probe.ask({ cmd: 'heapSnapshot', file: path.join(process.env.BUDGET_HEAP_SNAPSHOTS, 'idle.heapsnapshot') });

    const calls = Array.from({ length: CALLS }, () => place(SCRIPT));
    await until(() => calls.every(idleBetweenTurns), `${CALLS} calls to reach the idle line after four agent turns`, 90_000);
    // The short timers a reply leaves behind (the clear/mark timeout 1 s, the false-interruption window 1.5 s) can
    // still be pending the moment the last call reaches the line (a fresh clone measured 3.125 timers per call once):
    // let them run out, and measure the calls as they idle (the idle re-prompt comes at 8 s).
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    live = await probe.sample();
    if (process.env.BUDGET_HEAP_SNAPSHOTS) await probe.ask({ cmd: 'heapSnapshot', file: path.join(process.env.BUDGET_HEAP_SNAPSHOTS, 'live.heapsnapshot') });
    for (const call of calls) call.hangup();
    const records = await Promise.all(calls.map((c) => c.done));
    await until(async () => (await probe.sample()).activeCalls === 0, 'the calls to end');
    ended = await probe.sample();
    if (process.env.BUDGET_HEAP_SNAPSHOTS) await probe.ask({ cmd: 'heapSnapshot', file: path.join(process.env.BUDGET_HEAP_SNAPSHOTS, 'ended.heapsnapshot') });

    // Calls in the middle of a long reply whose audio has all arrived: the most a call holds outside the JS heap.
    const talkers = Array.from({ length: CALLS }, () => place(SPEAKING_SCRIPT));
    await until(speakingWithAllAudio(talkers), `${CALLS} calls to be playing the whole saga`, 90_000);
    speaking = await probe.memory();
    if (process.env.BUDGET_HEAP_SNAPSHOTS) await probe.ask({ cmd: 'heapSnapshot', file: path.join(process.env.BUDGET_HEAP_SNAPSHOTS, 'speaking.heapsnapshot') });
    for (const call of talkers) call.hangup();
    await Promise.all(talkers.map((c) => c.done));
    await until(async () => (await probe.sample()).activeCalls === 0, 'the speaking calls to end');
    afterSpeaking = await probe.memory();
    const report = {
      calls: CALLS,
      machineEventsPerCall: ended.rootEvents,
      heapUsedPerLiveCallKB: Math.round((live.heapUsed - idle.heapUsed) / CALLS / 1024),
      dataHeapPerLiveCallKB: Math.round((live.dataHeap - idle.dataHeap) / CALLS / 1024),
      externalPerLiveCallKB: Math.round((live.external - ended.external) / CALLS / 1024),
      arrayBuffersPerLiveCallKB: Math.round((live.arrayBuffers - ended.arrayBuffers) / CALLS / 1024),
      externalPerEndedCallKB: Math.round((ended.external - idle.external) / CALLS / 1024),
      externalPerSpeakingCallKB: Math.round((speaking.external - afterSpeaking.external) / CALLS / 1024),
      arrayBuffersPerSpeakingCallKB: Math.round((speaking.arrayBuffers - afterSpeaking.arrayBuffers) / CALLS / 1024),
      // Not budgeted (the allocator keeps pages it freed, so it is not deterministic), for the record only.
      rssPerLiveCallKB: Math.round((live.rss - idle.rss) / CALLS / 1024),
      rssPerSpeakingCallKB: Math.round((speaking.rss - afterSpeaking.rss) / CALLS / 1024),
      dataHeapPerEndedCallKB: Math.round((ended.dataHeap - idle.dataHeap) / CALLS / 1024),
      timersPerLiveCall: (live.timers - idle.timers) / CALLS,
      socketsPerLiveCall: (live.sockets - idle.sockets) / CALLS,
      modulesAfterFirstCall: ended.modulesSinceMark,
      interrupted: records.map((r) => r.transcript.filter((t) => t.role === 'agent' && t.interrupted).length),
    };
    process.stdout.write(`per-call budget measurements: ${JSON.stringify(report)}\n`);
  }, 300_000);

  it('the scripted calls ran as scripted (each barge-in honoured)', () => {
    expect(live.activeCalls).toBe(CALLS);
    expect(ended.rootEvents).toHaveLength(CALLS);
  });

  it('machine events per scripted call', () => {
    expect(Math.max(...ended.rootEvents)).toBeLessThanOrEqual(PER_CALL_BUDGETS.machineEventsPerScriptedCall);
  });

  it('heap retained per live call, and per ended call', () => {
    expect((live.dataHeap - idle.dataHeap) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.retainedHeapBytesPerLiveCall);
    expect((ended.dataHeap - idle.dataHeap) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.retainedHeapBytesPerEndedCall);
  });

  it('memory outside the JS heap (Buffers, audio) per live call: idle between turns, and speaking a long reply', () => {
    expect(speaking.activeCalls).toBe(CALLS);
    // Against the same server once these calls have ended (as speaking against after-speaking): what grew for the
    // process and stays (undici's wasm parser memory, allocator pools) is in both samples and cancels out.
    expect((live.external - ended.external) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.externalBytesPerIdleCall);
    expect((speaking.external - afterSpeaking.external) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.externalBytesPerSpeakingCall);
    expect((ended.external - idle.external) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.externalBytesPerEndedCall);
  });

  it('timers and sockets per live call', () => {
    expect((live.timers - idle.timers) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.timersPerLiveCall);
    expect((live.sockets - idle.sockets) / CALLS).toBeLessThanOrEqual(PER_CALL_BUDGETS.socketsPerLiveCall);
  });

  it('no module loaded after the first call', () => {
    expect(ended.modulesSinceMark).toHaveLength(PER_CALL_BUDGETS.modulesLoadedAfterFirstCall);
  });
});
