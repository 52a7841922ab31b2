/**
 * The process's tracing as the server uses it: one CallTracer per call, on one tracer, with the content setting
 * read once. Absent when the standard OTEL_* variables do not ask for traces.
 */
import type { Logger } from '../../lib/logger.js';
import { CallTracer } from './call-tracer.js';
import { startTracingFromEnv, type Tracing } from './otel-sdk.js';

export interface CallTracing {
  forCall(agentName: string): CallTracer;
  /** Export the spans still buffered and stop. */
  shutdown(): Promise<void>;
}

/** `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`: transcripts and replies go into spans. */
export function captureMessageContent(env: NodeJS.ProcessEnv): boolean {
  return env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === 'true';
}

export function callTracing(tracing: Tracing, opts: { env: NodeJS.ProcessEnv; llmLabels: readonly string[] }): CallTracing {
  const captureContent = captureMessageContent(opts.env);
  return {
    forCall: (agentName) => new CallTracer({ tracer: tracing.tracer, agentName, captureContent, llmLabels: opts.llmLabels }),
    shutdown: () => tracing.shutdown(),
  };
}

/** From the environment: undefined (nothing loaded) unless OTEL_EXPORTER_OTLP_ENDPOINT asks for traces. */
export async function callTracingFromEnv(env: NodeJS.ProcessEnv, llmLabels: readonly string[], log?: Logger): Promise<CallTracing | undefined> {
  const tracing = await startTracingFromEnv(env, log);
  return tracing && callTracing(tracing, { env, llmLabels });
}
