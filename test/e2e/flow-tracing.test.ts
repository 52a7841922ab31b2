/**
 * Traces of a flow agent's call: each turn span and each tool span names the flow step it ran in
 * (`voice.flow.step`), and the call span has a `voice.flow.step` event for every step the flow entered (the step,
 * the one before, the event that moved it, the turn). One call of the dental-flow example through the real server,
 * exported over OTLP/HTTP JSON (configured as `npm start` reads it) to a receiver this test runs. An agent without a
 * flow gets none of this (test/e2e/tracing.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dentalFlow from '../../agents/dental-flow.js';
import { callTracingFromEnv, type CallTracing } from '../../src/telemetry/call-tracing.js';
import { call, eventually, startStack, type E2eStack } from './harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { dentalFlowBooking, dentalFlowModel } from '../../src/harness/dental-flow-call.js';

describe('traces of a flow agent\'s call', () => {
  let receiver: OtlpReceiver;
  let tracing: CallTracing | undefined;
  let stack: E2eStack;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = await callTracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, ['openai:gpt-4o-mini']);
    stack = await startStack({
      agent: dentalFlow,
      tracing,
      simulators: { llm: { script: dentalFlowModel } },
    });
    // A first turn that stays in `identify`, then the booking.
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'I would like an appointment.' }, { waitForAgent: 'reply' }, ...dentalFlowBooking]);
    expect(record.errors).toEqual([]);
    await eventually(() => stack.events.some((e) => e.type === 'call.ended'), 'the call ended');
    await tracing?.shutdown(); // exports every span still batched
    spans = receiver.spans();
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  const attr = (span: ReceivedSpan | undefined, key: string): unknown => span?.attributes[key];

  it('names the step each turn ran in (the step its reply ended in, as the call record keeps it)', () => {
    const turns = spans.filter((s) => s.name === 'invoke_agent dental-flow').sort((a, b) => Number(attr(a, 'voice.turn')) - Number(attr(b, 'voice.turn')));
    // The tool that verified the patient moved the flow during the second turn, the booking during the third.
    expect(turns.map((s) => attr(s, 'voice.flow.step'))).toEqual(['identify', 'booking', 'done', 'done']);
  });

  it('names the step each tool was called in', () => {
    const step = (name: string) => attr(spans.find((s) => s.name === `execute_tool ${name}`), 'voice.flow.step');
    expect(step('verify_patient')).toBe('identify');
    expect(step('book')).toBe('booking');
  });

  it('has a span event on the call span for each step entered: the step, where from, the event, the turn', () => {
    const callSpan = spans.find((s) => s.name === 'call dental-flow');
    expect(callSpan?.events).toEqual([
      { name: 'voice.flow.step', attributes: { 'voice.flow.step': 'identify', 'voice.turn': 0 } },
      { name: 'voice.flow.step', attributes: { 'voice.flow.step': 'booking', 'voice.flow.previous_step': 'identify', 'voice.flow.event': 'VERIFIED', 'voice.turn': 2 } },
      { name: 'voice.flow.step', attributes: { 'voice.flow.step': 'done', 'voice.flow.previous_step': 'booking', 'voice.flow.event': 'BOOKED', 'voice.turn': 3 } },
    ]);
    // The step is the turn spans' and the events' business, not a call-wide attribute.
    expect(attr(callSpan, 'voice.flow.step')).toBeUndefined();
  });
});
