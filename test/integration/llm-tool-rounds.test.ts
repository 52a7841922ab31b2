/**
 * Tool rounds end to end on the wire: the LLM client (`createLlmClient`, the real `openai` and `@anthropic-ai/sdk`)
 * against the LLM simulator over loopback, for each provider. A round's tool calls are fed back in the
 * provider-neutral form (assistant `toolCalls` + `role: 'tool'` results), the way the call machine does, and the
 * request bodies are checked against what each provider wants: ids matching between call and result, roles and
 * blocks, the JSON Schema made by `tool({ parameters: z.object(...) })` via `agentCallOptions`. The tools run
 * through the agent runtime's `runTool` (validated arguments, error results), so the contents are the real ones.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CALL_STARTED_USER_TEXT } from '../../actors/llm-anthropic.js';
import { createLlmClient, type LlmClient, type LlmProvider, type LlmStreamEvent } from '../../actors/llm-client.js';
import type { ChatMessage, LlmToolSpec, ToolCall } from '../../machines/events.js';
import { defaultCallOptions } from '../../machines/options.js';
import { defineAgent, tool, type CallInfo } from '../../src/agent/agent.js';
import { agentCallOptions, runTool } from '../../src/agent/agent-runtime.js';
import { startLlmSimulator, type LlmSimulator } from '../../offline/llm.js';

const SYSTEM = 'You are the front desk of a shop. Keep answers short.';
const GREETING = 'Hello, thanks for calling. How can I help?';
const CALLER = 'Where is my order A-42?';
const CALL: CallInfo = { callSid: 'CA-test', from: '+15550001111', to: '+15550002222', direction: 'inbound', customParameters: {} };

const ORDERS: Record<string, { status: string; eta: string }> = {
  'A-42': { status: 'shipped', eta: 'Monday' },
  'B-7 "gift" — ünïcode': { status: 'packed', eta: 'Friday' },
};
const lookupOrder = tool({
  description: 'Look up an order by its number.',
  parameters: z.object({ orderId: z.string().describe('The order number'), includeItems: z.boolean().optional() }),
  execute: ({ orderId }) => {
    const order = ORDERS[orderId];
    if (order === undefined) throw new Error(`No order ${orderId}`);
    return { orderId, ...order };
  },
});
const agent = defineAgent({ systemPrompt: SYSTEM, greeting: GREETING, tools: { lookup_order: lookupOrder } });
/** The tools exactly as the machine offers them (history.ts: name, description, parameters of each policy). */
const TOOLS: LlmToolSpec[] = agentCallOptions(agent, defaultCallOptions).tools.map(({ name, description, parameters }) => ({ name, description, parameters }));
/** What zod makes of the parameters: the schema both providers must receive, unchanged. */
const LOOKUP_SCHEMA = {
  type: 'object',
  properties: { orderId: { type: 'string', description: 'The order number' }, includeItems: { type: 'boolean' } },
  required: ['orderId'],
};

type ToolCallEvent = Extract<LlmStreamEvent, { type: 'tool_call' }>;

async function collect(client: LlmClient, messages: readonly ChatMessage[]): Promise<LlmStreamEvent[]> {
  const events: LlmStreamEvent[] = [];
  for await (const event of client.stream({ messages, tools: TOOLS }, new AbortController().signal)) events.push(event);
  return events;
}
const spoken = (events: readonly LlmStreamEvent[]): string => events.map((e) => (e.type === 'text' ? e.text : '')).join('');
const callsOf = (events: readonly LlmStreamEvent[]): ToolCallEvent[] => events.filter((e): e is ToolCallEvent => e.type === 'tool_call');

/** The assistant message of a round and one result per call, as the machine appends them to history. */
async function toolRound(events: readonly LlmStreamEvent[]): Promise<ChatMessage[]> {
  const calls: ToolCall[] = callsOf(events).map(({ id, name, args }) => ({ id, name, args }));
  const results = await Promise.all(calls.map((call) => runTool(lookupOrder, call, CALL, new AbortController().signal)));
  return [
    { role: 'assistant', content: spoken(events), toolCalls: calls },
    ...calls.map((call, i): ChatMessage => ({ role: 'tool', toolCallId: call.id, name: call.name, content: results[i]?.content ?? '', isError: !(results[i]?.ok ?? false) })),
  ];
}

const opening: ChatMessage[] = [
  { role: 'system', content: SYSTEM },
  { role: 'assistant', content: GREETING },
  { role: 'user', content: CALLER },
];

describe.each<LlmProvider>(['openai', 'anthropic'])('tool rounds on %s (real SDK ⇄ simulator)', (provider) => {
  let sim: LlmSimulator;
  let client: LlmClient;
  const callIdPattern = provider === 'openai' ? /^call_/ : /^toolu_/;
  /**
   * What the provider received after the conversation's opening: three messages on both wires (OpenAI: system,
   * greeting, caller; Anthropic: the picked-up line standing in for the system prompt's slot, greeting, caller).
   */
  const tail = (index: number): unknown[] => (sim.requests[index]?.messages ?? []).slice(opening.length);

  beforeEach(async () => {
    sim = await startLlmSimulator({ firstTokenMs: 2, tokensPerSecond: 2000, apiKey: 'test-key' });
    client = createLlmClient({
      provider,
      apiKey: 'test-key',
      baseURL: provider === 'openai' ? sim.openaiBaseUrl : sim.anthropicBaseUrl,
      model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-3-5-haiku-latest',
    });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('two rounds: "Let me check." + a call, then the reply speaks the value from the result', async () => {
    sim.script.push(
      { when: 'order', text: 'Let me check.', toolCall: { name: 'lookup_order', args: { orderId: 'A-42' } } },
      {
        afterTool: 'lookup_order',
        text: ({ toolResults }) => {
          const order = JSON.parse(toolResults[0]?.content ?? '{}') as { orderId: string; status: string; eta: string };
          return `Order ${order.orderId} has ${order.status} and arrives ${order.eta}.`;
        },
      },
    );
    const first = await collect(client, opening);
    expect(spoken(first)).toBe('Let me check.');
    const [call] = callsOf(first);
    expect(callsOf(first)).toHaveLength(1);
    expect(call).toMatchObject({ name: 'lookup_order', args: { orderId: 'A-42' } });
    expect(call?.id).toMatch(callIdPattern);
    // The provider's token count rides on the end (the traces' gen_ai.usage.*).
    expect(first.at(-1)).toEqual({ type: 'done', finishReason: provider === 'openai' ? 'tool_calls' : 'tool_use', usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } });

    // The tools on the wire: the zod-made schema, unchanged, in each provider's envelope.
    const offered = sim.requests[0];
    expect(offered?.toolNames).toEqual(['lookup_order', 'end_call']);
    expect(offered?.toolResults).toEqual([]);
    if (provider === 'openai') {
      expect(offered?.tools[0]).toEqual({ type: 'function', function: { name: 'lookup_order', description: 'Look up an order by its number.', parameters: LOOKUP_SCHEMA } });
    } else {
      expect(offered?.tools[0]).toEqual({ name: 'lookup_order', description: 'Look up an order by its number.', input_schema: LOOKUP_SCHEMA });
    }

    const round = await toolRound(first);
    const second = await collect(client, [...opening, ...round]);
    expect(spoken(second)).toBe('Order A-42 has shipped and arrives Monday.');
    expect(callsOf(second)).toEqual([]);
    expect(second.at(-1)).toEqual({ type: 'done', finishReason: provider === 'openai' ? 'stop' : 'end_turn', usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } });

    const content = JSON.stringify({ orderId: 'A-42', status: 'shipped', eta: 'Monday' });
    const fedBack = sim.requests[1];
    expect(fedBack?.lastUserText).toBe(CALLER);
    expect(fedBack?.toolResults).toEqual([{ id: call?.id, name: 'lookup_order', content, isError: false }]);
    if (provider === 'openai') {
      expect(tail(1)).toEqual([
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [{ id: call?.id, type: 'function', function: { name: 'lookup_order', arguments: '{"orderId":"A-42"}' } }],
        },
        { role: 'tool', tool_call_id: call?.id, content },
      ]);
    } else {
      expect(sim.requests[1]?.messages[0]).toEqual({ role: 'user', content: CALL_STARTED_USER_TEXT });
      expect(tail(1)).toEqual([
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: call?.id, name: 'lookup_order', input: { orderId: 'A-42' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call?.id, content }] },
      ]);
    }
  });

  it('two parallel calls in one reply, arguments reassembled from fragments, both answered in the next round', async () => {
    const firstArgs = { orderId: 'A-42', includeItems: true };
    const secondArgs = { orderId: 'B-7 "gift" — ünïcode' }; // quotes and non-ASCII split across fragments
    sim.script.push({ when: 'order', text: 'Checking both.', toolCalls: [{ name: 'lookup_order', args: firstArgs }, { name: 'lookup_order', args: secondArgs }] });
    const first = await collect(client, opening);
    expect(spoken(first)).toBe('Checking both.');
    const calls = callsOf(first);
    expect(calls.map((c) => c.args)).toEqual([firstArgs, secondArgs]);
    expect(calls.every((c) => c.name === 'lookup_order' && callIdPattern.test(c.id) && c.argsError === undefined)).toBe(true);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);

    const second = await collect(client, [...opening, ...(await toolRound(first))]);
    // No entry answers this round: the scripted model echoes what the tools found.
    const found = [JSON.stringify({ orderId: 'A-42', status: 'shipped', eta: 'Monday' }), JSON.stringify({ orderId: secondArgs.orderId, status: 'packed', eta: 'Friday' })];
    expect(spoken(second)).toBe(`Here is what I found: ${found[0]}; ${found[1]}.`);
    expect(sim.requests[1]?.toolResults.map((r) => [r.id, r.name, r.content])).toEqual(calls.map((c, i) => [c.id, 'lookup_order', found[i]]));
    if (provider === 'openai') {
      const [assistant, ...results] = tail(1) as Array<Record<string, unknown>>;
      expect(assistant?.['tool_calls']).toEqual(calls.map((c) => ({ id: c.id, type: 'function', function: { name: 'lookup_order', arguments: JSON.stringify(c.args) } })));
      expect(results).toEqual(calls.map((c, i) => ({ role: 'tool', tool_call_id: c.id, content: found[i] })));
    } else {
      // Anthropic: both results in ONE user message, in the order of the calls.
      expect(tail(1)).toEqual([
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Checking both.' }, ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: 'lookup_order', input: c.args }))],
        },
        { role: 'user', content: calls.map((c, i) => ({ type: 'tool_result', tool_use_id: c.id, content: found[i] })) },
      ]);
    }
  });

  it('a tool error round trip: the error result reaches the model (Anthropic is_error: true; OpenAI plain content)', async () => {
    sim.script.push(
      { when: 'order', toolCall: { name: 'lookup_order', args: { orderId: 'Z-0' } } },
      { afterTool: 'lookup_order', text: ({ toolResults }) => (toolResults.some((r) => r.isError || r.content.startsWith('{"error"')) ? 'Sorry, I could not find that order.' : 'Found it.') },
    );
    const first = await collect(client, opening);
    expect(spoken(first)).toBe('');
    const round = await toolRound(first);
    const errorContent = JSON.stringify({ error: 'No order Z-0' });
    expect(round[1]).toMatchObject({ role: 'tool', isError: true, content: errorContent });

    const second = await collect(client, [...opening, ...round]);
    expect(spoken(second)).toBe('Sorry, I could not find that order.');
    const [call] = callsOf(first);
    if (provider === 'openai') {
      // No error flag on OpenAI's wire: the content says it.
      expect(tail(1)).toEqual([
        { role: 'assistant', content: null, tool_calls: [{ id: call?.id, type: 'function', function: { name: 'lookup_order', arguments: '{"orderId":"Z-0"}' } }] },
        { role: 'tool', tool_call_id: call?.id, content: errorContent },
      ]);
      expect(sim.requests[1]?.toolResults).toEqual([{ id: call?.id, name: 'lookup_order', content: errorContent, isError: false }]);
    } else {
      expect(tail(1)).toEqual([
        { role: 'assistant', content: [{ type: 'tool_use', id: call?.id, name: 'lookup_order', input: { orderId: 'Z-0' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call?.id, content: errorContent, is_error: true }] },
      ]);
      expect(sim.requests[1]?.toolResults).toEqual([{ id: call?.id, name: 'lookup_order', content: errorContent, isError: true }]);
    }
  });

  it('refuses a result that answers no call with a 400 the SDK surfaces', async () => {
    const conversation: ChatMessage[] = [
      ...opening,
      { role: 'assistant', content: 'Let me check.', toolCalls: [{ id: 'call_real', name: 'lookup_order', args: { orderId: 'A-42' } }] },
      { role: 'tool', toolCallId: 'call_bogus', name: 'lookup_order', content: 'shipped', isError: false },
    ];
    const error = await collect(client, conversation).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (provider === 'openai') {
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({
        status: 400,
        type: 'invalid_request_error',
        param: 'messages.[4].tool_call_id',
        error: { message: "Invalid parameter: 'tool_call_id' of 'call_bogus' not found in 'tool_calls' of previous message." },
      });
    } else {
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      expect(error).toMatchObject({
        status: 400,
        error: {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            message:
              'messages.4.content.0: unexpected `tool_use_id` found in `tool_result` blocks: call_bogus. ' +
              'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
          },
        },
      });
    }
    expect(sim.stats.rejected).toBe(1);
    expect(sim.requests).toEqual([]);
  });

  it('refuses a call left without a result (the caller spoke next) with a 400 the SDK surfaces', async () => {
    const conversation: ChatMessage[] = [
      ...opening,
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_open', name: 'lookup_order', args: { orderId: 'A-42' } }] },
      { role: 'user', content: 'Hello?' },
    ];
    const error = await collect(client, conversation).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ status: 400 });
    const message = provider === 'openai'
      ? "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: call_open"
      : 'messages.3: `tool_use` ids were found without `tool_result` blocks immediately after: call_open. Each `tool_use` block must have a corresponding `tool_result` block in the next message.';
    expect(String((error as Error).message)).toContain(message);
    expect(sim.stats.rejected).toBe(1);
  });
});
