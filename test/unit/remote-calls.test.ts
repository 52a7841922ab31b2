/** The live calls of other instances, folded from the feed messages they publish (what a console page does with them). */
import { describe, expect, it } from 'vitest';
import type { LiveCall } from '../../src/console/feed-types.js';
import { RemoteCalls } from '../../src/console/remote-calls.js';

const call = (callSid: string): LiveCall => ({
  callSid,
  from: '+15550001',
  to: '+15550002',
  direction: 'inbound',
  agent: 'dental-flow',
  startedAt: 1,
  state: 'greeting',
  step: 'identify',
  lines: [],
  tools: [],
  latency: null,
});

describe('RemoteCalls', () => {
  it("follows a call's state, flow step, transcript and tools, and forgets it when it ends", () => {
    const remote = new RemoteCalls();
    remote.apply('b', { type: 'call', call: call('CA1') });
    remote.apply('b', { type: 'state', callSid: 'CA1', state: 'listening' });
    remote.apply('b', { type: 'lines', callSid: 'CA1', from: 0, lines: [{ role: 'caller', text: 'Lovelace' }] });
    remote.apply('b', { type: 'tool', callSid: 'CA1', tool: { id: 't1', name: 'verify_patient', args: {}, status: 'running' } });
    remote.apply('b', { type: 'tool', callSid: 'CA1', tool: { id: 't1', name: 'verify_patient', args: {}, status: 'ok', durationMs: 3 } });
    remote.apply('b', { type: 'step', callSid: 'CA1', step: 'booking' });
    remote.apply('b', { type: 'lines', callSid: 'CA1', from: 1, lines: [{ role: 'step', text: 'booking', event: 'VERIFIED' }] });
    remote.apply('b', { type: 'step', callSid: 'CA9', step: 'done' }); // a call it never heard of: ignored
    expect(remote.list()).toEqual([
      {
        ...call('CA1'),
        state: 'listening',
        step: 'booking',
        lines: [{ role: 'caller', text: 'Lovelace' }, { role: 'step', text: 'booking', event: 'VERIFIED' }],
        tools: [{ id: 't1', name: 'verify_patient', args: {}, status: 'ok', durationMs: 3 }],
      },
    ]);
    remote.apply('b', { type: 'ended', callSid: 'CA1', reason: 'end_call' });
    expect(remote.size).toBe(0);
  });

  it('drops the calls of an instance that said it is gone', () => {
    const remote = new RemoteCalls();
    remote.apply('b', { type: 'call', call: call('CA1') });
    remote.apply('c', { type: 'call', call: call('CA2') });
    expect(remote.dropInstance('b')).toEqual(['CA1']);
    expect(remote.entries()).toEqual([{ callSid: 'CA2', instance: 'c' }]);
  });
});
