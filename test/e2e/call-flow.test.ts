/** Whole simulated calls through the running server over real sockets (issue 4, "Done when"). */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, eventually, sims, startStack, type E2eStack } from './harness.js';

const GREETING = 'Hello! Thanks for calling. How can I help you today?';

describe('end-to-end calls through the server', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('greets, answers a question with the whole utterance, and hangs up after goodbye', async () => {
    stack = await startStack();
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'what are your opening hours' },
      { waitForAgent: 'reply' },
      { say: 'thanks goodbye' },
      { waitForAgent: 'reply' },
    ]);
    expect(record.errors).toEqual([]);
    expect(record.endedBy).toBe('server');
    const agent = agentTurns(record);
    expect(agent[0]?.text.trim()).toBe(GREETING);
    expect(record.firstAgentAudioMs).not.toBeNull();
    // The LLM got the whole utterance, and the caller heard the reply.
    const llm = sims(stack).llm;
    expect(llm.requests[0]?.lastUserText).toBe('what are your opening hours');
    expect(agent[1]?.text).toContain('We are open every day from eight in the morning');
    expect(agent.at(-1)?.text).toContain('goodbye');
    expect(stack.events.some((e) => e.type === 'call.ended')).toBe(true);
  });

  it('ends the turn on UtteranceEnd when speech_final never comes', async () => {
    stack = await startStack({ simulators: { deepgram: { withholdSpeechFinal: (text) => text.includes('number') } } });
    const results: boolean[] = [];
    sims(stack).deepgram.observer.on('listen.results', (r) => {
      if (r.isFinal && r.transcript.includes('number')) results.push(r.speechFinal);
    });
    let utteranceEnds = 0;
    sims(stack).deepgram.observer.on('listen.utteranceEnd', () => utteranceEnds++);
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'my number is four two' },
      { waitForAgent: 'reply' },
      { hangup: true },
    ]);
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((speechFinal) => !speechFinal)).toBe(true);
    expect(utteranceEnds).toBeGreaterThan(0);
    expect(sims(stack).llm.requests[0]?.lastUserText).toBe('my number is four two');
    expect(agentTurns(record)[1]?.text).toContain('my number is four two');
  });

  it('barge-in: caller gets clear, TTS gets Clear, LLM stream aborted, next request holds only what was heard', async () => {
    stack = await startStack({
      simulators: {
        llm: {
          script: [
            {
              when: 'story',
              once: true,
              tokensPerSecond: 8, // slow enough that the stream is still running when the caller interrupts
              // The first sentence is flushed alone (≈1 s of audio) and fully heard before the interruption.
              text:
                'Once upon a time. There was a tiny office with two phones and one coffee machine. ' +
                'The team answered every call with a smile. Then the calls grew and grew. ' +
                'Soon there were hundreds of calls every single day. Everyone learned to be brief.',
            },
          ],
        },
      },
    });
    const { deepgram, llm } = sims(stack);
    const aborts: number[] = [];
    llm.observer.on('abort', (e: { at: number }) => aborts.push(e.at));
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'tell me a story' },
      { bargeIn: 'stop please what time is it', afterMs: 2200 },
      { waitForAgent: 'reply' },
      { hangup: true },
    ]);
    expect(record.errors).toEqual([]);
    expect(record.clears).toBeGreaterThanOrEqual(1);
    expect(deepgram.stats.clears).toBeGreaterThanOrEqual(1);
    expect(aborts.length).toBe(1);
    const story = agentTurns(record)[1];
    expect(story?.interrupted).toBe(true);
    // The next LLM request carries the assistant turn truncated to what was heard.
    const next = llm.requests.find((r) => r.lastUserText.includes('stop please'));
    expect(next).toBeDefined();
    const assistant = (next?.messages ?? []).filter(
      (m): m is { role: string; content: string } =>
        typeof m === 'object' && m !== null && (m as { role?: unknown }).role === 'assistant' && typeof (m as { content?: unknown }).content === 'string',
    );
    // History keeps whole segments whose Twilio mark came back played: the first sentence, nothing after it.
    expect(assistant.at(-1)?.content).toBe('Once upon a time.');
    expect(story?.text.startsWith('Once upon a time.')).toBe(true);
    expect(`${story?.text ?? ''}`).not.toContain('Everyone learned to be brief');
    const bargeIn = stack.events.find((e) => e.type === 'call.bargeIn');
    expect(bargeIn).toBeDefined();
  });

  it('hangup closes every provider socket and stream', async () => {
    stack = await startStack();
    const { deepgram, llm } = sims(stack);
    // Track connections opened by this call (the phrase-cache warm-up ran before these listeners existed).
    const open = new Set<string>();
    let opened = 0;
    deepgram.observer.on('listen.open', (e) => (open.add(`l${e.connection}`), opened++));
    deepgram.observer.on('listen.close', (e) => open.delete(`l${e.connection}`));
    deepgram.observer.on('speak.open', (e) => (open.add(`s${e.connection}`), opened++));
    deepgram.observer.on('speak.close', (e) => open.delete(`s${e.connection}`));
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'tell me a long story' }, { waitForAgent: 'speaking' }, { hangup: true }]);
    expect(record.endedBy).toBe('caller');
    await eventually(() => stack?.server.activeCalls() === 0, 'call torn down');
    expect(opened).toBe(2); // one STT and one TTS socket for the call
    await eventually(() => open.size === 0, 'deepgram sockets closed');
    // The LLM stream of the turn in progress was aborted or had completed: none is left running.
    await eventually(() => llm.stats.requests === llm.stats.completed + llm.stats.aborts + llm.stats.failed, 'no LLM stream left');
  });
});
