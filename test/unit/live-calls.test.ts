/** Routing out-of-band events (AMD results) to live calls by CallSid: held until the stream starts, dropped once over. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveCalls, type ServerToCallEvent } from '../../src/server/live-calls.js';
import { answeredByOf, amdStreamParameters, TWILIO_ANSWERED_BY } from '../../src/twilio/amd.js';
import { silentLogger } from '../../lib/logger.js';

const event = (answeredBy: 'human' | 'machine'): ServerToCallEvent => ({ type: 'CALL.ANSWERED_BY', answeredBy, at: 1 });
const mailbox = () => {
  const got: ServerToCallEvent[] = [];
  return { got, send: (e: ServerToCallEvent) => got.push(e) };
};

describe('LiveCalls', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('delivers to a live call at once, and to a call that registers later after its start (next microtask)', async () => {
    const calls = new LiveCalls(silentLogger);
    const live = mailbox();
    calls.register('CA1', live);
    expect(calls.deliver('CA1', event('human'))).toBe('delivered');
    expect(live.got).toEqual([event('human')]);

    expect(calls.deliver('CA2', event('machine'))).toBe('held');
    const late = mailbox();
    calls.register('CA2', late);
    expect(late.got).toEqual([]); // not inside the registration (the `start` is being handled)
    await Promise.resolve();
    expect(late.got).toEqual([event('machine')]);
  });

  it('drops held events after the hold period, and events for calls that ended here', async () => {
    const calls = new LiveCalls(silentLogger, { holdMs: 1000 });
    calls.deliver('CA3', event('human'));
    vi.advanceTimersByTime(1000);
    const late = mailbox();
    calls.register('CA3', late);
    await Promise.resolve();
    expect(late.got).toEqual([]);

    calls.unregister('CA3', late);
    expect(calls.deliver('CA3', event('machine'))).toBe('ended');
    expect(calls.size).toBe(0);
    // Another handle's unregister never removes the live one.
    const current = mailbox();
    calls.register('CA4', current);
    calls.unregister('CA4', mailbox());
    expect(calls.deliver('CA4', event('human'))).toBe('delivered');
  });

  it('bounds what it holds', () => {
    const calls = new LiveCalls(silentLogger, { maxHeld: 2 });
    for (const sid of ['A', 'B', 'C']) calls.deliver(sid, event('human'));
    expect(vi.getTimerCount()).toBe(2);
    calls.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('AMD mapping', () => {
  it('reduces every AnsweredBy to human, machine or unknown', () => {
    expect(Object.fromEntries(TWILIO_ANSWERED_BY.map((v) => [v, answeredByOf(v)]))).toEqual({
      human: 'human',
      machine_start: 'machine',
      machine_end_beep: 'machine',
      machine_end_silence: 'machine',
      machine_end_other: 'machine',
      fax: 'machine',
      unknown: 'unknown',
    });
  });

  it('takes stream parameters only from Amd=1 in the signed URL', () => {
    expect(amdStreamParameters(new URLSearchParams(''))).toEqual([]);
    expect(amdStreamParameters(new URLSearchParams('Voicemail=hi'))).toEqual([]);
    expect(amdStreamParameters(new URLSearchParams('?Amd=1&Voicemail=%20Call%20us%20back.%20'))).toEqual([
      { name: 'Amd', value: '1' },
      { name: 'Voicemail', value: 'Call us back.' },
    ]);
  });
});
