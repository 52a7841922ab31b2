/**
 * The per-round LLM actor: invoked with the conversation so far and the tools offered, it streams one inference and
 * reports it to the call machine as LLM.TEXT / LLM.TOOL_CALL / LLM.DONE / LLM.ERROR. Stopping it (barge-in, caller
 * resumed, hangup) aborts the HTTP stream; that abort is ours and is not reported as an error. A stream that goes
 * quiet for `stallTimeoutMs` (no text, no tool call, no end) is aborted at that moment and reported as LLM.ERROR,
 * so the machine can say what was heard and apologise. It never throws.
 */
import { fromCallback, type EventObject } from 'xstate';
import type { LlmDone, LlmError, LlmInput, LlmText, LlmToolCall } from '../machines/events.js';
import type { Logger } from '../lib/logger.js';
import { now } from '../lib/clock.js';
import type { LlmClient } from './llm-types.js';

export interface LlmActorDeps {
  client: LlmClient;
  log: Logger;
}

type LlmEvent = LlmText | LlmToolCall | LlmDone | LlmError;

export function createLlmActor(deps: LlmActorDeps) {
  const { client, log } = deps;
  return fromCallback<EventObject, LlmInput>(({ input, sendBack }) => {
    const controller = new AbortController();
    let stopped = false;
    /** The stream is over (done, error or abort): stopping then has nothing left to cancel. */
    let finished = false;
    let stalled = false;
    const report = (event: LlmEvent): void => {
      if (!stopped && !stalled) sendBack(event);
    };
    // One timer for the whole stream, pushed back (refresh: no new timer) by every event.
    const stallTimer = setTimeout(() => {
      if (finished || stopped) return;
      const message = `${client.provider}: stream stalled: nothing for ${input.stallTimeoutMs} ms`;
      log.warn('llm stream stalled; aborting it', { provider: client.provider, ms: input.stallTimeoutMs });
      report({ type: 'LLM.ERROR', message, at: now() });
      stalled = true;
      controller.abort();
    }, input.stallTimeoutMs);

    const run = async (): Promise<void> => {
      const startedAt = now();
      let firstTokenAt: number | undefined;
      let chars = 0;
      let toolCalls = 0;
      log.debug('llm request', { provider: client.provider, model: client.model, messages: input.messages.length });
      try {
        for await (const event of client.stream({ messages: input.messages, tools: input.tools }, controller.signal)) {
          if (stopped || stalled) return;
          stallTimer.refresh();
          if (event.type === 'text') {
            if (event.text === '') continue;
            if (firstTokenAt === undefined) {
              firstTokenAt = now();
              log.debug('llm first token', { provider: client.provider, ms: Math.round(firstTokenAt - startedAt) });
            }
            chars += event.text.length;
            report({ type: 'LLM.TEXT', text: event.text, at: now() });
          } else if (event.type === 'tool_call') {
            // Unknown names and bad arguments are the machine's to answer (an error result the model sees).
            if (event.argsError !== undefined) log.warn('llm tool call arguments were not valid JSON', { tool: event.name, error: event.argsError });
            toolCalls += 1;
            log.info('llm tool call', { provider: client.provider, tool: event.name, id: event.id });
            const argsError = event.argsError !== undefined ? { argsError: event.argsError } : {};
            report({ type: 'LLM.TOOL_CALL', id: event.id, name: event.name, args: event.args, ...argsError, at: now() });
          } else {
            log.info('llm done', {
              provider: client.provider,
              finishReason: event.finishReason,
              chars,
              toolCalls,
              firstTokenMs: firstTokenAt === undefined ? undefined : Math.round(firstTokenAt - startedAt),
              totalMs: Math.round(now() - startedAt),
            });
            report({ type: 'LLM.DONE', at: now() });
            return;
          }
        }
        // The stream ends without `done` only when it was aborted (the client throws otherwise).
        if (!stopped && !controller.signal.aborted) {
          report({ type: 'LLM.ERROR', message: `${client.provider}: stream ended without completion`, at: now() });
        }
      } catch (err) {
        if (stopped || stalled || controller.signal.aborted) {
          log.debug('llm stream aborted', { provider: client.provider });
          return;
        }
        const message = describeLlmError(client.provider, err);
        log.error('llm stream failed', { provider: client.provider, error: message });
        report({ type: 'LLM.ERROR', message, at: now() });
      }
    };
    // run() catches everything itself; the extra catch only guards against a throwing logger.
    run()
      .catch(() => undefined)
      .finally(() => {
        finished = true;
        clearTimeout(stallTimer);
      });

    return () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(stallTimer);
      if (!finished) controller.abort();
      log.debug('llm actor stopped', { provider: client.provider });
    };
  });
}

/**
 * One readable line: "anthropic: HTTP 529 overloaded_error: Overloaded", "openai: server_error: …" (an error event
 * mid-stream), "openai: terminated (other side closed)". Both SDKs' APIError carry `status` and the error body.
 */
export function describeLlmError(provider: string, err: unknown): string {
  if (!(err instanceof Error)) return `${provider}: ${String(err)}`;
  const status = (err as { status?: unknown }).status;
  const detail = apiErrorDetail((err as { error?: unknown }).error);
  const where = typeof status === 'number' ? `${provider}: HTTP ${status}` : `${provider}:`;
  if (detail) return `${where} ${detail}`;
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${where} ${err.message}${cause}`;
}

/** `type: message` from an OpenAI (`{message, type}`) or Anthropic (`{type:'error', error:{type, message}}`) body. */
function apiErrorDetail(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const outer = body as { error?: unknown };
  const inner = (typeof outer.error === 'object' && outer.error !== null ? outer.error : body) as { type?: unknown; message?: unknown };
  if (typeof inner.message !== 'string') return undefined;
  return typeof inner.type === 'string' ? `${inner.type}: ${inner.message}` : inner.message;
}
