/**
 * Flows under interruption, through the real stack: a barge-in while a tool that moved the flow is still running
 * leaves the flow in the step the event decided (the next turn speaks from it), and the cancelled tool's events
 * after its abort are ignored. Plus the call record's flow path and per-turn step (folded from emitted events).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineFlow, tool } from '../../src/api/index.js';
import { simulateCall } from '../../src/api/testing.js';
import { buildCallSummary } from '../../src/records/summary.js';
import type { LogEntry } from '../../src/records/event-log.js';
import type { CallEmitted } from '../../machines/emitted.js';
import { SIM_SPEED } from '../support/sim-speed.js';

/** What the slow tool saw after its abort: the step, and whether its late send threw. */
const afterAbort: { step: string | null; threw: boolean }[] = [];

const checkIdentity = tool({
  description: 'Check the caller\'s identity.',
  parameters: z.object({}),
  filler: false,
  async execute(_args, ctx) {
    ctx.flow.send({ type: 'VERIFIED', who: 'Ada' });
    // Still busy when the caller barges in: the round is cancelled and this signal aborts.
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    let threw = false;
    try {
      ctx.flow.send({ type: 'GIVE_UP' }); // after the abort: ignored (and logged), never applied
    } catch {
      threw = true;
    }
    afterAbort.push({ step: ctx.flow.step, threw });
    return 'never seen by the model';
  },
});

const agent = defineAgent({
  name: 'flow-interruptions',
  systemPrompt: 'You are a test agent.',
  greeting: 'Hello.',
  flow: defineFlow({
    initial: 'identify',
    steps: {
      identify: { instructions: 'STEP identify.', tools: { check_identity: checkIdentity }, on: { VERIFIED: 'verified' } },
      verified: { instructions: 'STEP verified.', on: { GIVE_UP: 'identify' } },
    },
  }),
});

describe('flows under interruption', () => {
  it('a barge-in while the tool that moved the flow runs: the flow stays where the event put it; the late event is ignored', async () => {
    const call = await simulateCall({
      speed: SIM_SPEED,
      agent,
      // (a `say` step, not a line: a line would wait for the whole reply before the barge-in step)
      caller: [{ say: 'Please check who I am.' }, { bargeIn: 'Actually, never mind that.', afterMs: 400 }, { waitForAgent: 'reply' }],
      model: [
        { when: /never mind/, text: 'No problem.' },
        { when: /check who/, text: 'Sure, let me check that for you, it will take a little while to look up.', toolCall: { name: 'check_identity', args: {} } },
      ],
    });
    expect(call.toolCalls).toEqual([expect.objectContaining({ name: 'check_identity', outcome: 'cancelled' })]);
    expect(afterAbort).toEqual([{ step: 'verified', threw: false }]);
    expect(call.flowPath).toEqual(['identify', 'verified']);
    const answer = call.llmRequests.at(-1);
    expect(answer?.system).toContain('STEP verified.');
    expect(answer?.toolNames).not.toContain('check_identity');
    expect(call.heardText).toContain('No problem.');
  });

  it('the call record keeps the flow path and the step of each turn', () => {
    const T0 = 1_800_000_000_000;
    const emit = (t: number, e: CallEmitted): LogEntry => ({ t, emit: e });
    const noTimes = { userSpeechEndAt: null, llmFirstTextAt: null, ttsFirstAudioAt: null, firstAudioToTwilioAt: null };
    const turn = (n: number): CallEmitted => ({ type: 'call.turn', turn: n, userText: 'x', assistantText: 'y', generatedText: 'y', interrupted: false, timestamps: noTimes });
    const summary = buildCallSummary({
      callSid: 'CA1',
      t0: T0,
      entries: [
        emit(1, { type: 'call.flowStep', step: 'identify', from: null, event: null, turn: 0, at: T0 + 1 }),
        emit(10, turn(1)),
        emit(20, { type: 'call.flowStep', step: 'booking', from: 'identify', event: 'VERIFIED', turn: 2, at: T0 + 20 }),
        emit(30, turn(2)),
        emit(40, { type: 'call.ended', reason: 'end_call' }),
      ],
    });
    expect(summary.flow).toEqual({ path: ['identify', 'booking'] });
    expect(summary.turns.map((t) => t.step)).toEqual(['identify', 'booking']);
    // An agent without a flow: no flow field, no step.
    const plain = buildCallSummary({ callSid: 'CA2', t0: T0, entries: [emit(10, turn(1))] });
    expect(plain.flow).toBeUndefined();
    expect(plain.turns[0]).not.toHaveProperty('step');
  });
});
