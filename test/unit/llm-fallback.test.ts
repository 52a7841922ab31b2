/**
 * The fallback client's decisions, on scripted LlmClients (our own interface, no SDK) and fake timers: which
 * provider serves a request, what counts as failing before the first output, cool-downs, and what is never retried.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFallbackLlmClient, classifyLlmFailure, type LlmFailureKind } from '../../actors/llm-fallback.js';
import type { LlmClient, LlmStreamEvent } from '../../actors/llm-types.js';
import type { ChatMessage } from '../../machines/events.js';
import { silentLogger } from '../../lib/logger.js';

type Behaviour = 'ok' | 'hang' | { status: number } | 'refused' | 'mid-stream';

/** A provider whose next requests behave as queued (then 'ok'); it records every request and abort. */
function scripted(provider: 'openai' | 'anthropic', model: string, ...queue: Behaviour[]) {
  const seen = { requests: 0, aborted: 0 };
  const client: LlmClient = {
    provider,
    model,
    async *stream(_messages, signal): AsyncGenerator<LlmStreamEvent> {
      seen.requests += 1;
      const behaviour = queue.shift() ?? 'ok';
      if (behaviour === 'refused') throw Object.assign(new Error('Connection error.'), { cause: new Error('ECONNREFUSED') });
      if (typeof behaviour === 'object') throw Object.assign(new Error(`${behaviour.status} boom`), { status: behaviour.status });
      if (behaviour === 'hang') {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        seen.aborted += 1;
        return; // as the adapters do: an aborted stream ends quietly
      }
      yield { type: 'text', text: `${model} says hi` };
      if (behaviour === 'mid-stream') throw Object.assign(new Error('overloaded'), { status: 529 });
      yield { type: 'done', finishReason: 'stop' };
    },
  };
  return { client, seen };
}

const messages: ChatMessage[] = [{ role: 'user', content: 'hello' }];

async function collect(client: LlmClient, signal = new AbortController().signal): Promise<{ text: string; error?: unknown }> {
  let text = '';
  try {
    for await (const event of client.stream({ messages, tools: [] }, signal)) if (event.type === 'text') text += event.text;
    return { text };
  } catch (error) {
    return { text, error };
  }
}

function counters() {
  const requests: string[] = [];
  const failures: [string, LlmFailureKind][] = [];
  const fallbacks: [string, string][] = [];
  return {
    requests,
    failures,
    fallbacks,
    observer: {
      request: (p: string) => requests.push(p),
      failure: (p: string, k: LlmFailureKind) => failures.push([p, k]),
      fallback: (from: string, to: string) => fallbacks.push([from, to]),
    },
  };
}

describe('LLM fallback client', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('serves from the primary while it works, and says which provider served', async () => {
    const a = scripted('openai', 'gpt-a');
    const b = scripted('anthropic', 'claude-b');
    const m = counters();
    const fallback = createFallbackLlmClient({ clients: [a.client, b.client], log: silentLogger, observer: m.observer });
    const call = fallback.forCall(silentLogger);
    expect(await collect(call)).toEqual({ text: 'gpt-a says hi' });
    expect(call.provider).toBe('openai');
    expect(b.seen.requests).toBe(0);
    expect(m).toMatchObject({ requests: ['openai:gpt-a'], failures: [], fallbacks: [] });
  });

  it.each<[string, Behaviour, LlmFailureKind]>([
    ['429', { status: 429 }, 'rate_limit'],
    ['503', { status: 503 }, 'server'],
    ['529 overloaded', { status: 529 }, 'server'],
    ['401', { status: 401 }, 'client'],
    ['connection refused', 'refused', 'connection'],
  ])('retries the same request on the next provider after %s, and cools the failed one down', async (_name, behaviour, kind) => {
    const a = scripted('openai', 'gpt-a', behaviour);
    const b = scripted('anthropic', 'claude-b');
    const m = counters();
    const fallback = createFallbackLlmClient({ clients: [a.client, b.client], cooldownMs: 10_000, log: silentLogger, observer: m.observer });
    const call = fallback.forCall(silentLogger);
    expect(await collect(call)).toEqual({ text: 'claude-b says hi' });
    expect(call.provider).toBe('anthropic');
    expect(m.failures).toEqual([['openai:gpt-a', kind]]);
    expect(m.fallbacks).toEqual([['openai:gpt-a', 'anthropic:claude-b']]);
    expect(fallback.cooling()).toEqual(['openai:gpt-a']);

    // During the cool-down the failed provider is skipped; after it, it is the first choice again.
    expect(await collect(call)).toEqual({ text: 'claude-b says hi' });
    expect(a.seen.requests).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(fallback.cooling()).toEqual([]);
    expect(await collect(call)).toEqual({ text: 'gpt-a says hi' });
    expect(m.requests).toEqual(['openai:gpt-a', 'anthropic:claude-b', 'anthropic:claude-b', 'openai:gpt-a']);
  });

  it('moves on when no output comes within the first-token timeout, aborting the slow request', async () => {
    const a = scripted('openai', 'gpt-a', 'hang');
    const b = scripted('anthropic', 'claude-b');
    const m = counters();
    const fallback = createFallbackLlmClient({ clients: [a.client, b.client], firstTokenTimeoutMs: 1500, log: silentLogger, observer: m.observer });
    const result = collect(fallback);
    await vi.advanceTimersByTimeAsync(1499);
    expect(b.seen.requests).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toEqual({ text: 'claude-b says hi' });
    expect(a.seen.aborted).toBe(1);
    expect(m.failures).toEqual([['openai:gpt-a', 'timeout']]);
  });

  it('gives the last candidate no first-token timeout (the call machine bounds it), and throws the last error when all fail', async () => {
    const a = scripted('openai', 'gpt-a', { status: 500 });
    const b = scripted('anthropic', 'claude-b', 'hang');
    const fallback = createFallbackLlmClient({ clients: [a.client, b.client], firstTokenTimeoutMs: 100, log: silentLogger });
    const controller = new AbortController();
    let settled = false;
    const result = collect(fallback, controller.signal).finally(() => (settled = true));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).toBe(false);
    controller.abort(); // the machine gave up (its LLM timeout) and stopped the turn
    expect(await result).toEqual({ text: '' });

    const c = scripted('openai', 'gpt-a', { status: 502 });
    const d = scripted('anthropic', 'claude-b', { status: 429 });
    const all = createFallbackLlmClient({ clients: [c.client, d.client], log: silentLogger });
    const failed = await collect(all);
    expect(failed.error).toMatchObject({ status: 429 });
    // Both cooling: the next request still tries them, the one whose cool-down ends first first.
    expect(all.cooling()).toEqual(['openai:gpt-a', 'anthropic:claude-b']);
    expect(await collect(all)).toEqual({ text: 'gpt-a says hi' });
  });

  it('never retries after output was streamed, nor after the caller aborted', async () => {
    const a = scripted('openai', 'gpt-a', 'mid-stream');
    const b = scripted('anthropic', 'claude-b');
    const m = counters();
    const fallback = createFallbackLlmClient({ clients: [a.client, b.client], log: silentLogger, observer: m.observer });
    const mid = await collect(fallback);
    expect(mid.text).toBe('gpt-a says hi');
    expect(mid.error).toMatchObject({ status: 529 });
    expect(m.failures).toEqual([['openai:gpt-a', 'mid_stream']]);
    expect(fallback.cooling()).toEqual([]);

    const hung = scripted('openai', 'gpt-a', 'hang');
    const spare = scripted('anthropic', 'claude-b');
    const barge = createFallbackLlmClient({ clients: [hung.client, spare.client], firstTokenTimeoutMs: 1000, log: silentLogger });
    const controller = new AbortController();
    const result = collect(barge, controller.signal);
    await vi.advanceTimersByTimeAsync(500);
    controller.abort(); // barge-in: the turn is cancelled
    expect(await result).toEqual({ text: '' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(spare.seen.requests).toBe(0);
    expect(barge.cooling()).toEqual([]);
  });

  it('classifies SDK errors by their status', () => {
    expect(classifyLlmFailure(Object.assign(new Error('x'), { status: 429 }))).toBe('rate_limit');
    expect(classifyLlmFailure(Object.assign(new Error('x'), { status: 529 }))).toBe('server');
    expect(classifyLlmFailure(Object.assign(new Error('x'), { status: 400 }))).toBe('client');
    expect(classifyLlmFailure(Object.assign(new Error('Connection error.'), { status: undefined }))).toBe('connection');
    expect(classifyLlmFailure('weird')).toBe('connection');
  });
});
