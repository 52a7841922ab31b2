/**
 * Key presses on a real call: the simulated caller presses keys as Twilio reports them (one `dtmf` event per key on
 * the media stream), and each reaches the call machine as TRANSPORT.DTMF, in order, with the call going on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, sims, recordingInspector, startStack, type E2eStack } from './harness.js';

describe('DTMF through the server', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('every key press reaches the machine as TRANSPORT.DTMF, in order', async () => {
    const inspector = recordingInspector();
    stack = await startStack({ inspector });
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { dtmf: '4 2 7 #', gapMs: 150 },
      { waitForAgent: 'reply' },
      { dtmf: '*0' },
      { say: 'what are your opening hours' },
      { waitForAgent: 'reply' },
      { hangup: true },
    ]);
    expect(record.errors).toEqual([]);
    expect(record.timeline.filter((e) => e.kind === 'dtmf').map((e) => e.text)).toEqual(['4', '2', '7', '#', '*', '0']);
    const presses = inspector.received.filter((e) => e.type === 'TRANSPORT.DTMF');
    expect(presses.map((e) => e['digit'])).toEqual(['4', '2', '7', '#', '*', '0']);
    expect(presses.every((e) => !e.external && typeof e['at'] === 'number')).toBe(true);
    // Spaced as pressed (150 ms apart within the first step), not in one burst.
    const at = presses.map((e) => Number(e['at']));
    expect((at[3] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(3 * 140);
    expect(agentTurns(record).length).toBeGreaterThanOrEqual(2);
    // The keys ended the caller's turn at '#' and reached the model as their input; keys pressed while the agent is
    // busy join the next turn's words.
    const asked = sims(stack).llm.requests.map((r) => r.lastUserText);
    expect(asked[0]).toBe('[keypad: 4 2 7 #]');
    expect(asked.some((text) => text.includes('what are your opening hours'))).toBe(true);
    expect(stack.events).toContainEqual(expect.objectContaining({ type: 'call.dtmf', digits: '427#' }));
  });
});
