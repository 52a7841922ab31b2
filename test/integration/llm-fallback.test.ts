/**
 * LLM fallback on the real `openai` and `@anthropic-ai/sdk` SDKs against the LLM simulator over loopback: each fault
 * a provider shows before its first token (HTTP 429, 5xx / 529 overloaded, no answer at all, a stream with no
 * token, a refused connection) sends the same request to the next provider, and the per-turn actor reports only
 * the fallback's reply. (Recovery times: `npx tsx bench/recovery.ts`.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActor, setup, type AnyEventObject } from 'xstate';
import { createLlmActor } from '../../actors/llm.js';
import { createLlmClient } from '../../actors/llm-client.js';
import { createFallbackLlmClient, type FallbackLlmClient, type LlmFailureKind } from '../../actors/llm-fallback.js';
import type { ChatMessage } from '../../machines/events.js';
import { silentLogger } from '../../lib/logger.js';
import { startLlmSimulator, type LlmScriptEntry, type LlmSimulator } from '../../offline/llm.js';

const FIRST_TOKEN_TIMEOUT_MS = 400;
const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are a phone agent.' },
  { role: 'assistant', content: 'Hello, how can I help?' },
  { role: 'user', content: 'What are your opening hours?' },
];
const REPLY = 'You said: "What are your opening hours?". Is there anything else?';

let sim: LlmSimulator;
let deadUrl = '';

beforeAll(async () => {
  sim = await startLlmSimulator({ firstTokenMs: 20, tokensPerSecond: 400, apiKey: 'k' });
  // A port that refuses connections: bind one, note it, close it.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => sim.close());
afterEach(() => {
  sim.script.length = 0;
  sim.requests.length = 0;
});

function chain(primaryBaseUrl?: string) {
  const failures: [string, LlmFailureKind][] = [];
  const fallbacks: [string, string][] = [];
  const client: FallbackLlmClient = createFallbackLlmClient({
    clients: [
      createLlmClient({ provider: 'openai', model: 'gpt-4o-mini', apiKey: 'k', baseURL: primaryBaseUrl ?? sim.openaiBaseUrl }),
      createLlmClient({ provider: 'anthropic', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: sim.anthropicBaseUrl }),
    ],
    firstTokenTimeoutMs: FIRST_TOKEN_TIMEOUT_MS,
    cooldownMs: 60_000,
    log: silentLogger,
    observer: { request: () => {}, failure: (p, k) => failures.push([p, k]), fallback: (a, b) => fallbacks.push([a, b]) },
  });
  return { client, failures, fallbacks };
}

/** One turn through the real per-turn actor; resolves with its events and the time to its first LLM.TEXT. */
function turn(client: FallbackLlmClient): Promise<{ events: AnyEventObject[]; firstTextMs: number }> {
  return new Promise((resolve, reject) => {
    const events: AnyEventObject[] = [];
    const started = performance.now();
    let firstTextMs = -1;
    const machine = setup({ actors: { llm: createLlmActor({ client: client.forCall(silentLogger), log: silentLogger }) } }).createMachine({
      invoke: { src: 'llm', input: { messages: conversation, tools: [], stallTimeoutMs: 30_000 } },
      on: {
        '*': {
          actions: ({ event }) => {
            events.push(event);
            if (event.type === 'LLM.TEXT' && firstTextMs < 0) firstTextMs = performance.now() - started;
            if (event.type === 'LLM.DONE' || event.type === 'LLM.ERROR') {
              actor.stop();
              resolve({ events, firstTextMs });
            }
          },
        },
      },
    });
    const actor = createActor(machine);
    actor.subscribe({ error: reject });
    actor.start();
  });
}

const text = (events: AnyEventObject[]): string =>
  events.filter((e) => e.type === 'LLM.TEXT').map((e) => String(e['text'])).join('');

describe('LLM fallback ⇄ simulator (real SDKs)', () => {
  it.each<[string, LlmScriptEntry, LlmFailureKind]>([
    ['HTTP 429', { provider: 'openai', error: { status: 429, message: 'Rate limit reached for gpt-4o-mini' } }, 'rate_limit'],
    ['HTTP 503', { provider: 'openai', error: { status: 503, message: 'The server is overloaded' } }, 'server'],
    ['no answer at all', { provider: 'openai', hang: 'headers' }, 'timeout'],
    ['200 but no first token', { provider: 'openai', hang: 'first-token' }, 'timeout'],
  ])('openai fails with %s → the same request is answered by anthropic', async (_name, fault, kind) => {
    sim.script.push(fault);
    const { client, failures, fallbacks } = chain();
    const result = await turn(client);
    expect(result.events.map((e) => e.type)).not.toContain('LLM.ERROR');
    expect(text(result.events)).toBe(REPLY);
    expect(result.events.at(-1)?.type).toBe('LLM.DONE');
    expect(failures).toEqual([['openai:gpt-4o-mini', kind]]);
    expect(fallbacks).toEqual([['openai:gpt-4o-mini', 'anthropic:claude-haiku-4-5']]);
    // Same conversation on both wires; the hung request was abandoned (the simulator saw the client go away).
    expect(sim.requests.map((r) => [r.provider, r.model, r.lastUserText])).toEqual([
      ['openai', 'gpt-4o-mini', 'What are your opening hours?'],
      ['anthropic', 'claude-haiku-4-5', 'What are your opening hours?'],
    ]);
    if (kind === 'timeout') expect(result.firstTextMs).toBeGreaterThanOrEqual(FIRST_TOKEN_TIMEOUT_MS);
    // Cool-down: the next turn goes straight to anthropic.
    const again = await turn(client);
    expect(text(again.events)).toBe(REPLY);
    expect(sim.requests.slice(2).map((r) => r.provider)).toEqual(['anthropic']);
  });

  it('a refused connection falls back too, and Anthropic 529 overloaded falls back the other way', async () => {
    const refused = chain(deadUrl);
    const result = await turn(refused.client);
    expect(text(result.events)).toBe(REPLY);
    expect(refused.failures).toEqual([['openai:gpt-4o-mini', 'connection']]);

    sim.requests.length = 0;
    sim.script.push({ provider: 'anthropic', error: { status: 529, message: 'Overloaded' } });
    const reverse = createFallbackLlmClient({
      clients: [
        createLlmClient({ provider: 'anthropic', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: sim.anthropicBaseUrl }),
        createLlmClient({ provider: 'openai', model: 'gpt-4o-mini', apiKey: 'k', baseURL: sim.openaiBaseUrl }),
      ],
      log: silentLogger,
    });
    expect(text((await turn(reverse)).events)).toBe(REPLY);
    expect(sim.requests.map((r) => r.provider)).toEqual(['anthropic', 'openai']);
  });

  it('a failure after the first token is not retried: the actor reports LLM.ERROR after the text it streamed', async () => {
    sim.script.push({ provider: 'openai', text: 'We are open from nine to five every day of the week.', failMidStream: 'error-event' });
    const { client, failures } = chain();
    const result = await turn(client);
    expect(result.events.at(-1)?.type).toBe('LLM.ERROR');
    expect(text(result.events).length).toBeGreaterThan(0);
    expect(failures).toEqual([['openai:gpt-4o-mini', 'mid_stream']]);
    expect(sim.requests.map((r) => r.provider)).toEqual(['openai']);
  });
});
