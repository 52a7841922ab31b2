/**
 * Whole offline calls with STT_ENGINE=flux: simulated caller → Twilio media stream → the running server → the Flux
 * actor on the real SDK → simulated /v2/listen, and back through the LLM and TTS simulators to the caller's ear.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, eventually, sims, startStack, type E2eStack } from './harness.js';

const GREETING = 'Hello! Thanks for calling. How can I help you today?';

describe('end-to-end calls on Deepgram Flux', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('greets, answers whole turns, honours a barge-in and hangs up after goodbye — Nova never used', async () => {
    // Short agent audio (20 ms per character) keeps the call short; turn-taking is unchanged.
    stack = await startStack({ env: { STT_ENGINE: 'flux' }, simulators: { deepgram: { ttsMsPerChar: 20 } } });
    const { deepgram, llm } = sims(stack);
    const opened: Record<string, string>[] = [];
    deepgram.observer.on('flux.open', (e) => opened.push(e.params));
    const ends: string[] = [];
    deepgram.observer.on('flux.turnInfo', (e) => {
      if (e.event === 'EndOfTurn') ends.push(e.transcript);
    });
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'what are your opening hours' },
      { waitForAgent: 'reply' },
      { say: 'tell me a long story' },
      { bargeIn: 'sorry do you work on sundays', afterMs: 1000 },
      { waitForAgent: 'reply' },
      { say: 'thanks goodbye' },
      { waitForAgent: 'reply' },
    ], { wordMs: 150 });
    expect(record.errors).toEqual([]);
    expect(record.endedBy).toBe('server');
    expect(opened).toEqual([expect.objectContaining({ model: 'flux-general-en', encoding: 'mulaw', sample_rate: '8000' })]);
    expect(deepgram.stats.listenConnections).toBe(0);

    const agent = agentTurns(record);
    expect(agent[0]?.text.trim()).toBe(GREETING);
    expect(ends).toEqual(['what are your opening hours', 'tell me a long story', 'sorry do you work on sundays', 'thanks goodbye']);
    expect(llm.requests.map((r) => r.lastUserText)).toEqual(ends);
    expect(agent[1]?.text).toContain('We are open every day from eight in the morning');
    expect(agent[2]?.interrupted).toBe(true);
    expect(record.clears).toBeGreaterThanOrEqual(1);
    expect(agent[3]?.text).toContain('open on weekends');
    expect(agent.at(-1)?.text).toContain('goodbye');
    await eventually(() => stack?.server.activeCalls() === 0, 'call torn down');
  });

  it('eager end of turn: a hesitation gives EagerEndOfTurn then TurnResumed, and the reply answers the whole sentence', async () => {
    stack = await startStack({ env: { STT_ENGINE: 'flux', FLUX_EAGER_EOT_THRESHOLD: '0.5' }, simulators: { deepgram: { ttsMsPerChar: 20 } } });
    const { deepgram, llm } = sims(stack);
    const wire: string[] = [];
    deepgram.observer.on('flux.turnInfo', (e) => {
      if (e.event !== 'Update' && e.event !== 'StartOfTurn') wire.push(`${e.event}: ${e.transcript}`);
    });
    let eagerParam: string | undefined;
    deepgram.observer.on('flux.open', (e) => (eagerParam = e.params.eager_eot_threshold));
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'are you open ... on sundays', hesitationMs: 260 },
      { waitForAgent: 'reply' },
      { hangup: true },
    ], { wordMs: 150 });
    expect(record.errors).toEqual([]);
    expect(eagerParam).toBe('0.5');
    expect(wire).toEqual([
      'EagerEndOfTurn: are you open',
      'TurnResumed: are you open',
      'EagerEndOfTurn: are you open on sundays',
      'EndOfTurn: are you open on sundays',
    ]);
    // The answered request holds the whole turn, and so does the reply the caller heard.
    expect(llm.requests.at(-1)?.lastUserText).toBe('are you open on sundays');
    expect(agentTurns(record)[1]?.text).toContain('open on weekends');
    expect(agentTurns(record)[1]?.latencyMs).toBeGreaterThan(0);
    // Speculation: the reply to the first eager transcript was started, held and thrown away unheard; the second
    // was started at EagerEndOfTurn and released at EndOfTurn.
    const speculation = stack.events.filter((e) => e.type === 'call.speculation').map((e) => (e.type === 'call.speculation' ? e.outcome : ''));
    expect(speculation).toEqual(['discarded', 'confirmed']);
    expect(llm.requests.map((r) => r.lastUserText)).toEqual(['are you open', 'are you open on sundays']);
    expect(llm.stats.aborts + llm.stats.completed).toBeGreaterThanOrEqual(2);
    expect(record.transcript.filter((t) => t.role === 'agent' && t.text.includes('You said: "are you open"'))).toEqual([]);
    expect(agentTurns(record)).toHaveLength(2); // greeting and the one answer: nothing of the discarded reply was heard
    expect(stack.events.filter((e) => e.type === 'call.userUtterance').map((e) => (e.type === 'call.userUtterance' ? e.text : ''))).toEqual([
      'are you open on sundays',
    ]);
  });

  it('a confirmed speculative reply was asked of the LLM before EndOfTurn, and its audio reached the caller only after it', async () => {
    stack = await startStack({ env: { STT_ENGINE: 'flux', FLUX_EAGER_EOT_THRESHOLD: '0.5' }, simulators: { deepgram: { ttsMsPerChar: 20 } } });
    const { deepgram, llm } = sims(stack);
    let endOfTurnAt = 0;
    deepgram.observer.on('flux.turnInfo', (e) => {
      if (e.event === 'EndOfTurn') endOfTurnAt = e.at;
    });
    const requestedAt: number[] = [];
    llm.observer.on('request', (e: { at: number }) => requestedAt.push(e.at));
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'are you open on sundays' }, { waitForAgent: 'reply' }, { hangup: true }], { wordMs: 150 });
    expect(record.errors).toEqual([]);
    expect(requestedAt).toHaveLength(1);
    expect(requestedAt[0]).toBeLessThan(endOfTurnAt); // started on the eager end, not on the end of turn
    const answer = agentTurns(record)[1];
    expect(answer?.text).toContain('open on weekends');
    expect(answer?.startAt).toBeGreaterThan(endOfTurnAt); // held until the turn was confirmed
  });
});
