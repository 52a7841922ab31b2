/**
 * Hand-written whole-call scenarios on a live actor (recording stub children, SimulatedClock for the timers).
 * They pin down exact commands, history and emitted events where the model test checks general invariants.
 */
import { describe, expect, it } from 'vitest';
import type { EventObject } from 'xstate';
import type { TurnEmitted } from '../../machines/emitted.js';
import { defaultCallOptions, type CallOptions } from '../../machines/options.js';
import { CallDriver, ev } from './harness.js';
import { modelOptions, stateName } from './model.js';

const options: CallOptions = modelOptions({ systemPrompt: 'Be brief.' });

function answered(driver: CallDriver): CallDriver {
  driver.send(ev.start());
  driver.send(ev.configured(driver.options));
  driver.send(ev.mark('greeting'));
  return driver;
}

function ttsSince(driver: CallDriver, from: number): EventObject[] {
  return driver.commands('tts', driver.records.slice(from));
}

function tokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

describe('a whole call: greeting → question → answer → barge-in → goodbye', () => {
  it('follows the conversation, truncating what the caller did not hear', () => {
    const driver = new CallDriver(options);
    expect(stateName(driver.snapshot)).toBe('connecting');
    // No provider socket before a valid start: only the transport runs.
    expect([driver.running('transport'), driver.running('stt'), driver.running('tts')]).toEqual([1, 0, 0]);

    driver.send(ev.start());
    expect(driver.snapshot.context.call?.callSid).toBe('CA0001');
    expect(stateName(driver.snapshot)).toBe('configuring');
    expect(driver.running('stt') + driver.running('tts')).toBe(0);
    driver.send(ev.configured(options));
    expect([driver.running('stt'), driver.running('tts')]).toEqual([1, 1]);
    expect(driver.commands('tts')).toEqual([{ type: 'TTS.SAY', text: options.greeting, segment: 'greeting' }]);
    driver.send(ev.mark('greeting'));
    expect(stateName(driver.snapshot)).toBe('listening');

    // Question in two is_final spans; only the second carries speech_final.
    driver.send(ev.final('What time do', false));
    const endOfSpeech = driver.send(ev.final('you open?', true)).event;
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    expect(driver.llmInputs()[0]?.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'assistant', content: options.greeting },
      { role: 'user', content: 'What time do you open?' },
    ]);

    let mark = driver.records.length;
    const answer = 'We open at 9.30 a.m. on weekdays. On weekends we open at ten in the morning, and close at six.';
    for (const token of tokens(answer)) driver.send(ev.text(token));
    driver.send(ev.firstAudio());
    driver.send(ev.audioStarted());
    driver.send(ev.done());
    expect(ttsSince(driver, mark)).toEqual([
      { type: 'TTS.SPEAK', text: 'We open at 9.30 a.m. on weekdays. ' },
      { type: 'TTS.FLUSH', segment: 't1-s1' },
      { type: 'TTS.SPEAK', text: 'On weekends we open at ten in the morning, ' }, // a long clause
      { type: 'TTS.SPEAK', text: 'and close at six. ' },
      { type: 'TTS.FLUSH', segment: 't1-s2' },
    ]);
    driver.send(ev.mark('t1-s1'));
    expect(stateName(driver.snapshot)).toBe('respond.speaking'); // playback not done yet
    driver.send(ev.mark('t1-s2'));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.running('llm')).toBe(0);
    const firstTurn = driver.emitted.find((event): event is TurnEmitted => event.type === 'call.turn');
    expect(firstTurn).toMatchObject({ turn: 1, userText: 'What time do you open?', assistantText: answer });
    expect(firstTurn?.interrupted).toBe(false);
    expect(firstTurn?.timestamps.userSpeechEndAt).toBe(endOfSpeech.type === 'STT.FINAL' ? endOfSpeech.at : NaN);
    expect(Object.values(firstTurn?.timestamps ?? {}).every((at) => typeof at === 'number')).toBe(true);

    // Second question; the caller cuts the answer off after its first segment played.
    driver.send(ev.final('And is parking free?', true));
    for (const token of tokens('Yes, parking is free. It is behind the building, next to the garden. ')) {
      driver.send(ev.text(token));
    }
    driver.send(ev.mark('t2-s1'));
    mark = driver.records.length;
    const bargeIn = driver.send(ev.interim('sorry, one more'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    expect(bargeIn.children).toEqual([
      { child: 'llm', kind: 'stop', instance: expect.any(Number) },
      { child: 'transport', kind: 'command', instance: expect.any(Number), event: { type: 'TRANSPORT.CLEAR' } },
      { child: 'tts', kind: 'command', instance: expect.any(Number), event: { type: 'TTS.CLEAR' } },
    ]);
    expect(bargeIn.emitted).toContainEqual(
      expect.objectContaining({
        type: 'call.bargeIn',
        heard: 'Yes, parking is free.',
        cut: 'It is behind the building, next to the garden.',
        callerText: 'sorry, one more',
      }),
    );
    driver.send(ev.mark('t2-s2', false)); // echoed by the clear: not heard
    driver.send(ev.cleared());
    expect(stateName(driver.snapshot)).toBe('listening');
    // What was heard is kept when the barge-in is over.
    expect(driver.snapshot.context.history.slice(-2)).toEqual([
      { role: 'user', content: 'And is parking free?' },
      { role: 'assistant', content: 'Yes, parking is free.' },
    ]);
    expect(ttsSince(driver, mark)).toEqual([{ type: 'TTS.CLEAR' }]); // nothing spoken after the clear

    // Goodbye: the LLM says goodbye and calls end_call; once its reply has played we hang up (no second goodbye).
    driver.send(ev.final('Never mind, thanks, bye.', true));
    driver.send(ev.tool('end_call'));
    driver.send(ev.text('Goodbye! '));
    driver.send(ev.done());
    expect(stateName(driver.snapshot)).toBe('respond.speaking'); // still playing: hanging up now would cut it off
    const last = driver.send(ev.mark('t3-s1'));
    expect(driver.snapshot.status).toBe('done');
    expect(driver.commands('tts').some((c) => c.type === 'TTS.SAY' && 'text' in c && c.text === options.goodbyeText)).toBe(false);
    expect(driver.snapshot.context.history.at(-1)).toEqual({ role: 'assistant', content: 'Goodbye!' });
    expect(last.children.map((record) => `${record.child} ${record.kind}`)).toEqual([
      'llm stop',
      'stt stop', // stt and tts live in `live`, left first
      'tts stop',
      'transport command', // the hangup reaches the transport before it stops
      'transport stop',
    ]);
    expect(driver.commands('transport').at(-1)).toEqual({ type: 'TRANSPORT.HANGUP' });
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'end_call' });
    expect(driver.errors).toEqual([]);
  });
});

describe('a reply cut after it was complete', () => {
  it('is reported interrupted, though once the clear echoes its unplayed mark nothing is left playing', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Tell me about parking.', true));
    for (const token of tokens('Parking is free. It is behind the building. ')) driver.send(ev.text(token));
    driver.send(ev.firstAudio());
    driver.send(ev.audioStarted());
    driver.send(ev.done()); // the whole reply is generated: only its playback is left
    driver.send(ev.mark('t1-s1'));
    driver.send(ev.interim('wait, one more thing'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    driver.send(ev.mark('t1-s2', false)); // echoed by the clear: not heard
    driver.send(ev.cleared());
    const turn = driver.emitted.find((event): event is TurnEmitted => event.type === 'call.turn');
    expect(turn).toMatchObject({ turn: 1, assistantText: 'Parking is free.', interrupted: true });
  });
});

describe('turn taking', () => {
  it('uses UtteranceEnd as the fallback and ignores it with nothing pending', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.utteranceEnd());
    expect(stateName(driver.snapshot)).toBe('listening');
    driver.send(ev.final('I need a plumber', false));
    expect(stateName(driver.snapshot)).toBe('listening');
    driver.send(ev.utteranceEnd());
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    expect(driver.llmInputs()[0]?.messages.at(-1)).toEqual({ role: 'user', content: 'I need a plumber' });
  });

  it('cancels the LLM when the caller goes on talking, and loses none of their words', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('I need a taxi', true));
    expect(driver.running('llm')).toBe(1);
    driver.send(ev.interim('uh-huh')); // a filler does not cancel
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    driver.send(ev.interim('to the'));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.running('llm')).toBe(0);
    driver.send(ev.final('to the airport', true));
    expect(driver.llmInputs().map((input) => input.messages.at(-1)?.content)).toEqual([
      'I need a taxi',
      'I need a taxi to the airport',
    ]);
  });

  it('keeps what the caller said over a non-interruptible greeting and answers it after', () => {
    const driver = new CallDriver({ ...options, greetingInterruptible: false });
    driver.send(ev.start());
    driver.send(ev.configured(driver.options));
    driver.send(ev.interim('hello I'));
    driver.send(ev.final('Hello, I want to cancel', true));
    expect(stateName(driver.snapshot)).toBe('greeting');
    expect(driver.commands('transport')).toEqual([]);
    driver.send(ev.mark('greeting'));
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    expect(driver.llmInputs()[0]?.messages.at(-1)).toEqual({ role: 'user', content: 'Hello, I want to cancel' });
  });

  it('does not let fillers interrupt, and answers a barge-in that ended the turn at once', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Tell me a story', true));
    driver.send(ev.text('Once upon a time there was a fox. '));
    driver.send(ev.text('It '));
    for (const filler of ['Mm.', 'uh-huh', 'Okay, yeah.']) {
      driver.send(ev.interim(filler));
      driver.send(ev.final(filler, false));
    }
    expect(stateName(driver.snapshot)).toBe('respond.speaking');
    expect(driver.snapshot.context.caller.pending).toEqual([]); // backchannels are not kept
    const step = driver.send(ev.final('Stop, a shorter one please.', true));
    expect(step.emitted.map((event) => event.type)).toContain('call.bargeIn');
    expect(stateName(driver.snapshot)).toBe('respond.thinking'); // through interrupted, straight to the answer
    expect(driver.commands('transport')).toEqual([{ type: 'TRANSPORT.CLEAR' }]);
    expect(driver.llmInputs()[1]?.messages.slice(-2)).toEqual([
      { role: 'assistant', content: options.greeting },
      { role: 'user', content: 'Tell me a story Stop, a shorter one please.' }, // nothing of the story was heard
    ]);
  });

  it('needs minInterruptWords words to interrupt, keeping shorter real words for the next turn', () => {
    const driver = answered(new CallDriver({ ...options, minInterruptWords: 3 }));
    driver.send(ev.final('Hi', true));
    driver.send(ev.text('Hello there, how can I help you today? '));
    driver.send(ev.final('wait', false));
    expect(stateName(driver.snapshot)).toBe('respond.speaking');
    driver.send(ev.interim('wait no please'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    driver.send(ev.final('no please stop', true));
    expect(driver.llmInputs()[1]?.messages.at(-1)?.content).toBe('Hi wait no please stop');
  });

  it('leaves interrupted on the safety timeout when TTS.CLEARED never comes', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Hi', true));
    driver.send(ev.text('Hello there. How are '));
    driver.send(ev.interim('hold on'));
    driver.clock.increment(options.clearTimeoutMs - 1);
    expect(stateName(driver.snapshot)).toBe('interrupted');
    driver.clock.increment(1);
    expect(stateName(driver.snapshot)).toBe('listening');
  });
});

describe('silence, errors and tools', () => {
  it('re-prompts after the idle timeout, resets it on speech, and hangs up after the last re-prompt', () => {
    const driver = answered(new CallDriver(options));
    driver.clock.increment(options.idleTimeoutMs - 1);
    driver.send(ev.interim('um'));
    driver.clock.increment(options.idleTimeoutMs - 1);
    expect(stateName(driver.snapshot)).toBe('listening'); // the interim restarted the timer
    driver.clock.increment(1);
    expect(stateName(driver.snapshot)).toBe('prompting');
    expect(driver.commands('tts').at(-1)).toEqual({ type: 'TTS.SAY', text: options.repromptText, segment: 'reprompt-1' });
    driver.send(ev.mark('reprompt-1'));
    driver.clock.increment(options.idleTimeoutMs);
    driver.send(ev.mark('reprompt-2'));
    expect(driver.snapshot.context.history).toEqual([
      { role: 'assistant', content: `${options.greeting} ${options.repromptText} ${options.repromptText}` },
    ]);
    driver.clock.increment(options.idleTimeoutMs);
    expect(stateName(driver.snapshot)).toBe('goodbye');
    driver.send(ev.mark('goodbye-3'));
    expect(driver.snapshot.status).toBe('done');
    expect(driver.commands('transport')).toEqual([{ type: 'TRANSPORT.HANGUP' }]);
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'no-response' });
  });

  it('apologises when the LLM is too slow, and the call goes on', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Hello?', true));
    driver.clock.increment(options.llmTimeoutMs);
    expect(stateName(driver.snapshot)).toBe('prompting');
    expect(driver.running('llm')).toBe(0);
    expect(driver.commands('tts').at(-1)).toEqual({ type: 'TTS.SAY', text: options.apologyText, segment: 'apology-1' });
    expect(driver.emitted).toContainEqual(expect.objectContaining({ type: 'call.error', source: 'llm' }));
    driver.send(ev.mark('apology-1'));
    expect(stateName(driver.snapshot)).toBe('listening');
  });

  it('on an LLM error mid-reply lets the spoken part play, then apologises', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('What is my balance?', true));
    driver.send(ev.text('Let me look that up'));
    driver.send(ev.llmError());
    expect(driver.commands('tts').slice(-3)).toEqual([
      { type: 'TTS.SPEAK', text: 'Let me look that up ' },
      { type: 'TTS.FLUSH', segment: 't1-s1' },
      { type: 'TTS.SAY', text: options.apologyText, segment: 't1-apology' },
    ]);
    driver.send(ev.mark('t1-s1'));
    driver.send(ev.mark('t1-apology'));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.snapshot.context.history.at(-1)).toEqual({
      role: 'assistant',
      content: `Let me look that up ${options.apologyText}`,
    });
  });

  it('goes straight back to listening when the LLM answers nothing', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('Hmm, let me think', true));
    driver.send(ev.done());
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.commands('tts')).toHaveLength(1); // only the greeting
  });

  it('says goodbye and hangs up when STT gives up; only notes recoverable errors', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.sttError(true));
    driver.send(ev.ttsError(true));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.emitted.filter((event) => event.type === 'call.error')).toHaveLength(2);
    driver.send(ev.sttError(false));
    expect(stateName(driver.snapshot)).toBe('goodbye');
    driver.send(ev.mark('goodbye-1'));
    expect(driver.snapshot.status).toBe('done');
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'stt-failed' });
  });

  it('hangs up on the phrase timeout when a dead TTS never plays the goodbye', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.ttsError(false));
    expect(stateName(driver.snapshot)).toBe('goodbye');
    driver.clock.increment(60_000);
    expect(driver.snapshot.status).toBe('done');
    expect(driver.commands('transport')).toEqual([{ type: 'TRANSPORT.HANGUP' }]);
  });

  it('ends on CALL.HANGUP from any state (hanging up first) and on Twilio stop (without)', () => {
    const hungUp = answered(new CallDriver(options));
    hungUp.send(ev.final('Hi', true));
    hungUp.send(ev.hangup());
    expect(hungUp.snapshot.status).toBe('done');
    expect(hungUp.commands('transport')).toEqual([{ type: 'TRANSPORT.HANGUP' }]);
    expect(['transport', 'stt', 'tts', 'llm'].map((child) => hungUp.running(child as 'llm'))).toEqual([0, 0, 0, 0]);

    const stopped = new CallDriver(options);
    stopped.send(ev.start());
    stopped.send(ev.configured(options));
    stopped.send(ev.stop());
    expect(stopped.snapshot.status).toBe('done');
    expect(stopped.commands('transport')).toEqual([]);
    expect(stopped.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'transport-stop' });
  });

  it('says the canned goodbye when end_call comes with no spoken reply', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('bye', true));
    driver.send(ev.tool('end_call'));
    driver.send(ev.done());
    expect(stateName(driver.snapshot)).toBe('goodbye');
    expect(driver.commands('tts').at(-1)).toEqual({ type: 'TTS.SAY', text: options.goodbyeText, segment: 'goodbye-1' });
    driver.send(ev.mark('goodbye-1'));
    expect(driver.snapshot.status).toBe('done');
    expect(driver.emitted.at(-1)).toEqual({ type: 'call.ended', reason: 'end_call' });
  });
});

describe("Deepgram's empty speech_final (all words came in earlier finals)", () => {
  it('ends the turn with the pending finals', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('What time do you open', false));
    driver.send(ev.final('', true));
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    expect(driver.llmInputs()[0]?.messages.at(-1)).toEqual({ role: 'user', content: 'What time do you open' });
  });

  it('is ignored with nothing pending', () => {
    const driver = answered(new CallDriver(options));
    driver.send(ev.final('', true));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.llmInputs()).toEqual([]);
  });
});
