/**
 * One call's trace, built from what the call machine emits (machines/emitted.ts) and from its LLM requests (the
 * per-call LLM client is wrapped) — the machine itself knows nothing of tracing.
 *
 *   call {agent}                                  the whole call (TRANSPORT.START → call.ended)
 *   └─ invoke_agent {agent}                       one caller turn: end of speech → reply played, cut, or call over
 *      ├─ speech_to_text                          end of the caller's speech (STT) → the turn decided
 *      ├─ chat {model}                            each inference round (request → stream end)
 *      ├─ execute_tool {tool}                     each tool call of the turn
 *      └─ text_to_speech                          first reply text → first TTS audio
 *
 * Follows the OpenTelemetry GenAI semantic conventions (development status) as of semantic-conventions v1.41.1
 * (open-telemetry/semantic-conventions-genai, docs/gen-ai at 002c8a6). `gen_ai.agent.invocation.end_reason` and the
 * `voice.*` attributes are this project's own. An agent with a conversation flow (src/agent/flow.ts) adds
 * `voice.flow.step` (the active step) to its turn and tool spans, and a `voice.flow.step` span event on the call span
 * at each step it enters (the conventions name nothing for flows; agents without one get none of these). Message
 * content (transcripts, replies, tool arguments and results) only with
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: it is personal data.
 */
import { SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { LlmClient, LlmStreamEvent } from '../../actors/llm-types.js';
import type { CallEmitted, FlowStepEmitted, TurnEmitted } from '../../machines/emitted.js';
import { errorMessage } from '../../lib/logger.js';

export type EndReason = 'completed' | 'interrupted' | 'session_closed';

export interface CallTracerOptions {
  tracer: Tracer;
  agentName: string;
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true */
  captureContent: boolean;
  /** `provider:model` of the LLM chain, primary first: a request served by another one is a fallback. */
  llmLabels: readonly string[];
}

interface OpenTurn {
  readonly turn: number;
  readonly span: Span;
  readonly ctx: Context;
  readonly speechEndAt: number;
  /** Start of the turn's first LLM request (epoch ms). */
  llmRequestAt: number | null;
}

const now = (): number => performance.timeOrigin + performance.now();
const ms = (a: number | null, b: number | null): number | undefined => (a !== null && b !== null && b >= a ? Math.round((b - a) * 100) / 100 : undefined);

export class CallTracer {
  private callSpan: Span | undefined;
  private callCtx: Context = context.active();
  private conversationId = '';
  private current: OpenTurn | undefined;
  private readonly tools = new Map<string, { span: Span; ctx: Context }>();
  /** The flow's active step (null: the agent has no flow, or it has not reported its first step yet). */
  private flowStep: string | null = null;
  /** Steps entered before the call span started (the initial one: the flow starts with the machine). */
  private readonly earlySteps: FlowStepEmitted[] = [];

  constructor(private readonly opts: CallTracerOptions) {}

  /** Every event the call machine emits. */
  onEvent(e: CallEmitted): void {
    switch (e.type) {
      case 'call.started':
        return this.started(e.callSid, e.direction, e.at);
      case 'call.userUtterance':
        return this.turnStarted(e.turn, e.text, e.at ?? now());
      case 'call.toolStarted':
        return this.toolStarted(e.id, e.name, e.args, e.at);
      case 'call.toolFinished': {
        const open = this.tools.get(e.id) ?? (this.toolStarted(e.id, e.name, e.args, e.startedAt), this.tools.get(e.id));
        if (open === undefined) return;
        this.tools.delete(e.id);
        open.span.setAttribute('voice.tool.outcome', e.outcome);
        if (e.outcome === 'error') open.span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', 'tool_error');
        if (this.opts.captureContent && e.outcome !== 'cancelled') open.span.setAttribute('gen_ai.tool.call.result', e.content);
        open.span.end(e.at);
        return;
      }
      case 'call.bargeIn':
        this.current?.span.setAttributes({ 'voice.barge_in.during': e.during, 'voice.barge_in.at_ms': ms(this.current.speechEndAt, e.at) ?? 0 });
        return;
      case 'call.turn':
        return this.turnEnded(e);
      case 'call.error':
        if (!e.recoverable) (this.current?.span ?? this.callSpan)?.setStatus({ code: SpanStatusCode.ERROR, message: `${e.source} failed` }).setAttribute('error.type', e.source);
        return;
      case 'call.flowStep':
        return this.stepEntered(e);
      case 'call.ended':
        return this.ended(e.reason);
      default:
        return;
    }
  }

  /** `traceparent` (and `tracestate`) for a tool call's outgoing requests: its backend joins the trace. */
  traceHeaders(toolCallId: string): Record<string, string> {
    const carrier: Record<string, string> = {};
    const ctx = this.tools.get(toolCallId)?.ctx ?? this.current?.ctx ?? this.callCtx;
    propagation.inject(ctx, carrier);
    if (carrier['traceparent'] === undefined) {
      // No global propagator registered (the engine does not install one): W3C trace context by hand.
      const sc = trace.getSpanContext(ctx);
      if (sc !== undefined && trace.isSpanContextValid(sc)) carrier['traceparent'] = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`;
    }
    return carrier;
  }

  /** The call's LLM client, with a `chat {model}` span per request under the turn it answers. */
  wrapLlm(client: LlmClient): LlmClient {
    const streamTraced = this.streamTraced.bind(this);
    return {
      get provider() {
        return client.provider;
      },
      get model() {
        return client.model;
      },
      stream: (request, signal) => streamTraced(client, request, signal),
    };
  }

  private base(): Attributes {
    return { 'gen_ai.conversation.id': this.conversationId };
  }

  /** The active flow step, for the spans that run in it (nothing for an agent without a flow). */
  private step(): Attributes {
    return this.flowStep === null ? {} : { 'voice.flow.step': this.flowStep };
  }

  /**
   * The flow entered a step: a span event on the call span (the call's step timeline in one place), and the open
   * turn's `voice.flow.step` moves with it, so a turn span names the step its reply ended in (as the call record does).
   */
  private stepEntered(e: FlowStepEmitted): void {
    this.flowStep = e.step;
    this.current?.span.setAttributes(this.step());
    if (this.callSpan === undefined) this.earlySteps.push(e);
    else this.addStepEvent(this.callSpan, e, e.at);
  }

  private addStepEvent(span: Span, e: FlowStepEmitted, at: number): void {
    span.addEvent(
      'voice.flow.step',
      {
        'voice.flow.step': e.step,
        ...(e.from === null ? {} : { 'voice.flow.previous_step': e.from }),
        ...(e.event === null ? {} : { 'voice.flow.event': e.event }),
        'voice.turn': e.turn,
      },
      at,
    );
  }

  private started(callSid: string, direction: string, at: number): void {
    this.conversationId = callSid;
    this.callSpan = this.opts.tracer.startSpan(
      `call ${this.opts.agentName}`,
      { kind: SpanKind.SERVER, startTime: at, attributes: { ...this.base(), 'gen_ai.agent.name': this.opts.agentName, 'voice.call.direction': direction } },
      context.active(),
    );
    this.callCtx = trace.setSpan(context.active(), this.callSpan);
    // (at the call's start at the earliest: a span event before its span's start would read as clock skew)
    for (const step of this.earlySteps.splice(0)) this.addStepEvent(this.callSpan, step, Math.max(step.at, at));
  }

  private turnStarted(turn: number, text: string, at: number): void {
    // A turn the caller talked over before any reply (their words carry into this one) ends here.
    if (this.current !== undefined) this.endTurn('interrupted', now());
    const [provider] = (this.opts.llmLabels[0] ?? '').split(':');
    const span = this.opts.tracer.startSpan(
      `invoke_agent ${this.opts.agentName}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: at,
        attributes: {
          ...this.base(),
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': this.opts.agentName,
          ...(provider ? { 'gen_ai.provider.name': provider } : {}),
          'voice.turn': turn,
          ...this.step(),
          ...(this.opts.captureContent ? { 'gen_ai.input.messages': messages('user', text) } : {}),
        },
      },
      this.callCtx,
    );
    const ctx = trace.setSpan(this.callCtx, span);
    this.current = { turn, span, ctx, speechEndAt: at, llmRequestAt: null };
    const words = text.trim() === '' ? 0 : text.trim().split(/\s+/).length;
    this.opts.tracer
      .startSpan(
        'speech_to_text',
        {
          kind: SpanKind.INTERNAL,
          startTime: at,
          attributes: { ...this.base(), 'gen_ai.operation.name': 'speech_to_text', 'voice.stt.words': words, ...(this.opts.captureContent ? { 'voice.stt.transcript': text } : {}) },
        },
        ctx,
      )
      .end(Math.max(at, now()));
  }

  private turnEnded(e: TurnEmitted): void {
    const open = this.current;
    if (open === undefined || open.turn !== e.turn) return;
    const t = e.timestamps;
    if (t.llmFirstTextAt !== null && t.ttsFirstAudioAt !== null) {
      this.opts.tracer
        .startSpan('text_to_speech', { kind: SpanKind.CLIENT, startTime: t.llmFirstTextAt, attributes: { ...this.base(), 'gen_ai.operation.name': 'text_to_speech' } }, open.ctx)
        .end(t.ttsFirstAudioAt);
    }
    // The turn's latency parts, as the call records keep them (src/records/summary.ts).
    const parts: Record<string, number | undefined> = {
      'voice.latency.end_of_speech_to_llm_request_ms': ms(t.userSpeechEndAt, open.llmRequestAt),
      'voice.latency.llm_request_to_first_text_ms': ms(open.llmRequestAt, t.llmFirstTextAt),
      'voice.latency.first_text_to_tts_audio_ms': ms(t.llmFirstTextAt, t.ttsFirstAudioAt),
      'voice.latency.tts_audio_to_twilio_ms': ms(t.ttsFirstAudioAt, t.firstAudioToTwilioAt),
      'voice.latency.total_ms': ms(t.userSpeechEndAt, t.firstAudioToTwilioAt),
    };
    for (const [key, value] of Object.entries(parts)) if (value !== undefined) open.span.setAttribute(key, value);
    if (this.opts.captureContent) open.span.setAttribute('gen_ai.output.messages', messages('assistant', e.assistantText));
    this.endTurn(e.interrupted ? 'interrupted' : 'completed', now());
  }

  private endTurn(reason: EndReason, at: number): void {
    const open = this.current;
    if (open === undefined) return;
    this.current = undefined;
    open.span.setAttribute('gen_ai.agent.invocation.end_reason', reason);
    open.span.end(at);
  }

  private toolStarted(id: string, name: string, args: Readonly<Record<string, unknown>>, at: number): void {
    const parent = this.current?.ctx ?? this.callCtx;
    const span = this.opts.tracer.startSpan(
      `execute_tool ${name}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: at,
        attributes: {
          ...this.base(),
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': name,
          'gen_ai.tool.call.id': id,
          'gen_ai.tool.type': 'function',
          ...this.step(),
          ...(this.opts.captureContent ? { 'gen_ai.tool.call.arguments': JSON.stringify(args) } : {}),
        },
      },
      parent,
    );
    this.tools.set(id, { span, ctx: trace.setSpan(parent, span) });
  }

  private ended(reason: string): void {
    const at = now();
    for (const open of this.tools.values()) open.span.setAttribute('voice.tool.outcome', 'cancelled').end(at);
    this.tools.clear();
    this.endTurn('session_closed', at);
    this.callSpan?.setAttribute('voice.call.end_reason', reason).end(at);
    this.callSpan = undefined;
  }

  private async *streamTraced(client: LlmClient, request: Parameters<LlmClient['stream']>[0], signal: AbortSignal): AsyncGenerator<LlmStreamEvent> {
    // The machine emits the turn's start in the same step that starts its LLM: let that event land first.
    await Promise.resolve();
    const requested = { provider: client.provider, model: client.model };
    const [primaryProvider = requested.provider, primaryModel = requested.model] = (this.opts.llmLabels[0] ?? '').split(':');
    const startedAt = now();
    const turn = this.current;
    if (turn !== undefined && turn.llmRequestAt === null) turn.llmRequestAt = startedAt;
    const span = this.opts.tracer.startSpan(
      `chat ${primaryModel}`,
      {
        kind: SpanKind.CLIENT,
        startTime: startedAt,
        attributes: {
          ...this.base(),
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': primaryProvider,
          'gen_ai.request.model': primaryModel,
          'gen_ai.request.stream': true,
          ...(this.opts.captureContent ? { 'gen_ai.input.messages': JSON.stringify(request.messages) } : {}),
        },
      },
      turn?.ctx ?? this.callCtx,
    );
    let first = true;
    let finished = false;
    let failed = false;
    let text = '';
    const toolCalls: { id: string; name: string; arguments: Record<string, unknown> }[] = [];
    try {
      for await (const event of client.stream(request, signal)) {
        if (first) {
          first = false;
          span.setAttribute('gen_ai.response.time_to_first_chunk', (now() - startedAt) / 1000);
          this.servedBy(span, client);
        }
        if (event.type === 'text') text += this.opts.captureContent ? event.text : '';
        else if (event.type === 'tool_call') toolCalls.push({ id: event.id, name: event.name, arguments: event.args });
        else if (event.type === 'done') {
          finished = true;
          span.setAttribute('gen_ai.response.finish_reasons', [event.finishReason]);
          if (event.usage !== undefined) span.setAttributes({ 'gen_ai.usage.input_tokens': event.usage.inputTokens, 'gen_ai.usage.output_tokens': event.usage.outputTokens });
        }
        yield event;
      }
    } catch (err) {
      failed = true;
      this.servedBy(span, client);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
      span.setAttribute('error.type', err instanceof Error && err.name !== 'Error' ? err.name : '_OTHER');
      throw err;
    } finally {
      if (!finished && !failed) span.setAttribute('voice.llm.cancelled', true); // aborted: barge-in, caller speech, hang-up
      if (toolCalls.length > 0) span.setAttribute('voice.llm.tool_calls', toolCalls.length);
      if (this.opts.captureContent && finished) {
        span.setAttribute('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [...(text ? [{ type: 'text', content: text }] : []), ...toolCalls.map((c) => ({ type: 'tool_call', ...c }))] }]));
      }
      span.end();
    }
  }

  /** After a fallback the chain's view names the provider that answered. */
  private servedBy(span: Span, client: LlmClient): void {
    const label = `${client.provider}:${client.model}`;
    const attempt = this.opts.llmLabels.indexOf(label);
    if (attempt > 0) {
      span.updateName(`chat ${client.model}`);
      span.setAttributes({
        'gen_ai.provider.name': client.provider,
        'gen_ai.request.model': client.model,
        'voice.llm.fallback.attempt': attempt,
        'voice.llm.fallback.from': this.opts.llmLabels[0] ?? '',
      });
    }
  }
}

/** GenAI message JSON: `[{"role":…,"parts":[{"type":"text","content":…}]}]`. */
function messages(role: 'user' | 'assistant', text: string): string {
  return JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);
}
