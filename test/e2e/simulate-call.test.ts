/**
 * simulateCall as a developer uses it: given the agent's path it runs the same module the test imported (its state
 * is the test's), from/to/customParameters reach the agent, and tool results come back as values.
 */
import { describe, expect, it } from 'vitest';
import { simulateCall } from '../../src/api/testing.js';
import { booked, seen } from './agents/stateful-agent.js';
import { SIM_SPEED } from '../support/sim-speed.js';

describe('simulateCall', () => {
  it('runs the module the test imported, hands it from/to/customParameters, and parses tool results', async () => {
    const call = await simulateCall({
      speed: SIM_SPEED,
      agent: 'test/e2e/agents/stateful-agent.ts',
      from: '+15557770001',
      to: '+15557770002',
      customParameters: { patient: 'p-42' },
      caller: ['Book Monday nine please'],
      model: [{ when: /book/i, text: 'Booking it.', toolCall: { name: 'book', args: { slot: 'mon 9' } } }],
    });
    expect(seen).toEqual([{ from: '+15557770001', to: '+15557770002', customParameters: expect.objectContaining({ patient: 'p-42' }) }]);
    expect(booked).toEqual(['mon 9']);
    expect(call.toolCalls).toEqual([
      expect.objectContaining({ name: 'book', outcome: 'ok', result: { booked: true, slot: 'mon 9' }, resultText: '{"booked":true,"slot":"mon 9"}' }),
    ]);
  });
});
