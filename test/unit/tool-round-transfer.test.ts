/** transfer_call in a tool round: the number comes from the allowlist; a server that cannot transfer refuses at once. */
import { describe, expect, it } from 'vitest';
import { addToolCall, needsToolRound, newRound, transferTarget } from '../../machines/tool-round.js';
import { defaultCallOptions, type CallOptions } from '../../machines/options.js';

const options: CallOptions = {
  ...defaultCallOptions,
  transferTargets: { desk: '+15550107777' },
  tools: [{ name: 'transfer_call', description: '', parameters: {}, kind: 'transfer_call', cancelOnInterruption: true, filler: null }],
};
const toolCall = { type: 'LLM.TOOL_CALL' as const, id: 'c1', name: 'transfer_call', args: { target: 'desk' }, at: 5 };

describe('transfer_call in a tool round', () => {
  it('dials the allowlisted number once the announcement has played', () => {
    const round = addToolCall(newRound(1, 0), toolCall, options);
    expect(transferTarget(round)).toBe('+15550107777');
    expect(round.calls[0]).toMatchObject({ transferNumber: '+15550107777', outcome: { ok: true } });
    expect(needsToolRound(round)).toBe(false); // nothing for the model to see: the reply was the announcement
  });

  it('is refused with the reason when the server cannot transfer: no number dialled, the model sees why', () => {
    const round = addToolCall(newRound(1, 0), toolCall, { ...options, transferUnavailable: 'no Twilio REST API' });
    expect(transferTarget(round)).toBeNull();
    expect(round.calls[0]).toMatchObject({ transferNumber: '+15550107777', outcome: { ok: false } });
    expect(JSON.parse(round.calls[0]?.outcome?.content ?? '{}')).toEqual({ error: 'Transfer unavailable: no Twilio REST API' });
    expect(needsToolRound(round)).toBe(true);
  });
});
