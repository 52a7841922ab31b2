/** Prometheus metrics (prom-client), one registry per server so tests can run several servers in one process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    activeCalls: new Gauge({
      name: 'voice_active_calls',
      help: 'Open media streams (calls, and streams still waiting to present a valid start)',
      registers: [registry],
    }),
    callsTotal: new Counter({ name: 'voice_calls_total', help: 'Calls started: media streams that presented a valid start', registers: [registry] }),
    streamUpgradesRefused: new Counter({
      name: 'voice_stream_upgrades_refused_total',
      help: 'WebSocket upgrades refused before any stream existed (bad or missing signature, bad softphone ticket, unknown path, shutting down)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    streamsRejected: new Counter({
      name: 'voice_streams_rejected_total',
      help: 'Media streams closed with 1008 for want of a valid start (stream token missing, bad, expired or reused; start timeout)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mediaFramesIgnored: new Counter({
      name: 'voice_media_frames_ignored_total',
      help: 'Media stream frames ignored (malformed, before start, another streamSid, …)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    callsRejected: new Counter({
      name: 'voice_webhooks_rejected_total',
      help: 'Webhooks refused',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    turnLatency: new Histogram({
      name: 'voice_turn_latency_ms',
      help: 'End of caller speech (end-of-turn STT event) to first agent audio sent to Twilio',
      buckets: LATENCY_BUCKETS_MS,
      registers: [registry],
    }),
    turnPartLatency: new Histogram({
      name: 'voice_turn_part_latency_ms',
      help: 'Parts of the turn latency: llm (end of speech → first LLM text), tts (first LLM text → first TTS audio), transport (first TTS audio → first audio to Twilio)',
      labelNames: ['part'] as const,
      buckets: LATENCY_BUCKETS_MS,
      registers: [registry],
    }),
    bargeIns: new Counter({ name: 'voice_barge_ins_total', help: 'Caller interruptions of agent audio', registers: [registry] }),
    toolCalls: new Counter({
      name: 'voice_tool_calls_total',
      help: 'Tool calls the model made, by tool and outcome (ok, error, cancelled)',
      labelNames: ['tool', 'outcome'] as const,
      registers: [registry],
    }),
    toolDuration: new Histogram({
      name: 'voice_tool_duration_ms',
      help: 'Time from a tool round starting to each tool result',
      labelNames: ['tool'] as const,
      buckets: [5, 20, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    speculations: new Counter({
      name: 'voice_speculative_replies_total',
      help: 'Replies started on an eager end of turn (Flux), by outcome: confirmed (released) or discarded (unheard)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'voice_provider_errors_total',
      help: 'Errors reported by provider actors',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    llmRequests: new Counter({
      name: 'voice_llm_requests_total',
      help: 'LLM requests sent, per provider:model (a fallback retry counts again, on its provider)',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    llmFailures: new Counter({
      name: 'voice_llm_failures_total',
      help: 'LLM requests that failed, per provider:model and kind (rate_limit, server, client, connection, timeout = before the first output; mid_stream = after it)',
      labelNames: ['provider', 'kind'] as const,
      registers: [registry],
    }),
    llmFallbacks: new Counter({
      name: 'voice_llm_fallbacks_total',
      help: 'Requests retried on the next provider after a failure before the first output',
      labelNames: ['from', 'to'] as const,
      registers: [registry],
    }),
    watchdogReconnects: new Counter({
      name: 'voice_watchdog_reconnects_total',
      help: 'Provider sockets reconnected because they stayed open but went silent (stt: caller speech and no result; tts: Flush and no audio)',
      labelNames: ['socket'] as const,
      registers: [registry],
    }),
    sharedStateUp: new Gauge({
      name: 'voice_shared_state_up',
      help: 'Whether the shared state (Redis, REDIS_URL) is reachable: 1 yes, 0 no (new calls are refused). Absent without REDIS_URL',
      registers: [registry],
    }),
    sharedStateOutages: new Counter({
      name: 'voice_shared_state_outages_total',
      help: 'Times the shared state (Redis) became unreachable',
      registers: [registry],
    }),
    callCommands: new Counter({
      name: 'voice_call_commands_total',
      help: 'Commands for a live call (AMD verdict, hangup, transfer) by command and result: delivered here, sent to the owning instance, held until the call starts, ended, undelivered, failed',
      labelNames: ['command', 'result'] as const,
      registers: [registry],
    }),
    callsEndedAtLimit: new Counter({
      name: 'voice_calls_ended_at_max_duration_total',
      help: 'Calls ended politely because they reached MAX_CALL_DURATION_MS',
      registers: [registry],
    }),
    amdResults: new Counter({
      name: 'voice_amd_results_total',
      help: "Answering-machine detection results of outbound calls (Twilio's AnsweredBy)",
      labelNames: ['answered_by'] as const,
      registers: [registry],
    }),
  };
  return m;
}

/** The LLM fallback client's counters, on this registry. */
export function llmFallbackObserver(m: Metrics) {
  return {
    request: (provider: string) => m.llmRequests.inc({ provider }),
    failure: (provider: string, kind: string) => m.llmFailures.inc({ provider, kind }),
    fallback: (from: string, to: string) => m.llmFallbacks.inc({ from, to }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
