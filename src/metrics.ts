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
      help: 'WebSocket upgrades refused before any stream existed (bad or missing signature, unknown path, shutting down)',
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
    providerErrors: new Counter({
      name: 'voice_provider_errors_total',
      help: 'Errors reported by provider actors',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
