/**
 * A false interruption through the running server (README "False interruptions"): the caller's line carries a noise
 * over the agent's reply; the STT shows words in its interim results (the barge-in) and an empty final. The agent goes
 * on from the start of the cut sentence; the noise is no turn; the next request holds the whole reply as heard.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, sims, startStack, type E2eStack } from './harness.js';
import { CALLER_WORD_MS_DEFAULT } from '../../offline/twilio-caller.js';

const FIRST = 'We open at nine on weekdays.';
const SECOND = 'On weekends we open at ten in the morning and we close at six in the evening.';
const THIRD = 'Parking is free behind the building.';

describe('false interruptions through the server', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('resumes the cut sentence after a noise, without a turn for it, and keeps the whole reply in history', async () => {
    // At the demo's pace: the noise must land inside the second sentence's audio, timed against real playback.
    stack = await startStack({ simulators: { llm: { script: [{ when: 'hours', once: true, text: `${FIRST} ${SECOND} ${THIRD}` }] } } }, 'real');
    const { deepgram, llm } = sims(stack);
    const speaks: string[] = [];
    deepgram.observer.on('speak.speak', (e: { text: string }) => speaks.push(e.text));
    const finals: string[] = [];
    deepgram.observer.on('listen.results', (r: { isFinal: boolean; transcript: string }) => {
      if (r.isFinal) finals.push(r.transcript);
    });
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'what are your hours' },
      // The first sentence (~1.5 s of audio) is heard whole; the noise comes in the second.
      { noise: 'the dog barks', afterMs: 2500 },
      { waitForAgent: 'reply' },
      { say: 'thanks' },
      { waitForAgent: 'reply' },
      { hangup: true },
    ], { wordMs: CALLER_WORD_MS_DEFAULT });
    expect(record.errors).toEqual([]);
    expect(record.clears).toBeGreaterThanOrEqual(1);
    const bargeIn = stack.events.find((e) => e.type === 'call.bargeIn');
    expect(bargeIn).toMatchObject({ heard: FIRST });
    expect(finals).not.toContain('the dog barks'); // the simulator revised the noise away

    // The noise was no turn: the model was asked twice (the question, then "thanks").
    expect(llm.requests.map((r) => r.lastUserText)).toEqual(['what are your hours', 'thanks']);
    // The caller heard the cut sentence again from its start, and the rest of the reply.
    // (Decoded audio: two segments said back to back run together, hence the comparison without spaces.)
    const heard = agentTurns(record).map((turn) => turn.text).join('').replace(/\s+/g, '');
    expect(heard).toContain(`${SECOND}${THIRD}`.replace(/\s+/g, ''));
    // History: the whole reply as heard (its first sentence once), ahead of the caller's next words.
    const messages = (llm.requests[1]?.messages ?? []) as Array<{ role?: string; content?: unknown }>;
    expect(messages.slice(-3)).toEqual([
      { role: 'user', content: 'what are your hours' },
      { role: 'assistant', content: `${FIRST} ${SECOND} ${THIRD}` },
      { role: 'user', content: 'thanks' },
    ]);
    // The resumed sentences' audio was synthesised once: the TTS child re-sent what it held.
    expect(speaks.filter((text) => text.includes('weekends'))).toHaveLength(1);
  });
});
