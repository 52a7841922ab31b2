/**
 * Provider faults mid-call, through the running server: a Deepgram STT socket that goes quiet while the caller
 * talks, a TTS socket that takes the reply's Flush and sends nothing, an LLM that answers 429 / 503 or never sends
 * its first token. Each time the caller still hears the answer to what they asked. (Short watchdog and first-token
 * periods keep the calls short; `npx tsx bench/recovery.ts` measures recovery with the defaults.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, sims, startStack, type E2eStack } from './harness.js';
import type { TimelineEntry } from '../../offline/twilio-caller-types.js';

const HOURS = 'We are open every day from eight in the morning to eight in the evening.';

async function metric(stack: E2eStack, pattern: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
  return text.split('\n').find((line) => pattern.test(line));
}

/** Runs `fault` once, when the caller starts (`sayStart`) or finishes (`said`) saying `text`. */
const when = (kind: 'sayStart' | 'said', text: string, fault: () => void) => {
  let done = false;
  return (entry: TimelineEntry): void => {
    if (done || entry.kind !== kind || entry.text !== text) return;
    done = true;
    fault();
  };
};

describe('recovery from provider faults, end to end', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('STT socket goes quiet while the caller asks: the watchdog reconnects, replays, and the caller is answered', async () => {
    stack = await startStack({ env: { STT_SILENCE_WATCHDOG_MS: '1500' } });
    const deepgram = sims(stack).deepgram;
    const record = await call(
      stack,
      [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply', timeoutMs: 10_000 }, { hangup: true }],
      { onEvent: when('sayStart', 'what are your opening hours', () => deepgram.silenceConnections('listen')) },
    );
    expect(record.errors).toEqual([]);
    expect(agentTurns(record)[1]?.text).toContain(HOURS);
    expect(deepgram.stats.listenConnections).toBe(2);
    expect(await metric(stack, /^voice_watchdog_reconnects_total\{socket="stt"\}/)).toBe('voice_watchdog_reconnects_total{socket="stt"} 1');
    expect(stack.events).toContainEqual(expect.objectContaining({ type: 'call.error', source: 'stt', recoverable: true }));
  });

  it('TTS socket takes the reply and says nothing: the watchdog reconnects and the reply is spoken', async () => {
    stack = await startStack({ env: { TTS_SILENCE_WATCHDOG_MS: '1500' } });
    const deepgram = sims(stack).deepgram;
    const record = await call(
      stack,
      [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply', timeoutMs: 10_000 }, { hangup: true }],
      // The greeting came from the phrase cache; the reply is the first thing this socket is asked for.
      { onEvent: when('said', 'what are your opening hours', () => deepgram.silenceConnections('speak')) },
    );
    expect(record.errors).toEqual([]);
    expect(agentTurns(record)[1]?.text).toContain(HOURS);
    expect(await metric(stack, /^voice_watchdog_reconnects_total\{socket="tts"\}/)).toBe('voice_watchdog_reconnects_total{socket="tts"} 1');
  });

  it('LLM 429, 503 and a stalled stream: each turn is answered by the fallback provider', async () => {
    stack = await startStack({
      env: { LLM_FALLBACK: 'anthropic:claude-haiku-4-5', LLM_FIRST_TOKEN_TIMEOUT_MS: '1000', LLM_FALLBACK_COOLDOWN_MS: '0' },
    });
    const llm = sims(stack).llm;
    llm.script.unshift(
      { when: 'opening hours', provider: 'openai', error: { status: 429, message: 'Rate limit reached' } },
      { when: 'your address', provider: 'openai', error: { status: 503, message: 'Service unavailable' } },
      { when: 'parking', provider: 'openai', hang: 'first-token' },
    );
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'what are your opening hours' },
      { waitForAgent: 'reply' },
      { say: 'what is your address' },
      { waitForAgent: 'reply' },
      { say: 'is there parking' },
      { waitForAgent: 'reply' },
      { hangup: true },
    ]);
    expect(record.errors).toEqual([]);
    const heard = agentTurns(record).map((t) => t.text);
    expect(heard[1]).toContain(HOURS);
    expect(heard[2]).toContain('You said: "what is your address"');
    expect(heard[3]).toContain('You said: "is there parking"');
    expect(llm.requests.map((r) => `${r.provider}:${r.lastUserText}`)).toEqual([
      'openai:what are your opening hours',
      'anthropic:what are your opening hours',
      'openai:what is your address',
      'anthropic:what is your address',
      'openai:is there parking',
      'anthropic:is there parking',
    ]);
    // No apology: the machine never saw an error.
    expect(stack.events.filter((e) => e.type === 'call.error')).toEqual([]);
    for (const kind of ['rate_limit', 'server', 'timeout']) {
      expect(await metric(stack, new RegExp(`^voice_llm_failures_total\\{provider="openai:gpt-4o-mini",kind="${kind}"\\}`))).toMatch(/ 1$/);
    }
    expect(await metric(stack, /^voice_llm_fallbacks_total/)).toBe('voice_llm_fallbacks_total{from="openai:gpt-4o-mini",to="anthropic:claude-haiku-4-5"} 3');
  });
});
