/**
 * Key presses (DTMF) and answering-machine screening, on a live actor with recording stub children and a
 * SimulatedClock: the exact LLM input, commands and end of the call.
 */
import { describe, expect, it } from 'vitest';
import type { CallOptions } from '../../machines/options.js';
import { CallDriver, ev } from './harness.js';
import { modelOptions, stateName } from './model.js';

const options: CallOptions = modelOptions({ systemPrompt: 'Be brief.' });

function answered(driver: CallDriver, parameters: Record<string, string> = {}): CallDriver {
  driver.send(ev.start(parameters));
  driver.send(ev.configured(driver.options));
  if (parameters['Amd'] !== '1') driver.send(ev.mark('greeting'));
  return driver;
}

const lastUserMessage = (driver: CallDriver) => driver.llmInputs().at(-1)?.messages.at(-1);

describe('key presses', () => {
  it('the terminator ends the turn at once; the model sees the keys next to the words', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('my order number is', false));
    for (const key of '427#') driver.send(ev.dtmf(key));
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    expect(lastUserMessage(driver)).toEqual({ role: 'user', content: 'my order number is [keypad: 4 2 7 #]' });
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.dtmf', turn: 1, digits: '427#' }));
  });

  it('without a terminator, the inter-digit timeout ends the turn', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.dtmf('1'));
    driver.send(ev.dtmf('2'));
    expect(stateName(driver.snapshot)).toBe('listening');
    driver.send({ type: 'xstate.after.dtmfTimeout.call.live.listening' });
    expect(lastUserMessage(driver)).toEqual({ role: 'user', content: '[keypad: 1 2]' });
  });

  it('a key press interrupts the agent like speech (unless DTMF_INTERRUPTS is off)', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('tell me a story', true));
    driver.send(ev.text('Once upon a time. '));
    driver.send(ev.dtmf('0'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.CLEAR' });
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.bargeIn', callerText: '[keypad: 0]' }));

    const calm = answered(new CallDriver({ ...options, dtmfInterrupts: false }));
    calm.send(ev.final('tell me a story', true));
    calm.send(ev.text('Once upon a time. '));
    calm.send(ev.dtmf('0'));
    expect(stateName(calm.snapshot)).toBe('respond.speaking');
    expect(calm.snapshot.context.caller.digits).toBe('0'); // kept for the next turn
  });

  it('keys pressed while a tool runs go to the tools (a tool may be waiting for them)', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('check my order', true));
    driver.send(ev.tool('lookup_order', {}, 'call_1'));
    driver.send(ev.done());
    driver.send(ev.dtmf('9'));
    expect(stateName(driver.snapshot)).toBe('respond.tooling');
    expect(driver.commands('tools')).toEqual([expect.objectContaining({ type: 'TRANSPORT.DTMF', digit: '9' })]);
  });
});

describe('answering-machine screening (outbound calls)', () => {
  it('stays silent until Twilio says a machine answered, then leaves the per-call voicemail and hangs up', () => {
    const driver = answered(new CallDriver(options), { Amd: '1', Voicemail: 'Your table is booked.' });
    expect(stateName(driver.snapshot)).toBe('screening');
    expect(driver.commands('tts')).toEqual([]); // no greeting for the machine to record
    driver.send(ev.final('Hi, you reached Sam, leave a message', true));
    expect(driver.llmInputs()).toEqual([]); // its greeting starts no turn
    driver.send(ev.answeredBy('machine'));
    expect(driver.commands('tts')).toEqual([{ type: 'TTS.SAY', text: 'Your table is booked.', segment: 'voicemail-0' }]);
    driver.send(ev.mark('voicemail-0'));
    expect(driver.snapshot.status).toBe('done');
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.HANGUP' });
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.answeredBy', answeredBy: 'machine' }));
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'voicemail' });
  });

  it('greets a human, and greets anyway when no verdict comes in time', () => {
    const human = answered(new CallDriver(options), { Amd: '1' });
    human.send(ev.answeredBy('human'));
    expect(stateName(human.snapshot)).toBe('greeting');

    const silent = answered(new CallDriver(options), { Amd: '1' });
    silent.send({ type: 'xstate.after.amdTimeout.call.live.screening' });
    expect(stateName(silent.snapshot)).toBe('greeting');
    silent.send(ev.answeredBy('machine')); // too late: reported, nothing else
    expect(stateName(silent.snapshot)).toBe('greeting');
  });
});
