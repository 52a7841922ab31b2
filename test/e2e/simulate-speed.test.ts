/**
 * The simulated world on one clock (src/harness/sim-speed.ts): at speed N the server that simulateCall boots runs its
 * conversation timings N times shorter — the product's defaults untouched, the safety nets that bound real work left
 * real — the caller's patience and script shrink by the same factor, and Deepgram's simulator holds its API minimums on
 * that clock (at speed 1 it refuses what Deepgram refuses). A five-utterance agent test keeps every event in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_SIMULATE_SPEED, simulateCall } from '../../src/api/testing.js';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';
import { startDeepgramSimulator, type DeepgramSimulator } from '../../offline/deepgram.js';
import { scriptAtSpeed } from '../../src/harness/sim-speed.js';
import { defaultCallOptions } from '../../machines/options.js';
import { FIVE_UTTERANCES, FIVE_UTTERANCE_MODEL } from '../../bench/simulate-call-time.js';

let stack: OfflineStack | null = null;
let sim: DeepgramSimulator | null = null;
afterEach(async () => {
  await stack?.close();
  await sim?.close();
  stack = null;
  sim = null;
});

describe('a simulated world at speed 16', () => {
  it("runs the server's conversation timings 16 times shorter, leaves the product's defaults and the safety nets real", async () => {
    stack = await startOfflineStack({ speed: 16 });
    const { stt, callOptions } = stack.providers;
    expect({ endpointing: stt.endpointingMs, utteranceEnd: stt.utteranceEndMs }).toEqual({ endpointing: 19, utteranceEnd: 63 });
    expect(callOptions).toMatchObject({ idleTimeoutMs: 500, falseInterruptionTimeoutMs: 94, dtmfTimeoutMs: 94 });
    // Bounds on real work (the agent's tools, a failing provider) stay as they are.
    expect(callOptions).toMatchObject({ llmTimeoutMs: defaultCallOptions.llmTimeoutMs, toolFillerDelayMs: defaultCallOptions.toolFillerDelayMs, clearTimeoutMs: defaultCallOptions.clearTimeoutMs });
    // The configuration (what `npm start` would run) keeps the real values.
    expect(stack.config).toMatchObject({ STT_ENDPOINTING_MS: 300, STT_UTTERANCE_END_MS: 1000, IDLE_TIMEOUT_MS: 8000 });

    // Deepgram's simulator, told the clock, takes the scaled utterance_end_ms that its 1000 ms minimum would refuse.
    const opened: Array<Record<string, string>> = [];
    stack.providers.simulators?.deepgram.observer.on('listen.open', (e) => opened.push(e.params));
    const record = await stack.placeCall({ script: [{ waitForAgent: 'reply' }, { say: 'Hello there' }, { waitForAgent: 'reply' }, { hangup: true }] }).done;
    expect(opened[0]).toMatchObject({ endpointing: '19', utterance_end_ms: '63' });
    expect(record.transcript.filter((t) => t.role === 'agent').length).toBe(2);
  });

  it("scales the caller's script by the same factor: pauses, hesitations, barge-in offsets, key gaps (not wait timeouts)", () => {
    expect(
      scriptAtSpeed([{ pause: 1600 }, { say: 'one ... two' }, { bargeIn: 'stop', afterMs: 320 }, { dtmf: '12' }, { waitForAgent: 'reply', timeoutMs: 5000 }], 16),
    ).toEqual([{ pause: 100 }, { say: 'one ... two', hesitationMs: 16 }, { bargeIn: 'stop', afterMs: 20 }, { dtmf: '12', gapMs: 19 }, { waitForAgent: 'reply', timeoutMs: 5000 }]);
  });
});

describe("Deepgram's simulator and its clock", () => {
  const statusOf = async (query: string): Promise<number> => {
    const ws = new WebSocket(`${sim?.url}/v1/listen?encoding=mulaw&sample_rate=8000&interim_results=true${query}`, { headers: { Authorization: 'Token k' } });
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    ws.terminate();
    return status;
  };

  it('refuses utterance_end_ms below 1000 at speed 1, as Deepgram does', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k' });
    expect(await statusOf('&utterance_end_ms=500')).toBe(400);
    expect(await statusOf('&utterance_end_ms=1000')).toBe(101);
  });

  it('holds the same minimum on a clock 16 times faster (1000 / 16 ms)', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k', clockSpeed: 16 });
    expect(await statusOf('&utterance_end_ms=63')).toBe(101);
    expect(await statusOf('&utterance_end_ms=50')).toBe(400);
  });
});

describe('simulateCall by default', () => {
  it(`plays a five-utterance agent call at speed ${DEFAULT_SIMULATE_SPEED} with every reply, tool and the hang-up in order`, async () => {
    expect(DEFAULT_SIMULATE_SPEED).toBeGreaterThan(4);
    const call = await simulateCall({ agent: 'agents/front-desk.ts', caller: FIVE_UTTERANCES, model: FIVE_UTTERANCE_MODEL });
    const seen = JSON.stringify({ heard: call.heard, timeline: call.call.timeline });
    expect(call.heard, seen).toEqual([
      'Hello! Thanks for calling. How can I help you today?',
      'We are open nine to five, Monday to Saturday.',
      // The tool runs real code: on a machine too busy to run it within the filler delay the filler is said too.
      expect.stringMatching(/^Let me check\. (Let me look that up\. )?It is on its way\.$/),
      'You said: "Is it the blue pan?". Is there anything else?',
      'You said: "Can it come on Friday?". Is there anything else?',
      'Goodbye!',
    ]);
    expect(call.toolCalls.map((t) => `${t.name}:${t.outcome}`)).toEqual(['lookup_order:ok', 'end_call:ok']);
    expect(call.call.transcript.filter((t) => t.role === 'caller' && t.bargeIn), seen).toEqual([]);
    expect(call.endReason).toBe('end_call');
    expect(call.endedBy).toBe('server');
  });
});
