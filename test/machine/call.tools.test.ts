/**
 * Hand-written scenarios of the tool loop, transfers, per-call setup and the polite hangup, on a live actor with
 * recording stub children and a SimulatedClock. The model test walks every transition with general invariants;
 * these pin down the exact history, LLM inputs and commands.
 */
import { describe, expect, it } from 'vitest';
import type { EventObject } from 'xstate';
import type { LlmInput, ToolRunInput } from '../../machines/events.js';
import type { CallOptions } from '../../machines/options.js';
import { CallDriver, ev } from './harness.js';
import { modelOptions, stateName, TRANSFER_TO } from './model.js';

const options: CallOptions = modelOptions({ systemPrompt: 'Be brief.', maxToolRounds: 3 });

function answered(driver: CallDriver): CallDriver {
  driver.send(ev.start());
  driver.send(ev.configured(driver.options));
  driver.send(ev.mark('greeting'));
  return driver;
}

const lastLlmInput = (driver: CallDriver): LlmInput | undefined => driver.llmInputs().at(-1);
const say = (driver: CallDriver, text: string) => text.match(/\s*\S+/g)?.forEach((token) => driver.send(ev.text(token)));
const ttsSince = (driver: CallDriver, from: number): EventObject[] => driver.commands('tts', driver.records.slice(from));

describe('the tool loop', () => {
  // The race behind "tool_result merged with the caller's next words": the reply to a tool result finished playing,
  // Twilio echoed its last mark, and the caller's first words reached the machine before that echo did.
  it('keeps a reply heard just before a barge-in in history, ahead of the words that cut it off', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Where is order 42?', true));
    driver.send(ev.tool('lookup_order', { order: '42' }, 'call_1'));
    driver.send(ev.done());
    driver.send(ev.toolResult('call_1', 'lookup_order', true, '{"status":"shipped"}'));
    say(driver, 'It shipped on Monday.');
    driver.send(ev.done());
    driver.send(ev.interim('and when'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    driver.send(ev.mark('t1-s1', true)); // played before our clear reached Twilio: the caller heard it
    driver.send(ev.final('and when does it arrive', true));
    expect(lastLlmInput(driver)?.messages.slice(-4)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup_order', args: { order: '42' } }] },
      { role: 'tool', toolCallId: 'call_1', name: 'lookup_order', content: '{"status":"shipped"}', isError: false },
      { role: 'assistant', content: 'It shipped on Monday.' },
      { role: 'user', content: 'and when does it arrive' },
    ]);
  });

  it('speaks the text before a tool call, runs the tool, and answers with its result in a second round', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Where is order 42?', true));
    say(driver, 'Let me check that. ');
    driver.send(ev.tool('lookup_order', { order: '42' }, 'call_1'));
    driver.send(ev.done());
    expect(stateName(driver.snapshot)).toBe('respond.tooling');
    expect(driver.inputs('tools').at(-1)).toEqual({ calls: [{ id: 'call_1', name: 'lookup_order', args: { order: '42' } }] } satisfies ToolRunInput);
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.toolStarted', id: 'call_1', name: 'lookup_order', round: 1 }));
    driver.send(ev.mark('t1-s1')); // "Let me check that." played while the tool ran

    const mark = driver.records.length;
    driver.send(ev.toolResult('call_1', 'lookup_order', true, '{"status":"shipped"}'));
    expect(stateName(driver.snapshot)).toBe('respond.speaking'); // a new round of a reply that already spoke
    expect(driver.running('tools')).toBe(0);
    expect(lastLlmInput(driver)?.messages.slice(-3)).toEqual([
      { role: 'user', content: 'Where is order 42?' },
      { role: 'assistant', content: 'Let me check that.', toolCalls: [{ id: 'call_1', name: 'lookup_order', args: { order: '42' } }] },
      { role: 'tool', toolCallId: 'call_1', name: 'lookup_order', content: '{"status":"shipped"}', isError: false },
    ]);
    say(driver, 'It shipped on Monday. It arrives Thursday.');
    driver.send(ev.done());
    // The first sentence of the new round is flushed at once.
    expect(ttsSince(driver, mark).slice(0, 2)).toEqual([
      { type: 'TTS.SPEAK', text: 'It shipped on Monday. ' },
      { type: 'TTS.FLUSH', segment: 't1-s2' },
    ]);
    driver.send(ev.mark('t1-s2'));
    driver.send(ev.mark('t1-s3'));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.snapshot.context.history.slice(-4)).toEqual([
      { role: 'user', content: 'Where is order 42?' },
      { role: 'assistant', content: 'Let me check that.', toolCalls: [{ id: 'call_1', name: 'lookup_order', args: { order: '42' } }] },
      { role: 'tool', toolCallId: 'call_1', name: 'lookup_order', content: '{"status":"shipped"}', isError: false },
      { role: 'assistant', content: 'It shipped on Monday. It arrives Thursday.' },
    ]);
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.toolFinished', id: 'call_1', outcome: 'ok', content: '{"status":"shipped"}' }));
  });

  it('says the tool filler once when the tool is slow and nothing plays, and it belongs to that round in history', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Where is order 42?', true));
    driver.send(ev.tool('lookup_order', { order: '42' }, 'call_1'));
    driver.send(ev.done());
    const mark = driver.records.length;
    driver.send({ type: 'xstate.after.toolFiller.call.live.respond.tooling' });
    expect(ttsSince(driver, mark)).toEqual([{ type: 'TTS.SAY', text: 'Let me look that up.', segment: 't1-filler1' }]);
    driver.send(ev.mark('t1-filler1'));
    driver.send(ev.toolResult('call_1', 'lookup_order'));
    say(driver, 'It shipped.');
    driver.send(ev.done());
    driver.send(ev.mark('t1-s2'));
    expect(driver.snapshot.context.history.slice(-3)).toEqual([
      { role: 'assistant', content: 'Let me look that up.', toolCalls: [{ id: 'call_1', name: 'lookup_order', args: { order: '42' } }] },
      { role: 'tool', toolCallId: 'call_1', name: 'lookup_order', content: '{"status":"shipped"}', isError: false },
      { role: 'assistant', content: 'It shipped.' },
    ]);
  });

  it('a barge-in during a cancellable tool aborts it; the model never sees the round', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Where is order 42?', true));
    say(driver, 'Let me check that. ');
    driver.send(ev.tool('lookup_order', { order: '42' }, 'call_1'));
    driver.send(ev.done());
    const step = driver.send(ev.interim('no wait, order 43'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    expect(step.children.some((r) => r.child === 'tools' && r.kind === 'stop')).toBe(true);
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.CLEAR' });
    expect(step.emitted).toContainEqual(expect.objectContaining({ type: 'call.toolFinished', id: 'call_1', outcome: 'cancelled', content: '' }));
    expect(driver.snapshot.context.history.some((m) => m.role === 'tool' || (m.role === 'assistant' && m.toolCalls))).toBe(false);
    driver.send(ev.final('no wait, order 43', true));
    expect(lastLlmInput(driver)?.messages.some((m) => m.role === 'tool')).toBe(false);
  });

  it('a tool that must finish keeps running when the caller talks; its result is kept and their words answered next', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Book a table for two', true));
    say(driver, 'Booking it now. ');
    driver.send(ev.tool('book_table', { time: '19:00' }, 'call_b'));
    driver.send(ev.done());
    driver.send(ev.final('and a high chair please', true));
    expect(stateName(driver.snapshot)).toBe('respond.tooling'); // not cancelled
    expect(driver.running('tools')).toBe(1);
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.CLEAR' }); // the agent audio was cut
    driver.send(ev.mark('t1-s1', false));
    driver.send(ev.toolResult('call_b', 'book_table', true, '{"booked":true}'));
    expect(stateName(driver.snapshot)).toBe('respond.thinking'); // the next turn answers the new words
    const input = lastLlmInput(driver);
    expect(input?.messages.at(-1)).toEqual({ role: 'user', content: 'and a high chair please' });
    expect(input?.messages).toContainEqual({ role: 'tool', toolCallId: 'call_b', name: 'book_table', content: '{"booked":true}', isError: false });
  });

  it('answers refused calls with error results the model sees: unknown tool, bad arguments', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Launch it', true));
    driver.send(ev.tool('launch_rocket', {}, 'call_x'));
    driver.send(ev.tool('lookup_order', {}, 'call_y', 'tool arguments are not valid JSON'));
    driver.send(ev.done());
    expect(driver.running('llm')).toBe(1); // no tool to run: straight to the next round
    const results = lastLlmInput(driver)?.messages.filter((m) => m.role === 'tool');
    expect(results).toEqual([
      expect.objectContaining({ toolCallId: 'call_x', isError: true, content: expect.stringMatching(/Unknown tool .*launch_rocket/) }),
      expect.objectContaining({ toolCallId: 'call_y', isError: true, content: expect.stringContaining('Invalid arguments') }),
    ]);
  });

  it('apologises instead of starting another round beyond maxToolRounds', () => {
    const driver = answered(new CallDriver({ ...options, maxToolRounds: 1 }));
    driver.send(ev.final('Where is order 42?', true));
    driver.send(ev.tool('lookup_order', { order: '42' }, 'call_1'));
    driver.send(ev.done());
    expect(stateName(driver.snapshot)).toBe('prompting');
    expect(driver.running('tools')).toBe(0);
    expect(driver.commands('tts').at(-1)).toMatchObject({ type: 'TTS.SAY', text: options.apologyText });
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.error', message: expect.stringContaining('the limit is 1') }));
  });
});

describe('transfers', () => {
  it('dials the allowlisted number only after the announcement has played', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Get me sales', true));
    say(driver, 'Transferring you to sales now.');
    driver.send(ev.tool('transfer_call', { target: 'sales' }, 'call_t'));
    driver.send(ev.done());
    expect(driver.running('transfer')).toBe(0); // not while the announcement plays
    driver.send(ev.mark('t1-s1'));
    expect(stateName(driver.snapshot)).toBe('transferring.dialing');
    expect(driver.inputs('transfer')).toEqual([{ callSid: 'CA0001', to: TRANSFER_TO }]);
    driver.send(ev.transferred());
    driver.send(ev.stop());
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'transferred' });
  });

  it('refuses a target that is not on the list (the model sees why) and never dials', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Transfer me to +1 900 555 0000', true));
    driver.send(ev.tool('transfer_call', { target: '+19005550000' }, 'call_t'));
    driver.send(ev.done());
    const result = lastLlmInput(driver)?.messages.at(-1);
    expect(result).toMatchObject({ role: 'tool', isError: true, content: expect.stringContaining('Allowed targets: sales') });
    expect(driver.inputs('transfer')).toEqual([]);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('refuses the target %j (a name of Object.prototype, not of the list)', (target) => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Transfer me', true));
    driver.send(ev.tool('transfer_call', { target }, 'call_t'));
    driver.send(ev.done());
    const result = lastLlmInput(driver)?.messages.at(-1);
    expect(result).toMatchObject({ role: 'tool', isError: true, content: expect.stringContaining('Unknown transfer target') });
    expect(stateName(driver.snapshot)).not.toMatch(/^transferring/);
    expect(driver.inputs('transfer')).toEqual([]);
  });

  it('says the transfer phrase first when the model announced nothing; a failed transfer is apologised for', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Get me sales', true));
    driver.send(ev.tool('transfer_call', { target: 'sales' }, 'call_t'));
    driver.send(ev.done());
    expect(stateName(driver.snapshot)).toBe('transferring.announcing');
    expect(driver.commands('tts').at(-1)).toMatchObject({ type: 'TTS.SAY', text: options.transferText });
    driver.send(ev.mark('transfer-1'));
    driver.send(ev.transferFailed());
    expect(stateName(driver.snapshot)).toBe('prompting');
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.error', source: 'transfer' }));
  });
});

describe('per-call setup and the polite hangup', () => {
  it('greets with the options the configure child chose; a failed onCallStart keeps the defaults', () => {
    const driver = new CallDriver(options);
    driver.send(ev.start());
    driver.send(ev.configured({ ...options, greeting: 'Hola!', language: 'es' }));
    expect(driver.commands('tts')[0]).toEqual({ type: 'TTS.SAY', text: 'Hola!', segment: 'greeting' });
    expect(driver.inputs('stt')).toEqual([{ language: 'es' }]);

    const failing = new CallDriver(options);
    failing.send(ev.start());
    failing.send({ type: 'xstate.error.actor.configure', error: new Error('CRM down') });
    expect(failing.commands('tts')[0]).toEqual({ type: 'TTS.SAY', text: options.greeting, segment: 'greeting' });
    expect(failing.emitted).toContainEqual(expect.objectContaining({ type: 'call.error', source: 'agent', message: 'CRM down' }));
  });

  it('a polite hangup mid-reply stops the reply, keeps what was heard, says goodbye, then hangs up', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Tell me a story', true));
    say(driver, 'Once upon a time there was a shop. It sold pans.');
    driver.send(ev.mark('t1-s1'));
    driver.send(ev.hangup(true));
    expect(stateName(driver.snapshot)).toBe('goodbye');
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.CLEAR' });
    expect(driver.commands('tts').at(-1)).toMatchObject({ type: 'TTS.SAY', text: options.goodbyeText });
    expect(driver.snapshot.context.history.at(-1)).toEqual({ role: 'assistant', content: 'Once upon a time there was a shop.' });
    driver.send(ev.hangup(true)); // a second one changes nothing
    driver.send(ev.mark(driver.snapshot.context.speech.segments[0]?.name ?? ''));
    expect(driver.snapshot.status).toBe('done');
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.HANGUP' });
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'hangup: drain timeout' });
  });
});
