/**
 * The LLM simulator's wire format, checked two ways: raw SSE read with fetch (the exact frames), and the real SDKs'
 * own accumulating helpers (`chat.completions.stream().finalChatCompletion()`, `messages.stream().finalMessage()`),
 * which reject malformed streams. Also auth, scripts, observer events and close().
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLlmSimulator, type LlmSimulator } from '../../offline/llm.js';
import { defaultReplyText, tokenize } from '../../offline/llm-script.js';

type Json = Record<string, unknown>;

let sim: LlmSimulator;
beforeEach(async () => {
  sim = await startLlmSimulator({ firstTokenMs: 2, tokensPerSecond: 1000 });
});
afterEach(async () => {
  await sim.close();
});

const openai = (apiKey = 'sk-test') => new OpenAI({ apiKey, baseURL: sim.openaiBaseUrl, maxRetries: 0 });
const anthropic = (apiKey = 'sk-ant-test') => new Anthropic({ apiKey, baseURL: sim.anthropicBaseUrl, maxRetries: 0 });

/** Parses an SSE body into `{event, data}` records (data JSON-parsed unless `[DONE]`). */
function parseSse(body: string): Array<{ event: string | undefined; data: unknown }> {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { event, data: data === '[DONE]' ? data : (JSON.parse(data) as unknown) };
    });
}

async function post(path: string, headers: Record<string, string>, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${sim.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { res, text: await res.text() };
}

describe('OpenAI chat completions simulator', () => {
  it('streams chat.completion.chunk frames: role first, content, tool call fragments, finish_reason, usage, [DONE]', async () => {
    sim.script.push({ text: 'Transferring you now.', toolCall: { name: 'transfer_call', args: { to: '+15551234567' } } });
    const { res, text } = await post(
      '/v1/chat/completions',
      { authorization: 'Bearer sk-test' },
      { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'transfer me' }] },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = parseSse(text);
    expect(frames.at(-1)?.data).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((f) => f.data as Json);
    expect(chunks.every((c) => c['object'] === 'chat.completion.chunk' && c['model'] === 'gpt-4o-mini')).toBe(true);
    expect(new Set(chunks.map((c) => c['id'])).size).toBe(1);
    const deltas = chunks.map((c) => (c['choices'] as Json[])[0]).filter((c): c is Json => c !== undefined);
    expect(deltas[0]?.['delta']).toMatchObject({ role: 'assistant', content: '' });
    expect(deltas.slice(1).every((d) => !('role' in (d['delta'] as Json)))).toBe(true);
    const content = deltas.map((d) => (d['delta'] as Json)['content']).filter((c): c is string => typeof c === 'string');
    expect(content.join('')).toBe('Transferring you now.');
    const toolFragments = deltas.flatMap((d) => ((d['delta'] as Json)['tool_calls'] as Json[] | undefined) ?? []);
    expect(toolFragments[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'transfer_call', arguments: '' } });
    expect(String(toolFragments[0]?.['id'])).toMatch(/^call_/);
    expect(toolFragments.length).toBeGreaterThan(3); // the arguments come in several pieces
    expect(toolFragments.slice(1).every((f) => !('id' in f) && !('name' in (f['function'] as Json)))).toBe(true);
    expect(toolFragments.map((f) => (f['function'] as Json)['arguments']).join('')).toBe('{"to":"+15551234567"}');
    expect(deltas.map((d) => d['finish_reason']).filter((r) => r !== null)).toEqual(['tool_calls']);
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.['choices']).toEqual([]);
    expect(usageChunk?.['usage']).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
  });

  it("satisfies the SDK's own stream accumulator (ChatCompletionStream.finalChatCompletion)", async () => {
    sim.script.push({ when: /bye/i, text: 'Goodbye!', toolCall: { name: 'end_call', args: { reason: 'done' } } });
    const stream = openai().chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Bye now' }] });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBe('Goodbye!');
    expect(choice?.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'end_call', arguments: '{"reason":"done"}' } });
  });

  it('answers stream:false with a chat.completion and the default echo when no script matches', async () => {
    const completion = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What time is it?' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: defaultReplyText('What time is it?') });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('rejects a missing or wrong key with 401 in OpenAI error shape', async () => {
    await sim.close();
    sim = await startLlmSimulator({ apiKey: 'sk-right' });
    const err = await openai('sk-wrong').chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    const { res, text } = await post('/v1/chat/completions', {}, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(401);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining('API key') } });
    expect(sim.stats.rejected).toBe(2);
    expect(sim.requests).toEqual([]);
  });
});

describe('Anthropic messages simulator', () => {
  it('streams the documented event sequence, event names matching data types', async () => {
    sim.script.push({ text: 'One moment.', toolCall: { name: 'transfer_call', args: { to: '+15550001111' } } });
    const { res, text } = await post(
      '/v1/messages',
      { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
      { model: 'claude-test', max_tokens: 100, stream: true, system: 'Be brief.', messages: [{ role: 'user', content: 'Transfer me' }] },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = parseSse(text);
    expect(frames.every((f) => f.event === (f.data as Json)['type'])).toBe(true);
    const sequence = frames.map((f) => {
      const data = f.data as Json;
      const sub = (data['delta'] as Json | undefined)?.['type'] ?? (data['content_block'] as Json | undefined)?.['type'];
      return sub ? `${f.event}:${String(sub)}` : String(f.event);
    });
    const collapsed = sequence.filter((s, i) => s !== sequence[i - 1]);
    expect(collapsed).toEqual([
      'message_start',
      'content_block_start:text',
      'ping',
      'content_block_delta:text_delta',
      'content_block_stop',
      'content_block_start:tool_use',
      'content_block_delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = frames.map((f) => f.data as Json);
    expect(data[0]?.['message']).toMatchObject({ type: 'message', role: 'assistant', content: [], model: 'claude-test', stop_reason: null });
    const json = data
      .filter((d) => (d['delta'] as Json | undefined)?.['type'] === 'input_json_delta')
      .map((d) => (d['delta'] as Json)['partial_json']);
    expect(json.length).toBeGreaterThan(3);
    expect(json.join('')).toBe('{"to":"+15550001111"}');
    expect(data.find((d) => d['type'] === 'message_delta')).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: expect.any(Number) } });
    expect(sim.requests[0]).toMatchObject({ provider: 'anthropic', system: 'Be brief.', auth: 'x-api-key', anthropicVersion: '2023-06-01' });
  });

  it("satisfies the SDK's own MessageStream (finalMessage) and records how the SDK authenticates", async () => {
    sim.script.push({ text: 'Sure.', toolCall: { name: 'end_call', args: { reason: 'bye' } } });
    const final = await anthropic().messages.stream({ model: 'claude-test', max_tokens: 50, messages: [{ role: 'user', content: 'bye' }] }).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Sure.' });
    expect(final.content[1]).toMatchObject({ type: 'tool_use', name: 'end_call', input: { reason: 'bye' } });
    expect(sim.requests[0]?.anthropicVersion).toEqual(expect.any(String));
    expect(['bearer', 'x-api-key']).toContain(sim.requests[0]?.auth);
  });

  it('answers stream:false with a Message', async () => {
    const message = await anthropic().messages.create({ model: 'claude-test', max_tokens: 50, messages: [{ role: 'user', content: 'Hello there' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn' });
    expect(message.content).toEqual([{ type: 'text', text: defaultReplyText('Hello there') }]);
  });

  it('enforces the API rules: key, version header, user first, alternating roles', async () => {
    await sim.close();
    sim = await startLlmSimulator({ apiKey: 'sk-ant-right' });
    const bad = await anthropic('sk-ant-wrong').messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.AuthenticationError);
    const noKey = await post('/v1/messages', { 'anthropic-version': '2023-06-01' }, { model: 'm', max_tokens: 5, messages: [] });
    expect(noKey.res.status).toBe(401);
    expect(JSON.parse(noKey.text)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const noVersion = await post('/v1/messages', { 'x-api-key': 'sk-ant-right' }, { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(noVersion.res.status).toBe(400);
    const client = anthropic('sk-ant-right');
    const assistantFirst = await client.messages
      .create({ model: 'm', max_tokens: 5, messages: [{ role: 'assistant', content: 'Hi' }, { role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(assistantFirst).toBeInstanceOf(Anthropic.BadRequestError);
    const notAlternating = await client.messages
      .create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] })
      .catch((e: unknown) => e);
    expect(notAlternating).toBeInstanceOf(Anthropic.BadRequestError);
    expect(sim.stats.requests).toBe(5);
    expect(sim.stats.rejected).toBe(5);
  });
});

describe('LLM simulator behaviour', () => {
  it('picks the first matching script entry, consuming `once` entries, else echoes the caller', async () => {
    sim.script.push({ when: 'pizza', text: 'First pizza answer.', once: true }, { when: /pizza/, text: 'Later pizza answer.' });
    const ask = async (content: string) =>
      (await openai().chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] })).choices[0]?.message.content;
    expect(await ask('I want PIZZA')).toBe('First pizza answer.');
    expect(await ask('more pizza')).toBe('Later pizza answer.');
    expect(await ask('more pizza')).toBe('Later pizza answer.');
    expect(await ask('salad')).toBe('You said: "salad". Is there anything else?');
    expect(sim.script).toHaveLength(1);
  });

  it('answers a scripted HTTP error in the provider shape', async () => {
    sim.script.push({ error: { status: 529, message: 'Overloaded' } });
    const err = await anthropic().messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect(sim.stats.failed).toBe(1);
  });

  it('emits request → firstToken → done and counts completions', async () => {
    const seen: string[] = [];
    for (const name of ['request', 'firstToken', 'done', 'abort']) sim.observer.on(name, () => seen.push(name));
    await openai().chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
    expect(seen).toEqual(['request', 'firstToken', 'done']);
    expect(sim.stats).toMatchObject({ requests: 1, completed: 1, aborts: 0 });
  });

  it('close() ends replies in flight without counting them as client aborts', async () => {
    sim.script.push({ text: 'slow '.repeat(50), tokensPerSecond: 5 });
    const stream = await openai().chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const consumed = (async () => {
      for await (const chunk of stream) void chunk;
    })().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await sim.close();
    expect(await consumed).toBeInstanceOf(Error);
    expect(sim.stats.aborts).toBe(0);
  });

  it('tokenizes into words and punctuation whose concatenation is the text', () => {
    const text = 'Hello, world! It’s 9:30 — see you.';
    const tokens = tokenize(text);
    expect(tokens.join('')).toBe(text);
    expect(tokens.slice(0, 3)).toEqual(['Hello', ',', ' world']);
  });

  it('answers 404 for other paths', async () => {
    const { res } = await post('/v1/embeddings', { authorization: 'Bearer x' }, {});
    expect(res.status).toBe(404);
  });
});
