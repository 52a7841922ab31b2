/**
 * OpenTelemetry traces of a call, from the span tree down to each attribute: a scripted call through the real
 * server (a tool that calls a backend, then a long reply cut by a barge-in) traced into an InMemorySpanExporter; and
 * once end to end through `createPhoneServer` with the standard OTEL_* variables, exporting OTLP/HTTP JSON to a
 * receiver this test runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { defineAgent, tool } from '../../src/agent/agent.js';
import { createPhoneServer } from '../../src/api/phone-server.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { startTracing } from '../../src/telemetry/otel-sdk.js';
import { callTracing } from '../../src/telemetry/call-tracing.js';
import { call, eventually, startStack, type E2eStack } from './harness.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

/** A backend the tool calls: it keeps the traceparent each request carried. */
async function startBackend(): Promise<{ url: string; traceparents: Array<string | undefined>; close(): Promise<void> }> {
  const traceparents: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    traceparents.push(req.headers['traceparent'] as string | undefined);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'on its way' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    traceparents,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function agentCalling(backendUrl: string) {
  return defineAgent({
    name: 'shop',
    systemPrompt: 'You are a shop on the phone.',
    greeting: 'Hello, this is the shop.',
    tools: {
      check_order: tool({
        description: 'Look an order up.',
        parameters: z.object({ order_number: z.string() }),
        async execute({ order_number }, { signal, traceHeaders }) {
          const res = await fetch(`${backendUrl}/orders/${order_number}`, { signal, headers: traceHeaders() });
          return res.json();
        },
      }),
    },
  });
}

const attr = (span: ReadableSpan, key: string): unknown => span.attributes[key];

describe('traces of a call (InMemorySpanExporter)', () => {
  const exporter = new InMemorySpanExporter();
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let stack: E2eStack;
  let spans: ReadableSpan[];
  let callSid: string;

  beforeAll(async () => {
    backend = await startBackend();
    const tracing = await startTracing(exporter, { batch: false });
    stack = await startStack({
      agent: agentCalling(backend.url),
      tracing: callTracing(tracing, { env: {}, llmLabels: ['openai:gpt-4o-mini'] }),
      simulators: {
        llm: {
          script: [
            { when: /order 4271/, text: 'Let me check.', toolCall: { name: 'check_order', args: { order_number: '4271' } } },
            { afterTool: 'check_order', text: 'It is on its way.' },
            { when: /stop/i, text: 'Sure.' },
            { when: /long story/i, text: 'Once upon a time there was a shop. ' + 'It sold pasta makers and espresso cups to everyone in town. '.repeat(6) },
          ],
        },
      },
    });
    const record = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'Where is my order 4271?' },
      { waitForAgent: 'reply' },
      { say: 'Tell me a long story.' },
      { bargeIn: 'Stop that please.', afterMs: 500 },
      { waitForAgent: 'reply' },
      { pause: 1500 }, // the reply plays out (its mark comes back) before the caller hangs up
      { hangup: true },
    ]);
    expect(record.clears).toBeGreaterThanOrEqual(1);
    await eventually(() => exporter.getFinishedSpans().some((s) => s.name === 'call shop'), 'the call span ended');
    spans = exporter.getFinishedSpans();
    callSid = record.callSid;
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await backend?.close();
  });

  const turns = () => spans.filter((s) => s.name === 'invoke_agent shop').sort((a, b) => Number(attr(a, 'voice.turn')) - Number(attr(b, 'voice.turn')));
  const childrenOf = (parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

  it('has one call span, every span in its trace, with the CallSid as the conversation id', () => {
    const root = spans.filter((s) => s.name === 'call shop');
    expect(root).toHaveLength(1);
    const callSpan = root[0]!;
    expect(callSpan.parentSpanContext).toBeUndefined();
    expect(callSpan.kind).toBe(1); // SERVER
    expect(attr(callSpan, 'gen_ai.agent.name')).toBe('shop');
    expect(attr(callSpan, 'voice.call.end_reason')).toEqual(expect.any(String));
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(callSpan.spanContext().traceId);
      expect(attr(span, 'gen_ai.conversation.id')).toBe(callSid);
    }
  });

  it('has an invoke_agent span per caller turn under the call, ended completed or interrupted', () => {
    const callSpan = spans.find((s) => s.name === 'call shop')!;
    const [order, story, stop] = turns();
    expect(turns()).toHaveLength(3);
    for (const turn of turns()) {
      expect(turn.parentSpanContext?.spanId).toBe(callSpan.spanContext().spanId);
      expect(attr(turn, 'gen_ai.operation.name')).toBe('invoke_agent');
      expect(attr(turn, 'gen_ai.agent.name')).toBe('shop');
      expect(attr(turn, 'gen_ai.provider.name')).toBe('openai');
    }
    expect(attr(order!, 'gen_ai.agent.invocation.end_reason')).toBe('completed');
    expect(attr(story!, 'gen_ai.agent.invocation.end_reason')).toBe('interrupted');
    expect(attr(story!, 'voice.barge_in.during')).toBe('reply');
    expect(attr(stop!, 'gen_ai.agent.invocation.end_reason')).toBe('completed');
    // The latency parts the records keep, as attributes.
    for (const key of ['end_of_speech_to_llm_request_ms', 'llm_request_to_first_text_ms', 'first_text_to_tts_audio_ms', 'tts_audio_to_twilio_ms', 'total_ms']) {
      expect(attr(order!, `voice.latency.${key}`)).toEqual(expect.any(Number));
    }
    expect(attr(order!, 'voice.latency.total_ms') as number).toBeGreaterThan(attr(order!, 'voice.latency.first_text_to_tts_audio_ms') as number);
  });

  it('puts speech_to_text, chat, execute_tool and text_to_speech under the turn', () => {
    const order = turns()[0]!;
    const names = childrenOf(order).map((s) => s.name).sort();
    expect(names).toEqual(['chat gpt-4o-mini', 'chat gpt-4o-mini', 'execute_tool check_order', 'speech_to_text', 'text_to_speech']);
    const stt = childrenOf(order).find((s) => s.name === 'speech_to_text')!;
    expect(attr(stt, 'gen_ai.operation.name')).toBe('speech_to_text');
    expect(attr(stt, 'voice.stt.words')).toBe(5);
    const tts = childrenOf(order).find((s) => s.name === 'text_to_speech')!;
    expect(attr(tts, 'gen_ai.operation.name')).toBe('text_to_speech');
  });

  it('describes each chat request: provider, model, first chunk, usage, finish reason', () => {
    const chats = childrenOf(turns()[0]!).filter((s) => s.name.startsWith('chat')).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(chats.map((c) => attr(c, 'gen_ai.response.finish_reasons'))).toEqual([['tool_calls'], ['stop']]);
    for (const chat of chats) {
      expect(chat.kind).toBe(2); // CLIENT
      expect(attr(chat, 'gen_ai.operation.name')).toBe('chat');
      expect(attr(chat, 'gen_ai.provider.name')).toBe('openai');
      expect(attr(chat, 'gen_ai.request.model')).toBe('gpt-4o-mini');
      expect(attr(chat, 'gen_ai.response.time_to_first_chunk')).toBeGreaterThan(0);
      expect(attr(chat, 'gen_ai.usage.input_tokens')).toBeGreaterThan(0);
      expect(attr(chat, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
      expect(attr(chat, 'voice.llm.fallback.attempt')).toBeUndefined();
    }
    expect(attr(chats[0]!, 'voice.llm.tool_calls')).toBe(1);
  });

  it('describes the tool call, and its backend request carried the tool span as traceparent', () => {
    const toolSpan = spans.find((s) => s.name === 'execute_tool check_order')!;
    expect(attr(toolSpan, 'gen_ai.operation.name')).toBe('execute_tool');
    expect(attr(toolSpan, 'gen_ai.tool.name')).toBe('check_order');
    expect(attr(toolSpan, 'gen_ai.tool.type')).toBe('function');
    const started = stack.events.find((e) => e.type === 'call.toolStarted');
    expect(started?.type === 'call.toolStarted' && started.id).toEqual(expect.any(String));
    expect(attr(toolSpan, 'gen_ai.tool.call.id')).toBe(started?.type === 'call.toolStarted' ? started.id : null);
    expect(attr(toolSpan, 'voice.tool.outcome')).toBe('ok');
    const { traceId, spanId } = toolSpan.spanContext();
    expect(backend.traceparents).toEqual([`00-${traceId}-${spanId}-01`]);
  });

  it('keeps message content out of the spans unless asked', () => {
    for (const span of spans) {
      for (const key of ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'voice.stt.transcript']) {
        expect(attr(span, key)).toBeUndefined();
      }
    }
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('4271');
  });

  it('has no flow step for an agent without a flow (test/e2e/flow-tracing.test.ts has one)', () => {
    for (const span of spans) {
      expect(Object.keys(span.attributes).filter((key) => key.startsWith('voice.flow.'))).toEqual([]);
      expect(span.events).toEqual([]);
    }
  });
});

describe('traces exported over OTLP/HTTP JSON, configured by the standard variables', () => {
  let receiver: OtlpReceiver;
  const saved = { ...process.env };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    process.env = saved;
    await receiver?.close();
  });

  it('sends the call, its turns and their content to the collector', async () => {
    // The SDK reads the batch processor's settings from the process environment.
    Object.assign(process.env, { OTEL_BSP_SCHEDULE_DELAY: '50' });
    const phone = await createPhoneServer({
      agent: defineAgent({ name: 'desk', systemPrompt: 'Be brief.', greeting: 'Hello from the desk.' }),
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        CALL_RECORDS: 'off',
        LOG_LEVEL: 'error',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'phone-test',
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
      },
    });
    try {
      const record = await placeSimulatedCall({
        serverUrl: phone.server.localUrl,
        authToken: phone.config.twilioAuthToken,
        script: [{ waitForAgent: 'reply' }, { say: 'What are your hours?' }, { waitForAgent: 'reply' }, { pause: 1500 }, { hangup: true }],
        maxDurationMs: 45_000,
      }).done;
      await eventually(() => receiver.spans().some((s) => s.name === 'call desk'), 'the call span at the collector', 15_000);
      const spans = receiver.spans();
      expect(receiver.contentTypes()).toContain('application/json');
      expect(receiver.serviceNames()).toEqual(['phone-test']);
      const turn = spans.find((s) => s.name === 'invoke_agent desk');
      expect(turn?.attributes['gen_ai.conversation.id']).toBe(record.callSid);
      expect(turn?.attributes['gen_ai.agent.invocation.end_reason']).toBe('completed');
      expect(JSON.parse(String(turn?.attributes['gen_ai.input.messages']))).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'What are your hours?' }] }]);
      expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['call desk', 'invoke_agent desk', 'speech_to_text', 'chat gpt-4o-mini', 'text_to_speech']));
      for (const span of spans) expect(span.attributes['gen_ai.conversation.id']).toBe(record.callSid);
    } finally {
      await phone.shutdown();
    }
  }, 90_000);
});
