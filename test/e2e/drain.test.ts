/**
 * The drain through the offline stack: calls on their way (TwiML issued before the drain) are waited for and served,
 * the log tells what happened, and calls still up at the timeout hear the goodbye phrase before the line closes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, captureLogger, eventually, startStack, type E2eStack, type LogLine as Line } from './harness.js';
import { fastCaller } from '../support/sim-speed.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { defaultCallOptions } from '../../machines/options.js';
import type { DrainResult } from '../../src/server/drain.js';


describe('drain', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('waits for a call whose TwiML was issued before the drain began, serves it to the end, and logs no timeout', async () => {
    const lines: Line[] = [];
    stack = await startStack({ log: captureLogger(lines) });
    const s = stack;
    let drained: Promise<DrainResult> | undefined;
    const record = await placeSimulatedCall({
      serverUrl: s.server.localUrl,
      authToken: s.config.twilioAuthToken,
      script: [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }],
      ...fastCaller(),
      // SIGTERM lands between the TwiML and the stream's handshake.
      beforeStream: () => {
        drained = s.server.drain(30000);
      },
    }).done;
    expect(record.errors).toEqual([]);
    expect(record.endedBy).toBe('caller');
    expect(agentTurns(record)[0]?.text).toBe(defaultCallOptions.greeting);
    expect(agentTurns(record)[1]?.text).toContain('We are open every day');
    expect(await drained).toEqual({ finished: 1, saidGoodbye: 0, cut: 0, neverConnected: 0, timedOut: false });
    const drainLines = lines.filter((l) => String(l.message).startsWith('drain'));
    expect(drainLines.map((l) => l.message)).toEqual(['draining', 'drain complete']);
    expect(lines.find((l) => l.message === 'draining')).toMatchObject({ activeCalls: 0, streamsOnTheirWay: 1 });
  });

  it('calls still up at the drain timeout hear the goodbye phrase, then the line is hung up', async () => {
    const lines: Line[] = [];
    stack = await startStack({ log: captureLogger(lines) });
    const s = stack;
    const active = placeSimulatedCall({
      serverUrl: s.server.localUrl,
      authToken: s.config.twilioAuthToken,
      // Stays on the line past the drain timeout and the goodbye: the drain ends this pause (it costs no wall time),
      // so it is not scaled; a shorter one could end the script first and the call would not be the server's to end.
      script: [{ waitForAgent: 'reply' }, { pause: 20000 }],
      ...fastCaller(),
    });
    await eventually(() => agentTurns(active.record).length === 1 && active.record.transcript[0]?.endAt !== null, 'greeting heard', 10000);
    const result = await s.server.drain(300, { goodbyeMs: 8000 });
    const record = await active.done;
    expect(result).toEqual({ finished: 0, saidGoodbye: 1, cut: 0, neverConnected: 0, timedOut: true });
    expect(lines.find((l) => l.message === 'hanging up call')).toMatchObject({ reason: 'drain timeout', polite: true });
    expect(lines.filter((l) => String(l.message).startsWith('drain')).map((l) => l.message)).toEqual([
      'draining',
      'drain timeout: saying goodbye to calls still up',
      'drain complete',
    ]);
    // The machine says goodbye on a polite CALL.HANGUP, then hangs up once the phrase has played.
    expect(record.endedBy).toBe('server');
    expect(agentTurns(record).at(-1)?.text).toBe(defaultCallOptions.goodbyeText);
    expect(record.unplayedAtEnd).toBe('');
  });
});
