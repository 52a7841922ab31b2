/**
 * transfer_call offline: through the local Twilio REST API the call is handed over (the fake sees the update with
 * `<Dial>` to the target and stops the caller's stream, as Twilio does); without a REST API the model is told why
 * before anything is announced, and the caller never hears "transferring".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulateCall, type LlmScriptEntry } from '../../src/api/testing.js';
import agent from './agents/transfer-agent.js';
import { call, eventually, sims, startStack } from './harness.js';

const transfer = { name: 'transfer_call', args: { target: 'front desk' } };

describe('simulateCall with a transfer', () => {
  it('transfers through the local Twilio REST API: endReason transferred, the update dials the target', async () => {
    const call = await simulateCall({
      agent,
      caller: ['Can I talk to a person please'],
      model: [{ when: /person/i, text: 'Putting you through to the front desk.', toolCall: transfer }],
    });
    expect(call.endReason).toBe('transferred');
    expect(call.endedBy).toBe('redirected');
    expect(call.transfers).toEqual([{ target: 'front desk', number: '+15550107777', outcome: 'transferred', reason: null }]);
    expect(call.toolCalls).toEqual([expect.objectContaining({ name: 'transfer_call', outcome: 'ok' })]);
    expect(call.twilioUpdates).toHaveLength(1);
    expect(call.twilioUpdates[0]?.['Twiml']).toMatch(/<Dial>\+15550107777<\/Dial>/);
    expect(call.heardText).toMatch(/Putting you through/);
    expect(call.heardText).not.toMatch(/Sorry/i);
  });

  it('without a Twilio REST API: an error result with the reason, and no "transferring" said', async () => {
    const model: LlmScriptEntry[] = [
      { when: /person/i, toolCall: transfer },
      { afterTool: 'transfer_call', text: 'I cannot put you through right now, but I can take a message.' },
    ];
    const call = await simulateCall({ agent, twilioRest: false, caller: ['Can I talk to a person please'], model });
    expect(call.toolCalls).toEqual([expect.objectContaining({ name: 'transfer_call', outcome: 'error' })]);
    expect(call.toolCalls[0]?.resultText).toMatch(/TWILIO_ACCOUNT_SID/);
    expect(call.transfers).toEqual([{ target: 'front desk', number: '+15550107777', outcome: 'error', reason: expect.stringMatching(/TWILIO_ACCOUNT_SID/) }]);
    expect(call.heardText).toMatch(/take a message/);
    expect(call.heardText).not.toMatch(/transferring/i);
    expect(call.endReason).not.toBe('transferred');
    expect(call.twilioUpdates).toEqual([]);
  });
});

describe('the offline server and a caller it did not place (npm run call --offline, the softphone)', () => {
  it('learns the call from its stream, and a transfer ends that stream as Twilio does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transfer-records-'));
    const TOKEN = 'transfer-test-calls-token-of-32-chars';
    const env = { CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, 'calls.db'), CALLS_API_TOKEN: TOKEN };
    const stack = await startStack({ env, agent, simulators: { llm: { script: [{ when: /person/i, text: 'Putting you through.', toolCall: transfer }] } } });
    try {
      const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'Can I talk to a person please' }, { waitForAgent: 'reply', timeoutMs: 20_000 }, { pause: 20_000 }]);
      await eventually(() => stack.events.some((e) => e.type === 'call.ended'), 'call ended');
      expect(stack.events.find((e) => e.type === 'call.ended')).toMatchObject({ reason: 'transferred' });
      expect(record.endedBy).toBe('server'); // the stream closed under the caller before its script ended
      const known = sims(stack).twilio?.calls.find((c) => c.sid === record.callSid);
      expect(known).toMatchObject({ direction: 'inbound', dialled: '+15550107777' });
      // The call record keeps the transfer (once the record is final).
      let transfers: unknown;
      await eventuallyAsync(async () => {
        const res = await fetch(`${stack.server.localUrl}/calls/${record.callSid}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
        const summary = (await res.json()) as { status?: string; transfers?: unknown };
        transfers = summary.transfers;
        return summary.status === 'ended';
      });
      expect(transfers).toEqual([{ target: 'front desk', number: '+15550107777', outcome: 'transferred', reason: null }]);
    } finally {
      await stack.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 45_000);
});

/** Polls an asynchronous check (a record is final a moment after the call ends). */
async function eventuallyAsync(check: () => Promise<boolean>, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the call record never ended');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
