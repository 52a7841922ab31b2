/**
 * Options, observer events and handshake parameters of the simulated Deepgram Flux (`/v2/listen`). Kept apart from
 * the /v1 simulator's types, which extend these.
 */
import { FLUX_DEFAULT_THRESHOLDS, type FluxThresholds, type FluxTrigger } from './flux-turn-model.js';

export interface FluxSimOptions {
  /** Silence (audio ms) after the last word before EagerEndOfTurn (when eager_eot_threshold is set). Default 150. */
  fluxEagerMs?: number;
  /** Silence (audio ms) after the last word before EndOfTurn. Default 400. */
  fluxFinalMs?: number;
  /** Speech (audio ms) before StartOfTurn, and before TurnResumed after an eager end. Default 100. */
  fluxStartOfTurnMs?: number;
  /** Audio between Update messages. Default 250 ("about every 0.25 s"). */
  fluxUpdateIntervalMs?: number;
}

type At = { connection: number; at: number };

export interface FluxSimEventMap {
  'flux.open': [At & { params: Record<string, string> }];
  'flux.turnInfo': [At & { event: string; turnIndex: number; transcript: string; windowEnd: number; confidence: number; trigger?: FluxTrigger }];
  'flux.configure': [At & { ok: boolean }];
  'flux.forceEndTurn': [At];
  'flux.closeStream': [At];
  'flux.error': [At & { code: string; description: string }];
  'flux.close': [At & { code: number; reason: string }];
}

/** Raw audio encodings Flux accepts (docs/flux/quickstart) and its raw sample rates. */
const ENCODINGS = new Set(['linear16', 'linear32', 'mulaw', 'alaw', 'opus', 'ogg-opus']);
const SAMPLE_RATES = new Set([8000, 16000, 24000, 44100, 48000]);

export interface FluxParams {
  model: string;
  sampleRate: number;
  thresholds: FluxThresholds;
}

/** Validates the handshake like Deepgram does (a bad request is answered 400 before the upgrade). */
export function parseFluxParams(query: URLSearchParams): FluxParams | { error: string } {
  const model = query.get('model');
  if (!model) return { error: 'model is required' };
  if (!model.startsWith('flux-')) return { error: `model ${model} is not available on /v2/listen` };
  const encoding = query.get('encoding');
  const rate = query.get('sample_rate');
  if (encoding === null || rate === null) return { error: 'raw audio needs both encoding and sample_rate (containers are not simulated)' };
  if (!ENCODINGS.has(encoding)) return { error: `unsupported encoding ${encoding}` };
  const sampleRate = Number(rate);
  if (!SAMPLE_RATES.has(sampleRate)) return { error: `unsupported sample_rate ${rate}` };
  // A simulator limit, not Deepgram's: simulated speech is µ-law only.
  if (encoding !== 'mulaw') return { error: `the simulator decodes mulaw only (got ${encoding})` };
  const thresholds = parseThresholds(
    { eot_threshold: query.get('eot_threshold'), eager_eot_threshold: query.get('eager_eot_threshold'), eot_timeout_ms: query.get('eot_timeout_ms') },
    FLUX_DEFAULT_THRESHOLDS,
  );
  if ('error' in thresholds) return thresholds;
  return { model, sampleRate, thresholds };
}

/** Threshold values from the query or a Configure message, over `base`; ranges from docs/flux/configuration. */
export function parseThresholds(raw: Record<string, unknown>, base: FluxThresholds): FluxThresholds | { error: string } {
  const out: FluxThresholds = { ...base };
  const read = (name: string, min: number, max: number): number | null | { error: string } => {
    const v = raw[name];
    if (v === null || v === undefined) return null;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) return { error: `${name} must be between ${min} and ${max}` };
    return n;
  };
  const eot = read('eot_threshold', 0.5, 1);
  const eager = read('eager_eot_threshold', 0.3, 0.9);
  const timeout = read('eot_timeout_ms', 500, 60_000);
  for (const v of [eot, eager, timeout]) if (v !== null && typeof v === 'object') return v;
  if (typeof eot === 'number') out.eotThreshold = eot;
  if (typeof eager === 'number') out.eagerEotThreshold = eager;
  if (typeof timeout === 'number') out.eotTimeoutMs = timeout;
  return out;
}
