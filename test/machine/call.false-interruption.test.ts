/**
 * False interruptions (README "False interruptions"): a barge-in that brings no real words — the final transcript is
 * empty or only fillers, or nothing comes within falseInterruptionTimeoutMs — resumes the cut speech from the start
 * of the sentence it was cut in. The noise is no turn; history holds exactly what was heard, the resumed part too.
 */
import { describe, expect, it } from 'vitest';
import type { TurnEmitted } from '../../machines/emitted.js';
import type { CallOptions } from '../../machines/options.js';
import { CallDriver, ev } from './harness.js';
import { modelOptions, stateName } from './model.js';

const options: CallOptions = modelOptions({ systemPrompt: 'Be brief.', falseInterruptionTimeoutMs: 1500 });
const FIRST = 'We open at nine on weekdays.';
const SECOND = 'On weekends we open at ten in the morning.';
const THIRD = 'We close at six every day of the week.';

/** Greeting heard, a question, a three-sentence reply (all written: LLM.DONE), the first sentence heard, and a noise
 * interim that cuts the second one off. */
function cutByNoise(opts: CallOptions = options): CallDriver {
  const driver = new CallDriver(opts);
  driver.send(ev.start());
  driver.send(ev.configured(opts));
  driver.send(ev.mark('greeting'));
  driver.send(ev.final('When do you open?', true));
  driver.send(ev.text(`${FIRST} ${SECOND} ${THIRD}`));
  driver.send(ev.done());
  expect(driver.snapshot.context.speech.segments.map((s) => s.text)).toEqual([FIRST, SECOND, THIRD]);
  driver.send(ev.mark('t1-s1'));
  driver.send(ev.interim('the dog'));
  expect(stateName(driver.snapshot)).toBe('interrupted');
  driver.send(ev.mark('t1-s2', false)); // Twilio echoes the cleared marks
  driver.send(ev.mark('t1-s3', false));
  driver.send(ev.cleared());
  return driver;
}

describe('false interruptions', () => {
  it('resumes from the start of the cut sentence when the final transcript is empty, and keeps what was heard', () => {
    const driver = cutByNoise();
    expect(stateName(driver.snapshot)).toBe('paused');
    const mark = driver.records.length;
    driver.send(ev.final('', true));
    expect(stateName(driver.snapshot)).toBe('resuming');
    expect(driver.commands('tts', driver.records.slice(mark))).toEqual([
      { type: 'TTS.SAY', text: SECOND, segment: 'resumed-1-1' },
      { type: 'TTS.SAY', text: THIRD, segment: 'resumed-1-2' },
    ]);
    expect(driver.llmInputs()).toHaveLength(1); // the noise is no turn
    driver.send(ev.mark('resumed-1-1'));
    driver.send(ev.mark('t1-s2', true)); // a stale echo of the cut segment counts for nothing
    expect(stateName(driver.snapshot)).toBe('resuming');
    driver.send(ev.mark('resumed-1-2'));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.snapshot.context.history.slice(1)).toEqual([
      { role: 'user', content: 'When do you open?' },
      { role: 'assistant', content: `${FIRST} ${SECOND} ${THIRD}` },
    ]);
    // The next turn's request carries the whole answer, heard in two goes, ahead of the new words.
    driver.send(ev.final('Thanks.', true));
    expect(driver.llmInputs()[1]?.messages.slice(-3)).toEqual([
      { role: 'user', content: 'When do you open?' },
      { role: 'assistant', content: `${FIRST} ${SECOND} ${THIRD}` },
      { role: 'user', content: 'Thanks.' },
    ]);
    const turns = driver.emitted.filter((event): event is TurnEmitted => event.type === 'call.turn');
    expect(turns[0]).toMatchObject({ turn: 1, assistantText: FIRST, interrupted: true });
  });

  it('resumes after fillers only, or after the timeout when no final comes', () => {
    const fillers = cutByNoise();
    fillers.send(ev.final('uh-huh', false));
    expect(stateName(fillers.snapshot)).toBe('paused');
    fillers.send(ev.final('mm', true));
    expect(stateName(fillers.snapshot)).toBe('resuming');
    expect(fillers.snapshot.context.caller.pending).toEqual([]);

    const silent = cutByNoise();
    silent.clock.increment(options.falseInterruptionTimeoutMs - 1);
    expect(stateName(silent.snapshot)).toBe('paused');
    silent.clock.increment(1);
    expect(stateName(silent.snapshot)).toBe('resuming');
  });

  it('is a barge-in after all when real words come: nothing is resumed and the words are answered', () => {
    const driver = cutByNoise();
    driver.send(ev.interim('sorry, what'));
    driver.clock.increment(options.falseInterruptionTimeoutMs - 1); // the interim restarted the wait
    driver.send(ev.speechStarted()); // and so does the sound of the next words
    driver.clock.increment(options.falseInterruptionTimeoutMs - 1);
    expect(stateName(driver.snapshot)).toBe('paused');
    driver.send(ev.final('sorry, what about Sundays?', true));
    expect(stateName(driver.snapshot)).toBe('respond.thinking');
    expect(driver.commands('tts').filter((c) => c.type === 'TTS.SAY' && 'segment' in c && String(c.segment).startsWith('resumed'))).toEqual([]);
    expect(driver.llmInputs()[1]?.messages.slice(-3)).toEqual([
      { role: 'user', content: 'When do you open?' },
      { role: 'assistant', content: FIRST },
      { role: 'user', content: 'sorry, what about Sundays?' },
    ]);
  });

  it('can be cut off again, and resumed again from where the second cut came', () => {
    const driver = cutByNoise();
    driver.send(ev.final('', true));
    driver.send(ev.mark('resumed-1-1'));
    driver.send(ev.interim('the dog again'));
    expect(stateName(driver.snapshot)).toBe('interrupted');
    driver.send(ev.mark('resumed-1-2', false));
    driver.send(ev.cleared());
    driver.send(ev.utteranceEnd());
    expect(stateName(driver.snapshot)).toBe('resuming');
    expect(driver.snapshot.context.speech.segments.map((s) => [s.name, s.text])).toEqual([['resumed-2-1', THIRD]]);
    driver.send(ev.mark('resumed-2-1'));
    expect(driver.snapshot.context.history.at(-1)).toEqual({ role: 'assistant', content: `${FIRST} ${SECOND} ${THIRD}` });
  });

  it('does not resume a reply the model was still writing, nor when the option is 0', () => {
    const writing = new CallDriver(options);
    writing.send(ev.start());
    writing.send(ev.configured(options));
    writing.send(ev.mark('greeting'));
    writing.send(ev.final('When do you open?', true));
    writing.send(ev.text(`${FIRST} ${SECOND} `));
    writing.send(ev.interim('the dog'));
    writing.send(ev.cleared());
    expect(stateName(writing.snapshot)).toBe('listening');

    const off = cutByNoise({ ...options, falseInterruptionTimeoutMs: 0 });
    expect(stateName(off.snapshot)).toBe('listening');
  });

  it('resumes a cut greeting (from the phrase cache: the same TTS.SAY)', () => {
    const driver = new CallDriver(options);
    driver.send(ev.start());
    driver.send(ev.configured(options));
    driver.send(ev.turnStarted());
    driver.send(ev.mark('greeting', false));
    driver.send(ev.cleared());
    driver.send(ev.final('', true));
    expect(driver.commands('tts').at(-1)).toEqual({ type: 'TTS.SAY', text: options.greeting, segment: 'resumed-1-1' });
    driver.send(ev.mark('resumed-1-1'));
    expect(stateName(driver.snapshot)).toBe('listening');
    expect(driver.snapshot.context.history).toEqual([{ role: 'assistant', content: options.greeting }]);
  });
});
