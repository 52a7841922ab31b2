/**
 * Voice-to-voice latency per STT engine (`npm run bench -- --stt nova,flux`): the time from the caller's last word
 * (the last frame of its speech leaving the simulated phone) to the first agent audio reaching it, with realistic
 * provider timings. Each variant runs on a fresh server process and fresh simulators: Nova (endpointing), Flux,
 * Flux with eager end of turn.
 *
 * Also counted, for speculation: LLM requests the server aborted (a reply started and thrown away — today only when
 * the caller goes on talking while the agent thinks; with speculative replies, every eager end of turn that Flux
 * takes back) versus those that ran to the end, and Flux's own EagerEndOfTurn / TurnResumed counts.
 */
import { placeSimulatedCall, type AgentTurn, type CallRecord } from '../offline/twilio-caller.js';
import { startDeepgramSimulator } from '../offline/deepgram.js';
import { startLlmSimulator } from '../offline/llm.js';
import { startLlmTap, type TappedRequest } from './llm-tap.js';
import { PhasedTickers } from './phases.js';
import { startServerProcess } from './server-process.js';
import { AUTH_TOKEN } from './level.js';
import { summarize, type Summary } from './stats.js';
import { machineInfo } from './report.js';
import { gitRev } from './bench.js';
import { planVoiceCall, voiceLlmScript, VOICE_REPLY, type VoiceCallPlan } from './voice-scenario.js';

export type SttVariant = 'nova' | 'flux' | 'flux-eager';

/** Provider timings of the run (the defaults are stated in the README's Performance section). */
export interface VoiceTimings {
  llmFirstTokenMs: number;
  llmTokensPerSecond: number;
  ttsFirstByteMs: number;
  ttsMsPerChar: number;
  /** Nova: silence before speech_final (STT_ENDPOINTING_MS). */
  novaEndpointingMs: number;
  /** Flux: silence before EagerEndOfTurn and before EndOfTurn. */
  fluxEagerMs: number;
  fluxFinalMs: number;
}

export const realisticTimings: VoiceTimings = {
  llmFirstTokenMs: 350,
  llmTokensPerSecond: 100,
  ttsFirstByteMs: 150,
  ttsMsPerChar: 40,
  novaEndpointingMs: 300,
  fluxEagerMs: 150,
  fluxFinalMs: 400,
};

export interface VoiceBenchOptions {
  cwd: string;
  /** The checkout's server, already built (its dist/src/cli/main.js); default: each variant's server builds it. */
  builtEntry?: string;
  variants: SttVariant[];
  /** Calls per variant, all up at once (ramped over `rampMs`). */
  calls: number;
  /** Questions per call. */
  turns: number;
  hesitationMs: number;
  timings?: VoiceTimings;
  wordMs?: number;
  quietMs?: number;
  rampMs?: number;
  /** Unmeasured calls first (connection pools, JIT). Default 1. */
  warmUpCalls?: number;
  log?: (line: string) => void;
}

export interface VoiceVariantResult {
  variant: SttVariant;
  env: Record<string, string>;
  calls: number;
  /** Caller's last word → first agent audio at the caller, every answered question. */
  voiceToVoiceMs: Summary;
  plainMs: Summary;
  /** Questions with a hesitation in the middle. */
  hesitantMs: Summary;
  llm: { requests: number; completed: number; aborted: number; abortedPct: number | null };
  /**
   * Flux's counts; `eagerLeadMs` = EagerEndOfTurn → EndOfTurn of the turns it confirmed: the most a speculative reply
   * started at the eager end can gain.
   */
  flux: { eagerEnds: number; turnResumed: number; endOfTurns: number; eagerLeadMs: Summary } | null;
  failedCalls: number;
  problems: string[];
  durationS: number;
}

export interface VoiceBenchResult {
  rev: string;
  date: string;
  machine: ReturnType<typeof machineInfo>;
  config: { variants: SttVariant[]; calls: number; turns: number; hesitationMs: number; wordMs: number; quietMs: number; timings: VoiceTimings };
  durationS: number;
  variants: VoiceVariantResult[];
}

export function variantEnv(variant: SttVariant): Record<string, string> {
  if (variant === 'nova') return { STT_ENGINE: 'nova' };
  // The simulator ends turns on its delays; the threshold only switches eager events on, as with Deepgram.
  return variant === 'flux' ? { STT_ENGINE: 'flux' } : { STT_ENGINE: 'flux', FLUX_EAGER_EOT_THRESHOLD: '0.5' };
}

export async function runVoiceBench(opts: VoiceBenchOptions): Promise<VoiceBenchResult> {
  const startedAt = performance.now();
  const timings = opts.timings ?? realisticTimings;
  const wordMs = opts.wordMs ?? 200;
  const quietMs = opts.quietMs ?? 500;
  const tickers = await PhasedTickers.start();
  const variants: VoiceVariantResult[] = [];
  try {
    let nextCallId = 1;
    for (const variant of opts.variants) {
      opts.log?.(`${variant}: ${opts.calls} calls × ${opts.turns} questions`);
      const result = await runVariant(variant, { ...opts, wordMs, quietMs }, timings, tickers, nextCallId);
      nextCallId += opts.calls + (opts.warmUpCalls ?? 1);
      variants.push(result);
      const v = result.voiceToVoiceMs;
      opts.log?.(`${variant}: voice-to-voice p50 ${v.p50} p95 ${v.p95} ms over ${v.n} turns, failed calls ${result.failedCalls}`);
    }
  } finally {
    tickers.stop();
  }
  return {
    rev: gitRev(opts.cwd),
    date: new Date().toISOString(),
    machine: machineInfo(),
    config: { variants: opts.variants, calls: opts.calls, turns: opts.turns, hesitationMs: opts.hesitationMs, wordMs, quietMs, timings },
    durationS: (performance.now() - startedAt) / 1000,
    variants,
  };
}

type RunOptions = VoiceBenchOptions & { wordMs: number; quietMs: number };

async function runVariant(variant: SttVariant, opts: RunOptions, t: VoiceTimings, tickers: PhasedTickers, firstCallId: number): Promise<VoiceVariantResult> {
  const startedAt = performance.now();
  const deepgram = await startDeepgramSimulator({
    ttsFirstByteMs: t.ttsFirstByteMs,
    ttsMsPerChar: t.ttsMsPerChar,
    sttLatencyMs: 0,
    fluxEagerMs: t.fluxEagerMs,
    fluxFinalMs: t.fluxFinalMs,
  });
  const llm = await startLlmSimulator({ firstTokenMs: t.llmFirstTokenMs, tokensPerSecond: t.llmTokensPerSecond, script: voiceLlmScript });
  const tap = await startLlmTap(llm.port);
  const fluxCounts = new Map<string, number>();
  const eagerAt = new Map<number, number>();
  const eagerLeads: number[] = [];
  deepgram.observer.on('flux.turnInfo', (e) => {
    fluxCounts.set(e.event, (fluxCounts.get(e.event) ?? 0) + 1);
    if (e.event === 'EagerEndOfTurn') eagerAt.set(e.connection, e.at);
    else if (e.event === 'TurnResumed') eagerAt.delete(e.connection);
    else if (e.event === 'EndOfTurn') {
      const at = eagerAt.get(e.connection);
      if (at !== undefined) eagerLeads.push(e.at - at);
      eagerAt.delete(e.connection);
    }
  });
  const env = variantEnv(variant);
  const server = await startServerProcess({
    cwd: opts.cwd,
    entry: opts.builtEntry,
    deepgramUrl: deepgram.url,
    openaiBaseUrl: tap.openaiBaseUrl,
    authToken: AUTH_TOKEN,
    endpointingMs: t.novaEndpointingMs,
    env,
  });
  const place = (plan: VoiceCallPlan): Promise<CallRecord> =>
    placeSimulatedCall({
      serverUrl: server.url,
      authToken: AUTH_TOKEN,
      script: plan.script,
      wordMs: opts.wordMs,
      quietMs: opts.quietMs,
      maxDurationMs: 120_000,
      ticker: tickers.for(plan.callId),
    }).done;
  try {
    // Warm-up (connection pools, JIT): not measured.
    for (let i = 0; i < (opts.warmUpCalls ?? 1); i++) await place(planVoiceCall(firstCallId + opts.calls + i, 1, opts.hesitationMs));
    tap.requests.splice(0);
    fluxCounts.clear();
    eagerLeads.length = 0;
    server.takeLogs();

    const rampMs = opts.rampMs ?? 2000;
    const plans = Array.from({ length: opts.calls }, (_, i) => planVoiceCall(firstCallId + i, opts.turns, opts.hesitationMs));
    const records = await Promise.all(
      plans.map((plan, i) => new Promise<CallRecord>((resolve) => setTimeout(() => resolve(place(plan)), (i * rampMs) / Math.max(1, plans.length - 1)))),
    );
    const flux = variant === 'nova' ? null : { counts: fluxCounts, eagerLeads };
    return analyze(variant, env, plans, records, tap.requests, flux, server.takeLogs().map((l) => `${l.level}: ${l.message}`), startedAt);
  } finally {
    await server.stop();
    await tap.close();
    await Promise.all([deepgram.close(), llm.close()]);
  }
}

function analyze(
  variant: SttVariant,
  env: Record<string, string>,
  plans: readonly VoiceCallPlan[],
  records: readonly CallRecord[],
  requests: readonly TappedRequest[],
  flux: { counts: Map<string, number>; eagerLeads: number[] } | null,
  serverLogs: string[],
  startedAt: number,
): VoiceVariantResult {
  const all: number[] = [];
  const plain: number[] = [];
  const hesitant: number[] = [];
  const problems: string[] = [];
  let failedCalls = 0;
  records.forEach((record, n) => {
    const plan = plans[n] as VoiceCallPlan;
    const issues = [...record.errors];
    if (record.endedBy !== 'caller') issues.push(`ended by ${String(record.endedBy)}`);
    const callerIndexes = record.transcript.flatMap((t, i) => (t.role === 'caller' ? [i] : []));
    plan.turns.forEach((turn, k) => {
      const index = callerIndexes[k];
      const reply = index === undefined ? null : nextAgentTurn(record, index);
      if (!reply || reply.latencyMs === null || reply.latencyMs <= 0 || reply.text.trim() !== VOICE_REPLY) {
        issues.push(`question ${k + 1} ("${turn.text}"): ${reply ? `reply "${reply.text.slice(0, 30)}" after ${String(reply.latencyMs)} ms` : 'no reply'}`);
        return;
      }
      all.push(reply.latencyMs);
      (turn.hesitates ? hesitant : plain).push(reply.latencyMs);
    });
    if (issues.length > 0) {
      failedCalls++;
      for (const issue of issues) if (problems.length < 10) problems.push(`call ${plan.callId}: ${issue}`);
    }
  });
  for (const line of serverLogs.slice(0, 5)) if (problems.length < 15) problems.push(`server ${line}`);
  const aborted = requests.filter((r) => r.aborted).length;
  return {
    variant,
    env,
    calls: records.length,
    voiceToVoiceMs: summarize(all),
    plainMs: summarize(plain),
    hesitantMs: summarize(hesitant),
    llm: {
      requests: requests.length,
      completed: requests.filter((r) => r.endedAt !== null && !r.aborted).length,
      aborted,
      abortedPct: requests.length > 0 ? Math.round((1000 * aborted) / requests.length) / 10 : null,
    },
    flux: flux
      ? {
          eagerEnds: flux.counts.get('EagerEndOfTurn') ?? 0,
          turnResumed: flux.counts.get('TurnResumed') ?? 0,
          endOfTurns: flux.counts.get('EndOfTurn') ?? 0,
          eagerLeadMs: summarize(flux.eagerLeads),
        }
      : null,
    failedCalls,
    problems,
    durationS: (performance.now() - startedAt) / 1000,
  };
}

function nextAgentTurn(record: CallRecord, callerIndex: number): AgentTurn | null {
  for (let i = callerIndex + 1; i < record.transcript.length; i++) {
    const t = record.transcript[i];
    if (t?.role === 'agent') return t;
    if (t?.role === 'caller') return null; // the caller spoke again before any reply
  }
  return null;
}
