/**
 * The example agent's own test, the way a developer tests theirs: the caller's lines and the scripted model, through
 * the real stack (server, real SDKs, simulators), asserting on what the caller heard and which tools ran.
 */
import { describe, expect, it } from 'vitest';
import { simulateCall } from 'voice-call-orchestrator/testing';
import { SIM_SPEED } from '../test/support/sim-speed.js';

describe('front-desk agent', () => {
  it('looks an order up and tells the caller its status', async () => {
    const call = await simulateCall({ speed: SIM_SPEED,
      agent: 'agents/front-desk.ts',
      caller: ['Where is my order 4271?', 'Great, thanks. Bye!'],
      model: [
        { when: /order 4271/, text: 'Let me check.', toolCall: { name: 'lookup_order', args: { order_number: '4271' } } },
        { afterTool: 'lookup_order', text: ({ toolResults }) => `It is ${JSON.parse(toolResults[0]?.content ?? '{}').status}.` },
        { when: /bye/i, text: 'Goodbye!', toolCall: { name: 'end_call', args: {} } },
      ],
    });
    expect(call.toolCalls).toEqual([
      expect.objectContaining({ name: 'lookup_order', args: { order_number: '4271' }, outcome: 'ok' }),
      expect.objectContaining({ name: 'end_call', outcome: 'ok' }),
    ]);
    expect(call.heard).toContain('Let me check. It is on its way.');
    expect(call.endReason).toBe('end_call');
    expect(call.endedBy).toBe('server');
  });

  it('says so when the order does not exist (the tool result reaches the model)', async () => {
    const call = await simulateCall({ speed: SIM_SPEED,
      agent: 'agents/front-desk.ts',
      caller: ['Where is my order 5555?'],
      model: [{ when: /5555/, toolCall: { name: 'lookup_order', args: { order_number: '5555' } } }],
    });
    // Unscripted tool results are read back by the simulated model.
    expect(call.heardText).toContain('Here is what I found');
    expect(call.toolCalls[0]?.result).toEqual({ found: false, order_number: '5555' });
    expect(call.toolCalls[0]?.resultText).toBe('{"found":false,"order_number":"5555"}');
  });
});
