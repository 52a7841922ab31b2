/**
 * The per-turn LLM actor on the real `openai` and `@anthropic-ai/sdk` SDKs against the local LLM simulator over
 * loopback, for both providers: streaming text, tool calls, cancellation (the simulator sees the client go away and
 * nothing is reported as an error), HTTP / network / mid-stream failures.
 */
import { defineAgent } from '../../src/agent/agent.js';
import { agentCallOptions } from '../../src/agent/agent-runtime.js';
import { defaultCallOptions } from '../../machines/options.js';
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActor, setup, type AnyEventObject } from 'xstate';
import { createLlmActor } from '../../actors/llm.js';
import { createLlmClient, type LlmClient, type LlmProvider, type LlmStreamEvent } from '../../actors/llm-client.js';
import { CALL_STARTED_USER_TEXT } from '../../actors/llm-anthropic.js';
import type { ChatMessage } from '../../machines/events.js';
import { startLlmSimulator, type LlmScriptEntry, type LlmSimulator } from '../../offline/llm.js';

const SYSTEM = 'You are a helpful phone agent. Keep answers short.';
const GREETING = 'Hello, thanks for calling. How can I help?';
const WAIT_MS = 10_000;

type LogEntry = { level: string; message: string; [key: string]: unknown };

function capturingLogger() {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    objectMode: true,
    write(chunk: LogEntry, _encoding, done) {
      entries.push(chunk);
      done();
    },
  });
  const log = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { log, entries };
}

/** The tools a call offers when its agent has transfer targets (end_call, transfer_call), as the LLM gets them. */
const CONTROL_TOOLS = agentCallOptions(
  defineAgent({ systemPrompt: 'x', greeting: 'y', transferTargets: { sales: '+15550100200' } }),
  defaultCallOptions,
).tools.map(({ name, description, parameters }) => ({ name, description, parameters }));

/** Runs the actor invoked by a tiny parent machine, recording everything it sends back. */
function startTurn(client: LlmClient, messages: readonly ChatMessage[], stallTimeoutMs = 30_000) {
  const { log, entries } = capturingLogger();
  const events: AnyEventObject[] = [];
  const waiters = new Set<() => void>();
  const record = (event: AnyEventObject): void => {
    events.push(event);
    for (const wake of [...waiters]) wake();
  };
  const machine = setup({ actors: { llm: createLlmActor({ client, log }) } }).createMachine({
    id: 'turn',
    initial: 'running',
    states: {
      running: {
        invoke: { id: 'llm', src: 'llm', input: { messages, tools: CONTROL_TOOLS, stallTimeoutMs } },
        on: { 'TEST.STOP': 'stopped', '*': { actions: ({ event }) => record(event) } },
      },
      stopped: { on: { '*': { actions: ({ event }) => record(event) } } },
    },
  });
  const parentErrors: unknown[] = [];
  const actor = createActor(machine);
  actor.subscribe({ error: (err) => parentErrors.push(err) });
  actor.start();

  const waitFor = (predicate: (events: AnyEventObject[]) => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(events)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${events.map((e) => e.type).join(', ')}`));
      }, WAIT_MS);
      waiters.add(check);
      check();
    });
  const settled = () => waitFor((evs) => evs.some((e) => e.type === 'LLM.DONE' || e.type === 'LLM.ERROR'), 'LLM.DONE or LLM.ERROR');
  return {
    events,
    logs: entries,
    parentErrors,
    waitFor,
    settled,
    stop: () => actor.send({ type: 'TEST.STOP' }),
    dispose: () => actor.stop(),
  };
}

const textOf = (events: AnyEventObject[]): string =>
  events.filter((e) => e.type === 'LLM.TEXT').map((e) => String(e['text'])).join('');
const typesOf = (events: AnyEventObject[]): string[] => events.map((e) => e.type);
const errorLogs = (logs: LogEntry[]): LogEntry[] => logs.filter((l) => l.level === 'error');

function onceEvent<T>(sim: LlmSimulator, name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator never emitted ${name}`)), WAIT_MS);
    sim.observer.once(name, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const LONG_TEXT = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + '.';

describe.each<LlmProvider>(['openai', 'anthropic'])('llm actor on %s', (provider) => {
  let sim: LlmSimulator;
  let client: LlmClient;
  const clientFor = (apiKey = 'test-key'): LlmClient =>
    createLlmClient({
      provider,
      apiKey,
      baseURL: provider === 'openai' ? sim.openaiBaseUrl : sim.anthropicBaseUrl,
      model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-3-5-haiku-latest',
    });
  const conversation = (userText: string): ChatMessage[] => [
    { role: 'system', content: SYSTEM },
    { role: 'assistant', content: GREETING },
    { role: 'user', content: userText },
  ];
  const use = (...entries: LlmScriptEntry[]): void => {
    sim.script.push(...entries);
  };
  const turns: Array<ReturnType<typeof startTurn>> = [];
  const turn = (messages: readonly ChatMessage[], c: LlmClient = client, stallTimeoutMs?: number) => {
    const t = startTurn(c, messages, stallTimeoutMs);
    turns.push(t);
    return t;
  };

  beforeEach(async () => {
    sim = await startLlmSimulator({ firstTokenMs: 5, tokensPerSecond: 400, apiKey: 'test-key' });
    client = clientFor();
  });
  afterEach(async () => {
    for (const t of turns.splice(0)) t.dispose();
    await sim.close();
  });

  it('streams text as LLM.TEXT deltas whose concatenation is the reply, then LLM.DONE', async () => {
    const reply = 'We are open from nine to five, Monday to Friday. Anything else I can do?';
    use({ when: 'opening hours', text: reply });
    const t = turn(conversation('What are your opening hours?'));
    await t.settled();
    const types = typesOf(t.events);
    expect(types.filter((x) => x === 'LLM.TEXT').length).toBeGreaterThan(5);
    expect(textOf(t.events)).toBe(reply);
    expect(types.at(-1)).toBe('LLM.DONE');
    expect(types.filter((x) => x === 'LLM.DONE')).toHaveLength(1);
    expect(types).not.toContain('LLM.ERROR');
    expect(t.events.every((e) => e.type !== 'LLM.TEXT' || String(e['text']) !== '')).toBe(true);
    expect(t.events.every((e) => typeof e['at'] === 'number')).toBe(true);
    expect(t.parentErrors).toEqual([]);
  });

  it('sends the whole conversation in the provider shape, with the tools of the call', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: SYSTEM },
      { role: 'assistant', content: GREETING },
      { role: 'user', content: 'I need a plumber.' },
      { role: 'assistant', content: 'Sure, for which address?' },
      { role: 'user', content: 'Ten Main Street.' },
    ];
    const t = turn(messages);
    await t.settled();
    expect(textOf(t.events)).toBe('You said: "Ten Main Street.". Is there anything else?');
    const seen = sim.requests[0];
    expect(seen?.provider).toBe(provider);
    expect(seen?.stream).toBe(true);
    expect(seen?.system).toBe(SYSTEM);
    if (provider === 'openai') {
      expect(seen?.messages).toEqual(messages.map((m) => ({ role: m.role, content: m.content })));
      expect(seen?.tools).toMatchObject([
        { type: 'function', function: { name: 'end_call', parameters: { type: 'object' } } },
        { type: 'function', function: { name: 'transfer_call', parameters: { type: 'object', required: ['target'], properties: { target: { enum: ['sales'] } } } } },
      ]);
    } else {
      // Anthropic: system prompt as the `system` param, and a user message first.
      expect(seen?.messages).toEqual([
        { role: 'user', content: CALL_STARTED_USER_TEXT },
        ...messages.slice(1).map((m) => ({ role: m.role, content: m.content })),
      ]);
      expect(seen?.tools).toMatchObject([
        { name: 'end_call', input_schema: { type: 'object' } },
        { name: 'transfer_call', input_schema: { type: 'object', required: ['target'], properties: { target: { enum: ['sales'] } } } },
      ]);
    }
  });

  it('drops empty messages and (for Anthropic) merges consecutive same-role messages', async () => {
    const t = turn([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Hi.' },
      { role: 'assistant', content: '' }, // a reply cut before the caller heard anything
      { role: 'user', content: 'Are you there?' },
    ]);
    await t.settled();
    expect(typesOf(t.events).at(-1)).toBe('LLM.DONE');
    const seen = sim.requests[0];
    if (provider === 'openai') {
      expect(seen?.messages).toEqual([
        { role: 'system', content: SYSTEM },
        { role: 'user', content: 'Hi.' },
        { role: 'user', content: 'Are you there?' },
      ]);
    } else {
      // The simulator rejects non-alternating roles with a 400 like the real API, so DONE alone proves the merge.
      expect(seen?.messages).toEqual([{ role: 'user', content: 'Hi.\nAre you there?' }]);
    }
  });

  it('reports end_call with its reason after the text that precedes it', async () => {
    const goodbye = 'Thanks for calling. Goodbye!';
    use({ when: 'bye', text: goodbye, toolCall: { name: 'end_call', args: { reason: 'caller said goodbye' } } });
    const t = turn(conversation('Okay, bye.'));
    await t.settled();
    expect(textOf(t.events)).toBe(goodbye);
    const types = typesOf(t.events);
    const toolIndex = types.indexOf('LLM.TOOL_CALL');
    expect(toolIndex).toBeGreaterThan(types.lastIndexOf('LLM.TEXT'));
    expect(t.events[toolIndex]).toMatchObject({ name: 'end_call', args: { reason: 'caller said goodbye' } });
    expect(types.filter((x) => x === 'LLM.TOOL_CALL')).toHaveLength(1);
    expect(types.at(-1)).toBe('LLM.DONE');
  });

  it('reports transfer_call {to} whose arguments arrived in fragments', async () => {
    use({ when: 'human', toolCall: { name: 'transfer_call', args: { to: '+15551234567' } } });
    const t = turn(conversation('Let me talk to a human please.'));
    await t.settled();
    expect(typesOf(t.events)).toEqual(['LLM.TOOL_CALL', 'LLM.DONE']);
    expect(t.events[0]).toMatchObject({ type: 'LLM.TOOL_CALL', name: 'transfer_call', args: { to: '+15551234567' } });
  });

  it('a stream that goes quiet mid-reply is aborted at once and reported as a stall', async () => {
    // Two tokens, then the next one would take 20 s: the actor gives up 300 ms after the last one.
    use({ text: 'Well, let me see about that for you.', tokensPerSecond: 0.05, firstTokenMs: 10 });
    const aborted = onceEvent<{ provider: string; tokensSent: number }>(sim, 'abort');
    const t = turn(conversation('Hello?'), client, 300);
    await t.settled();
    expect(typesOf(t.events)).toContain('LLM.TEXT');
    const error = t.events.at(-1);
    expect(error).toMatchObject({ type: 'LLM.ERROR', message: expect.stringContaining('stalled: nothing for 300 ms') });
    // The HTTP stream was aborted when the stall was seen, not left to run.
    expect((await aborted).provider).toBe(provider);
    expect(typesOf(t.events).filter((type) => type === 'LLM.ERROR')).toHaveLength(1);
  });

  it('forwards every tool call with its id, known or not (the machine answers unknown names)', async () => {
    use({ text: 'Let me check.', toolCall: { name: 'book_table', args: { people: 2 } } });
    const t = turn(conversation('Book a table.'));
    await t.settled();
    const call = t.events.find((e) => e.type === 'LLM.TOOL_CALL');
    expect(call).toMatchObject({ name: 'book_table', args: { people: 2 } });
    expect(String((call as { id?: unknown } | undefined)?.id)).toMatch(/^(call_|toolu_)/);
    expect(typesOf(t.events).at(-1)).toBe('LLM.DONE');
  });

  it('turns tool arguments that are not valid JSON into {} with a warning', async () => {
    use({ toolCall: { name: 'end_call', args: {}, rawArguments: '{"reason": "caller hung' } });
    const t = turn(conversation('Bye.'));
    await t.settled();
    expect(t.events[0]).toMatchObject({ type: 'LLM.TOOL_CALL', name: 'end_call', args: {}, argsError: expect.stringContaining('not valid JSON') });
    expect(t.logs.some((l) => l.level === 'warn' && String(l.message).includes('not valid JSON'))).toBe(true);
  });

  it('stopping the actor mid-stream aborts the HTTP request; the abort is not reported as an error', async () => {
    use({ text: LONG_TEXT, tokensPerSecond: 20 });
    const aborted = onceEvent<{ provider: string; tokensSent: number }>(sim, 'abort');
    const t = turn(conversation('Tell me a long story.'));
    await t.waitFor((evs) => evs.some((e) => e.type === 'LLM.TEXT'), 'first LLM.TEXT');
    t.stop();
    const abort = await aborted;
    expect(abort.provider).toBe(provider);
    expect(abort.tokensSent).toBeGreaterThan(0);
    expect(abort.tokensSent).toBeLessThan(LONG_TEXT.split(' ').length);
    expect(sim.stats).toMatchObject({ aborts: 1, completed: 0 });
    await new Promise((r) => setTimeout(r, 100)); // let any stray report surface
    expect(typesOf(t.events)).not.toContain('LLM.ERROR');
    expect(typesOf(t.events)).not.toContain('LLM.DONE');
    expect(errorLogs(t.logs)).toEqual([]);
    expect(t.parentErrors).toEqual([]);
  });

  it('stopping before the first token also cancels the request quietly', async () => {
    use({ text: 'Too late.', firstTokenMs: 5_000 });
    const aborted = onceEvent<{ tokensSent: number }>(sim, 'abort');
    const t = turn(conversation('Hello?'));
    await until(() => sim.requests.length === 1, 'the simulator to receive the request');
    t.stop();
    expect((await aborted).tokensSent).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.events).toEqual([]);
    expect(errorLogs(t.logs)).toEqual([]);
  });

  it('stopping right after the start (request still in flight) reports nothing', async () => {
    use({ text: 'Too late.', firstTokenMs: 5_000 });
    const t = turn(conversation('Hello?'));
    t.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(t.events).toEqual([]);
    expect(errorLogs(t.logs)).toEqual([]);
    expect(sim.stats.completed).toBe(0);
  });

  it('an HTTP 500 becomes LLM.ERROR', async () => {
    use({ error: { status: 500, message: 'The server had an error' } });
    const t = turn(conversation('Hello?'));
    await t.settled();
    expect(typesOf(t.events)).toEqual(['LLM.ERROR']);
    expect(String(t.events[0]?.['message'])).toMatch(new RegExp(`^${provider}: HTTP 500 .*The server had an error`));
    expect(sim.stats.requests).toBe(1); // maxRetries defaults to 0: no retry
  });

  it('a rejected API key (401) becomes LLM.ERROR', async () => {
    const t = turn(conversation('Hello?'), clientFor('wrong-key'));
    await t.settled();
    expect(typesOf(t.events)).toEqual(['LLM.ERROR']);
    expect(String(t.events[0]?.['message'])).toContain('HTTP 401');
  });

  it("a provider error event mid-stream becomes LLM.ERROR after the text so far", async () => {
    use({ text: LONG_TEXT, failMidStream: 'error-event' });
    const t = turn(conversation('Hello?'));
    await t.settled();
    const types = typesOf(t.events);
    expect(types).toContain('LLM.TEXT');
    expect(types.at(-1)).toBe('LLM.ERROR');
    expect(types).not.toContain('LLM.DONE');
    expect(String(t.events.at(-1)?.['message'])).toContain(provider === 'openai' ? 'server_error' : 'overloaded_error');
    expect(LONG_TEXT.startsWith(textOf(t.events))).toBe(true);
    expect(textOf(t.events).length).toBeLessThan(LONG_TEXT.length);
  });

  it('a connection dropped mid-stream becomes LLM.ERROR', async () => {
    use({ text: LONG_TEXT, failMidStream: 'disconnect' });
    const t = turn(conversation('Hello?'));
    await t.settled();
    expect(String(t.events.at(-1)?.['message'])).toContain('terminated');
    const types = typesOf(t.events);
    expect(types).toContain('LLM.TEXT');
    expect(types.at(-1)).toBe('LLM.ERROR');
    expect(types).not.toContain('LLM.DONE');
  });

  it('a stream that ends without the end marker becomes LLM.ERROR, not LLM.DONE', async () => {
    use({ text: LONG_TEXT, failMidStream: 'truncate' });
    const t = turn(conversation('Hello?'));
    await t.settled();
    expect(typesOf(t.events)).toContain('LLM.TEXT');
    expect(typesOf(t.events).at(-1)).toBe('LLM.ERROR');
    expect(String(t.events.at(-1)?.['message'])).toMatch(/ended before/);
  });

  it('an unreachable server becomes LLM.ERROR', async () => {
    const deadClient = clientFor();
    await sim.close();
    sim = await startLlmSimulator(); // afterEach closes this one
    const t = turn(conversation('Hello?'), deadClient);
    await t.settled();
    expect(typesOf(t.events)).toEqual(['LLM.ERROR']);
    expect(String(t.events[0]?.['message'])).toMatch(/connection|ECONNREFUSED|fetch failed/i);
  });

  it('the client stream ends quietly, without done, when its signal aborts', async () => {
    use({ text: LONG_TEXT, tokensPerSecond: 20 });
    const controller = new AbortController();
    const seen: LlmStreamEvent[] = [];
    for await (const event of client.stream({ messages: conversation('Go on.'), tools: [] }, controller.signal)) {
      seen.push(event);
      if (seen.length === 2) controller.abort();
    }
    expect(seen).toHaveLength(2);
    expect(seen.every((e) => e.type === 'text')).toBe(true);
  });
});
