/**
 * The LLM simulator's tool rounds at the wire level: the exact SSE frames of a reply with several tool calls (raw,
 * read with fetch), the real SDKs' own accumulators and non-streaming bodies, how script entries are picked for a
 * request that ends with tool results, and the provider 400s for malformed tool conversations (real SDKs).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultToolReplyText, startLlmSimulator, type LlmSeen, type LlmSimulator } from '../../offline/llm.js';

type Json = Record<string, unknown>;

let sim: LlmSimulator;
beforeEach(async () => {
  sim = await startLlmSimulator({ firstTokenMs: 2, tokensPerSecond: 2000 });
});
afterEach(async () => {
  await sim.close();
});

const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: sim.openaiBaseUrl, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: sim.anthropicBaseUrl, maxRetries: 0 });

const WEATHER = { name: 'get_weather', args: { city: 'Zürich', unit: 'celsius' } };
const TIME = { name: 'get_time', args: { timezone: 'Europe/Zurich', format: '24h' } };

/** Parses an SSE body into `{event, data}` records (data JSON-parsed; `[DONE]` dropped). */
async function sse(path: string, headers: Record<string, string>, body: unknown): Promise<Array<{ event: string | undefined; data: Json }>> {
  const res = await fetch(`http://127.0.0.1:${sim.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.includes('data: [DONE]'))
    .map((block) => {
      const lines = block.split('\n');
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { event: lines.find((l) => l.startsWith('event: '))?.slice(7), data: JSON.parse(data) as Json };
    });
}
const openAiSse = (body: Json) => sse('/v1/chat/completions', { authorization: 'Bearer sk-test' }, { model: 'gpt-4o-mini', stream: true, ...body });
const anthropicSse = (body: Json) =>
  sse('/v1/messages', { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' }, { model: 'claude-test', max_tokens: 200, stream: true, ...body });

describe('OpenAI frames for several tool calls', () => {
  it('text first, then each call: id/type/name in its first fragment, arguments in small pieces, index 0..n in order', async () => {
    sim.script.push({ text: 'Checking both.', toolCalls: [WEATHER, TIME] });
    const chunks = (await openAiSse({ messages: [{ role: 'user', content: 'weather and time?' }] })).map((c) => c.data);
    const deltas = chunks.flatMap((c) => c['choices'] as Json[]);
    const order = deltas.flatMap((d) => {
      const delta = d['delta'] as Json;
      return [...(typeof delta['content'] === 'string' && delta['content'] !== '' ? ['text'] : []), ...((delta['tool_calls'] as Json[] | undefined) ?? []).map((f) => `call${String(f['index'])}`)];
    });
    // Never interleaved: all text, then all of call 0, then all of call 1.
    expect(order.filter((s, i) => s !== order[i - 1])).toEqual(['text', 'call0', 'call1']);
    const fragments = deltas.flatMap((d) => ((d['delta'] as Json)['tool_calls'] as Json[] | undefined) ?? []);
    for (const [index, call] of [WEATHER, TIME].entries()) {
      const own = fragments.filter((f) => f['index'] === index);
      expect(own[0]).toMatchObject({ index, type: 'function', function: { name: call.name, arguments: '' } });
      expect(String(own[0]?.['id'])).toMatch(/^call_/);
      expect(own.slice(1).every((f) => !('id' in f) && !('type' in f) && !('name' in (f['function'] as Json)))).toBe(true);
      expect(own.length).toBeGreaterThan(3);
      expect(own.map((f) => (f['function'] as Json)['arguments']).join('')).toBe(JSON.stringify(call.args));
    }
    expect(new Set(fragments.filter((f) => 'id' in f).map((f) => f['id'])).size).toBe(2);
    expect(deltas.map((d) => d['finish_reason']).filter((r) => r !== null)).toEqual(['tool_calls']);
  });

  it('a reply of calls only: the role chunk carries content null and the first call', async () => {
    sim.script.push({ toolCalls: [WEATHER, TIME] });
    const chunks = (await openAiSse({ messages: [{ role: 'user', content: 'weather and time?' }] })).map((c) => c.data);
    const first = (chunks[0]?.['choices'] as Json[])[0]?.['delta'];
    expect(first).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } }] });
    expect(chunks.some((c) => typeof ((c['choices'] as Json[])[0]?.['delta'] as Json | undefined)?.['content'] === 'string')).toBe(false);
  });

  it("satisfies the SDK's accumulator and answers stream:false with every call", async () => {
    sim.script.push({ text: 'Checking both.', toolCalls: [WEATHER, TIME], once: true }, { text: 'Checking both.', toolCalls: [WEATHER, { ...TIME, id: 'call_fixed' }] });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'weather and time?' }] };
    const streamed = await openai().chat.completions.stream(params).finalChatCompletion();
    const plain = await openai().chat.completions.create(params);
    for (const completion of [streamed, plain]) {
      expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
      expect(completion.choices[0]?.message.content).toBe('Checking both.');
      const calls = completion.choices[0]?.message.tool_calls ?? [];
      expect(calls.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : []))).toEqual([
        [WEATHER.name, WEATHER.args],
        [TIME.name, TIME.args],
      ]);
    }
    expect(plain.choices[0]?.message.tool_calls?.[1]?.id).toBe('call_fixed');
  });
});

describe('Anthropic frames for several tool calls', () => {
  it('one tool_use block per call: start with input {}, input_json_delta fragments, stop; stop_reason tool_use', async () => {
    sim.script.push({ text: 'Checking both.', toolCalls: [WEATHER, TIME] });
    const events = await anthropicSse({ messages: [{ role: 'user', content: 'weather and time?' }] });
    expect(events.every((e) => e.event === e.data['type'])).toBe(true);
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => [e.data['index'], e.data['content_block']]);
    expect(starts.map(([index, block]) => [index, (block as Json)['type']])).toEqual([
      [0, 'text'],
      [1, 'tool_use'],
      [2, 'tool_use'],
    ]);
    for (const [position, call] of [WEATHER, TIME].entries()) {
      const index = position + 1;
      const block = starts[index]?.[1] as Json;
      expect(block).toMatchObject({ type: 'tool_use', name: call.name, input: {} });
      expect(String(block['id'])).toMatch(/^toolu_/);
      const at = (type: string) => events.findIndex((e) => e.event === type && e.data['index'] === index);
      const own = events.filter((e) => e.event === 'content_block_delta' && e.data['index'] === index).map((e) => e.data['delta'] as Json);
      expect(own.every((d) => d['type'] === 'input_json_delta')).toBe(true);
      expect(own.filter((d) => d['partial_json'] !== '').length).toBeGreaterThan(3);
      expect(own.map((d) => d['partial_json']).join('')).toBe(JSON.stringify(call.args));
      // Blocks do not overlap: this one stops before the next one starts.
      const nextStart = events.findIndex((e) => e.event === 'content_block_start' && e.data['index'] === index + 1);
      expect(at('content_block_stop')).toBeGreaterThan(at('content_block_start'));
      if (nextStart >= 0) expect(at('content_block_stop')).toBeLessThan(nextStart);
    }
    expect(events.find((e) => e.event === 'message_delta')?.data).toMatchObject({ delta: { stop_reason: 'tool_use' } });
    expect(events.at(-1)?.event).toBe('message_stop');
  });

  it("satisfies the SDK's MessageStream and answers stream:false with every call", async () => {
    sim.script.push({ toolCalls: [WEATHER, TIME], once: true }, { toolCalls: [WEATHER, { ...TIME, id: 'toolu_fixed' }] });
    const params = { model: 'claude-test', max_tokens: 200, messages: [{ role: 'user' as const, content: 'weather and time?' }] };
    const streamed = await anthropic().messages.stream(params).finalMessage();
    const plain = await anthropic().messages.create(params);
    for (const message of [streamed, plain]) {
      expect(message.stop_reason).toBe('tool_use');
      expect(message.content.map((b) => (b.type === 'tool_use' ? [b.name, b.input] : [b.type]))).toEqual([
        [WEATHER.name, WEATHER.args],
        [TIME.name, TIME.args],
      ]);
    }
    expect(plain.content[1]).toMatchObject({ type: 'tool_use', id: 'toolu_fixed' });
  });
});

describe('script entries after a tool round', () => {
  /** An OpenAI conversation that ends with the results of `get_weather` (and optionally caller words after). */
  const weatherRound = (after: Json[] = []) => [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is the weather in Zürich?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Zürich"}' } }] },
    { role: 'tool', tool_call_id: 'call_w', content: 'sunny, 21 degrees' },
    ...after,
  ];
  const reply = async (messages: unknown[]) => {
    const completion = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: messages as OpenAI.ChatCompletionMessageParam[] });
    return completion.choices[0]?.message.content;
  };

  it('entries without afterTool never answer a tool round; afterTool picks by tool name (string exact, RegExp)', async () => {
    sim.script.push(
      { text: 'Catch-all for the caller.' },
      { afterTool: 'get_weather_v2', text: 'Wrong tool.' },
      { afterTool: /^get_/, when: 'nothing like this', text: 'Wrong words.' },
      { afterTool: /^get_w/, when: 'weather', text: 'It is sunny.', once: true },
    );
    expect(await reply(weatherRound())).toBe('It is sunny.');
    // The matching entry was used once; with none left the scripted model echoes the result.
    expect(await reply(weatherRound())).toBe('Here is what I found: sunny, 21 degrees.');
    expect(await reply([{ role: 'user', content: 'Hi' }])).toBe('Catch-all for the caller.');
    expect(sim.requests.map((r) => r.toolResults.map((t) => t.name))).toEqual([['get_weather'], ['get_weather'], []]);
  });

  it('text as a function sees the caller words and the results; caller words after the results end the round', async () => {
    const seen: LlmSeen[] = [];
    sim.script.push(
      { afterTool: 'get_weather', text: (s) => (seen.push(s), `In Zürich: ${s.toolResults[0]?.content ?? ''}.`) },
      { when: 'umbrella', text: 'No umbrella needed.' },
    );
    expect(await reply(weatherRound())).toBe('In Zürich: sunny, 21 degrees.');
    expect(seen).toEqual([
      {
        lastUserText: 'What is the weather in Zürich?',
        toolResults: [{ id: 'call_w', name: 'get_weather', content: 'sunny, 21 degrees', isError: false }],
        toolNames: expect.any(Array), // the tools the request offered (the generic offline model names them)
      },
    ]);
    expect(await reply(weatherRound([{ role: 'user', content: 'Do I need an umbrella?' }]))).toBe('No umbrella needed.');
    expect(sim.requests[1]?.toolResults).toEqual([]);
  });

  it('Anthropic: the caller words skip the tool_result message; names come from the tool_use; is_error is kept', async () => {
    const message = await anthropic().messages.create({
      model: 'claude-test',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Weather and time in Zürich?' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_w', name: 'get_weather', input: { city: 'Zürich' } },
            { type: 'tool_use', id: 'toolu_t', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_w', content: [{ type: 'text', text: 'sunny' }] },
            { type: 'tool_result', tool_use_id: 'toolu_t', content: 'clock unavailable', is_error: true },
          ],
        },
      ],
    });
    const results = [
      { id: 'toolu_w', name: 'get_weather', content: 'sunny', isError: false },
      { id: 'toolu_t', name: 'get_time', content: 'clock unavailable', isError: true },
    ];
    expect(sim.requests[0]).toMatchObject({ lastUserText: 'Weather and time in Zürich?', toolResults: results });
    expect(message.content).toEqual([{ type: 'text', text: 'Here is what I found: sunny; clock unavailable.' }]);
    expect(defaultToolReplyText(results)).toBe('Here is what I found: sunny; clock unavailable.');
  });
});

describe('malformed tool conversations (real SDKs, the providers’ 400s)', () => {
  it('OpenAI: a tool message that follows no tool_calls message', async () => {
    const error = await openai()
      .chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'tool', tool_call_id: 'call_x', content: 'orphan' },
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toEqual({
      message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
      type: 'invalid_request_error',
      param: 'messages.[2].role',
      code: null,
    });
  });

  it('OpenAI: a conversation that ends with unanswered tool_calls', async () => {
    const error = await openai()
      .chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_time', arguments: '{}' } }, { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_a', content: 'noon' },
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, param: 'messages.[1].role' });
    expect((error as Error).message).toContain('The following tool_call_ids did not have response messages: call_b');
  });

  it('Anthropic: tool results that do not come first in their user message', async () => {
    const error = await anthropic()
      .messages.create({
        model: 'claude-test',
        max_tokens: 50,
        messages: [
          { role: 'user', content: 'Time?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_t', name: 'get_time', input: {} }] },
          { role: 'user', content: [{ type: 'text', text: 'Here you go:' }, { type: 'tool_result', tool_use_id: 'toolu_t', content: 'noon' }] },
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message:
          'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_t. ' +
          'Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
      },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(sim.stats.rejected).toBe(1);
  });
});
