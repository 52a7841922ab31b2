/**
 * The agent API end to end: an agent module loaded as `AGENT` would be, called through the running server with the
 * real SDKs and the simulators (via `simulateCall`, the public testing entry).
 */
import { describe, expect, it } from 'vitest';
import { simulateCall } from '../../src/api/testing.js';
import { SIM_SPEED } from '../support/sim-speed.js';
import type { ProbeState } from './agents/probe-agent.js';

const AGENT = 'test/e2e/agents/probe-agent.ts';
const probe = (): ProbeState => (globalThis as { probeAgent?: ProbeState }).probeAgent ?? { secrets: [], slowAborted: [], calls: [] };

describe('agent API, end to end', () => {
  it('the caller hears a value only the tool could produce', async () => {
    const call = await simulateCall({ speed: SIM_SPEED,
      agent: AGENT,
      caller: ['What is the secret code?'],
      model: [
        { when: /secret/, text: 'One second.', toolCall: { name: 'secret_code', args: {} } },
        { afterTool: 'secret_code', text: ({ toolResults }) => `The code is ${(JSON.parse(toolResults[0]?.content ?? '{}') as { code: string }).code}.` },
      ],
    });
    const code = probe().secrets.at(-1);
    expect(code).toMatch(/^\d{6}$/);
    expect(call.heardText).toContain(`The code is ${code}.`);
    expect(call.toolCalls).toEqual([expect.objectContaining({ name: 'secret_code', outcome: 'ok', result: { code }, resultText: JSON.stringify({ code }) })]);
  });

  it('a barge-in during a slow tool aborts its signal; the model never sees the cancelled result', async () => {
    const call = await simulateCall({ speed: SIM_SPEED,
      agent: AGENT,
      caller: [
        { say: 'Look up my booking please' },
        { bargeIn: 'No wait, forget it', afterMs: 300 },
        { waitForAgent: 'reply' },
      ],
      // (The caller's two utterances reach the model as one user message: the answer to the first was never heard.)
      model: [
        { when: /forget/, text: 'Sure, no problem.' },
        {
          when: /booking/,
          text: 'Let me look that up for you, this can take a little while, please bear with me.',
          toolCall: { name: 'slow_lookup', args: { what: 'booking' } },
        },
      ],
    });
    expect(probe().slowAborted).toContain('booking');
    expect(call.toolCalls).toEqual([expect.objectContaining({ name: 'slow_lookup', outcome: 'cancelled', result: '' })]);
    const last = call.llmRequests.at(-1);
    expect(last?.lastUserText).toContain('forget it');
    expect(JSON.stringify(last?.messages)).not.toContain('"found":true');
    expect(call.heardText).toContain('Sure, no problem.');
  });

  it('onCallStart gives calls to two numbers two different greetings', async () => {
    const [north, south] = await Promise.all([
      simulateCall({ speed: SIM_SPEED, agent: AGENT, to: '+15557770001', caller: [] }),
      simulateCall({ speed: SIM_SPEED, agent: AGENT, to: '+15557770002', caller: [] }),
    ]);
    expect(north.heard[0]).toBe('Welcome to the north office.');
    expect(south.heard[0]).toBe('Welcome to the south office.');
    expect(probe().calls).toEqual(expect.arrayContaining(['+15557770001', '+15557770002']));
  });

  it('transfer_call to a name that is not on the list is refused, and the model hears why', async () => {
    const call = await simulateCall({ speed: SIM_SPEED,
      agent: AGENT,
      caller: ['Transfer me to the CEO'],
      model: [{ when: /CEO/, text: 'Transferring you now.', toolCall: { name: 'transfer_call', args: { target: 'ceo' } } }],
    });
    expect(call.toolCalls).toEqual([expect.objectContaining({ name: 'transfer_call', outcome: 'error' })]);
    expect(call.toolCalls[0]?.resultText).toContain('Allowed targets: desk');
    expect(call.endReason).not.toBe('transferred');
    // The refusal went back to the model in the next request, as a tool result.
    expect(call.llmRequests.at(-1)?.toolResults).toEqual([
      expect.objectContaining({ name: 'transfer_call', content: expect.stringContaining('Unknown transfer target') }),
    ]);
  });
});
