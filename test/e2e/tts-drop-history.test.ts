/**
 * History after a TTS reconnect: the Deepgram speak socket drops in the middle of a segment's audio. The caller hears
 * that segment cut short and the rest of the reply after the reconnect; the assistant message in history must hold
 * only what the caller heard (a segment heard in part does not count, as after a barge-in).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, sims, startStack, type E2eStack } from './harness.js';

const CUT_SENTENCE = 'Our service started in a small office with two phones and a lot of coffee.';

describe('TTS socket dropped mid-reply', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('history holds only what the caller heard', async () => {
    // 20 ms of audio per character: the story reply plays in a few seconds instead of twenty.
    stack = await startStack({ simulators: { deepgram: { ttsMsPerChar: 20 } } });
    const dg = sims(stack).deepgram;
    // Armed after start-up (the phrase cache has been warmed): the one-chunk "Of course." cannot trip it; the
    // story's second sentence (75 chars = 12000 bytes) is dropped after 4800 bytes.
    dg.dropSpeakMidSegment(4800);
    const dropped = new Promise<{ bytes: number }>((resolve) => dg.observer.once('speak.dropped', resolve));

    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'tell me the story of your company' },
      { waitForAgent: 'reply', timeoutMs: 30000 },
      { hangup: true },
    ]);
    expect((await dropped).bytes).toBe(4800);
    expect(record.errors).toEqual([]);

    const heard = agentTurns(record)[1]?.text ?? '';
    expect(heard).toContain('Of course. Our service started'); // the cut segment began to play…
    expect(heard).not.toContain('a lot of coffee'); // …and stopped short
    expect(heard).toContain('Today most questions are answered in under a minute, day or night.'); // the rest came after the reconnect

    const turn = stack.events.find((e) => e.type === 'call.turn' && e.generatedText.includes('coffee'));
    if (turn?.type !== 'call.turn') throw new Error('no call.turn for the story');
    expect(turn.generatedText).toContain(CUT_SENTENCE);
    expect(turn.assistantText).not.toContain('a lot of coffee');
    // Every sentence in history was heard whole by the caller.
    const sentences = turn.assistantText.split(/(?<=[.!?])\s+/).filter((s) => s.length > 0);
    expect(sentences.length).toBeGreaterThanOrEqual(4);
    for (const sentence of sentences) expect(heard).toContain(sentence);
    expect(stack.events.some((e) => e.type === 'call.error' && e.source === 'tts' && e.recoverable)).toBe(true);
  });
});
