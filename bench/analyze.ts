/**
 * Turns one level's raw recordings into measurements. Events of one call are tied together by content (every
 * utterance carries a unique tag: see scenario.ts) and by the simulator connection the tag was seen on.
 *
 * Turn overhead = the hops the orchestrator owns, with every simulated provider's time excluded by measurement:
 *   (speech_final sent by STT → LLM request received)
 * + (LLM chunk that completed the first sentence sent → TTS Flush received)
 * + (first TTS audio sent → first agent audio frame at the caller).
 * Equivalently: (speech_final sent → first audio at the caller) − (LLM time to the first sentence) − (TTS time to
 * first audio), both measured at the simulators.
 */
import { writeFileSync } from 'node:fs';
import type { AgentTurn, CallerTurn, CallRecord } from '../offline/twilio-caller.js';
import type { CallOutcome, LevelRaw } from './level.js';
import { ECHO_PREFIX, lastTag, TAG_PATTERN, type PlannedUtterance } from './scenario.js';
import { summarize, type Summary } from './stats.js';
import type { ListenEvent, SpeakLog } from './world.js';

export interface TurnSample {
  callId: number;
  utterance: number;
  overheadMs: number;
  sttToLlmMs: number;
  llmToTtsMs: number;
  ttsToCallerMs: number;
  /** Provider time excluded: LLM (request → first sentence) and TTS (Flush → first audio). */
  llmProviderMs: number;
  ttsProviderMs: number;
  /** speech_final sent → first audio at the caller, providers included. */
  endToEndMs: number;
}

export interface LevelResult {
  concurrency: number;
  calls: number;
  turnsPerCall: number;
  durationS: number;
  turnOverheadMs: Summary;
  hopsMs: { sttToLlm: Summary; llmToTts: Summary; ttsToCaller: Summary };
  endToEndMs: Summary;
  bargeInToClearMs: Summary;
  bargeInToTtsClearMs: Summary;
  greetingMs: Summary;
  serverCpuMsPerCallSecond: number | null;
  /** The kernel's share of it (loopback socket I/O is charged partly to the sender). */
  serverSystemCpuMsPerCallSecond: number | null;
  rssKbPerCall: number | null;
  /**
   * How the server's memory grew from before the level to the highest RSS with every call connected, per call: JS
   * heap reserved and used, and external (outside the heap: Buffers, audio). Null when unknown.
   */
  memoryKbPerCall?: { heapTotal: number; heapUsed: number; external: number } | null;
  serverEventLoopP99Ms: number;
  serverEventLoopMaxMs: number;
  benchEventLoopP99Ms: number;
  benchSkippedTicks: number;
  /** Average cores used by the bench process and by unrelated processes during the level (noise indicator). */
  benchCores: number;
  otherCores: number;
  /** Average cores the server process used during the level. */
  serverCores: number;
  failedCalls: number;
  failures: Record<string, number>;
  unmeasuredTurns: number;
  serverWarnings: Record<string, number>;
  peakActiveCalls: number;
  /** Call records written during the level: size per call-minute and write time per call (null: records off). */
  records: { callsWritten: number; kbPerCallMinute: number | null; writeMsPerCall: number | null; errors: number } | null;
  /** The first few problems, verbatim (call id first), to start an investigation from. */
  examples: string[];
  /** Turn overhead by utterance of the script (1 = first question, … the barge-in is the third). */
  overheadByUtteranceMs: Record<string, Summary>;
  /** The slowest turns with their hops, to see where a tail comes from. */
  slowestTurns: TurnSample[];
}

interface CallContextIndex {
  listen: ListenEvent[];
  speak: SpeakLog | undefined;
}

export function analyzeLevel(raw: LevelRaw): LevelResult {
  const { recordings } = raw;
  const listenOf = connectionsByCall(recordings.listen, (events) => events.map((e) => e.transcript));
  const speakOf = connectionsByCall(recordings.speak, (log) => log.flushes.map((f) => f.text));
  const llmByTag = new Map<string, (typeof recordings.llm)[number]>();
  for (const req of recordings.llm) {
    const tag = lastTag(req.lastUserText);
    if (tag) llmByTag.set(tag, req); // the last request of a turn is the one that was answered
  }

  const turns: TurnSample[] = [];
  const bargeToClear: number[] = [];
  const bargeToTtsClear: number[] = [];
  const greeting: number[] = [];
  const failures: Record<string, number> = {};
  let failedCalls = 0;
  let unmeasured = 0;
  let callSeconds = 0;
  const examples: string[] = [];
  const failedCallDumps: unknown[] = [];

  for (const outcome of raw.calls) {
    const { record, plan } = outcome;
    const ctx: CallContextIndex = { listen: recordings.listen.get(listenOf.get(plan.callId) ?? -1) ?? [], speak: recordings.speak.get(speakOf.get(plan.callId) ?? -1) };
    const problems = callProblems(outcome);
    callSeconds += callDurationMs(record) / 1000;
    if (record.firstAgentAudioMs !== null) greeting.push(record.firstAgentAudioMs);

    for (const u of plan.utterances) {
      const sample = measureTurn(outcome, u, ctx, llmByTag.get(u.tag));
      if (typeof sample === 'string') {
        unmeasured++;
        problems.push(`unmeasured turn: ${sample}`);
      } else turns.push(sample);
      if (u.bargeIn) {
        const b = measureBargeIn(record, u, ctx);
        if (typeof b === 'string') problems.push(b);
        else {
          bargeToClear.push(b.clearAtCaller);
          if (b.clearAtTts !== null) bargeToTtsClear.push(b.clearAtTts);
        }
      }
    }
    for (const p of problems) if (examples.length < 12) examples.push(`call ${plan.callId}: ${p}`);
    if (problems.some((p) => !p.startsWith('unmeasured turn')))
      failedCallDumps.push({ problems, plan, record, llm: recordings.llm.filter((r) => plan.utterances.some((u) => r.lastUserText.includes(u.tag))), listen: ctx.listen, speak: ctx.speak });
    // A turn the bench could not measure is counted apart (unmeasuredTurns); it does not fail the call.
    const kinds = new Set(problems.map((p) => p.replace(/:.*$/, '')).filter((k) => k !== 'unmeasured turn'));
    if (kinds.size > 0) failedCalls++;
    for (const k of kinds) failures[k] = (failures[k] ?? 0) + 1;
  }

  // Everything the bench knows of each failed call, to start an investigation from (BENCH_FAILED_CALLS=<file.json>).
  const dumpTo = process.env.BENCH_FAILED_CALLS;
  if (dumpTo !== undefined && dumpTo !== '' && failedCallDumps.length > 0) writeFileSync(dumpTo, JSON.stringify(failedCallDumps, null, 1));

  const serverWarnings: Record<string, number> = {};
  for (const line of raw.serverLogs) {
    const key = `${line.level}: ${line.message}`.slice(0, 120);
    serverWarnings[key] = (serverWarnings[key] ?? 0) + 1;
  }
  if (raw.serverProviderErrors > 0) failures['server provider errors'] = raw.serverProviderErrors;
  if (raw.serverLeftoverCalls !== 0) failures['server kept calls after hangup'] = raw.serverLeftoverCalls;

  const n = raw.calls.length;
  return {
    concurrency: raw.config.concurrency,
    calls: n,
    turnsPerCall: raw.calls[0]?.plan.utterances.length ?? 0,
    durationS: raw.windowMs / 1000,
    turnOverheadMs: summarize(turns.map((t) => t.overheadMs)),
    hopsMs: {
      sttToLlm: summarize(turns.map((t) => t.sttToLlmMs)),
      llmToTts: summarize(turns.map((t) => t.llmToTtsMs)),
      ttsToCaller: summarize(turns.map((t) => t.ttsToCallerMs)),
    },
    endToEndMs: summarize(turns.map((t) => t.endToEndMs)),
    bargeInToClearMs: summarize(bargeToClear),
    bargeInToTtsClearMs: summarize(bargeToTtsClear),
    greetingMs: summarize(greeting),
    serverCpuMsPerCallSecond: callSeconds > 0 ? (raw.serverCpu.userMs + raw.serverCpu.systemMs) / callSeconds : null,
    serverSystemCpuMsPerCallSecond: callSeconds > 0 ? raw.serverCpu.systemMs / callSeconds : null,
    rssKbPerCall: raw.fullRssBytes === null || n === 0 ? null : (raw.fullRssBytes - raw.idleRssBytes) / 1024 / n,
    memoryKbPerCall: memoryPerCall(raw, n),
    serverEventLoopP99Ms: raw.serverEventLoop.p99Ms,
    serverEventLoopMaxMs: raw.serverEventLoop.maxMs,
    benchEventLoopP99Ms: raw.benchEventLoop.p99Ms,
    benchSkippedTicks: raw.benchSkippedTicks,
    benchCores: raw.benchCores,
    otherCores: raw.otherCores,
    serverCores: (raw.serverCpu.userMs + raw.serverCpu.systemMs) / raw.windowMs,
    failedCalls,
    failures,
    unmeasuredTurns: unmeasured,
    serverWarnings,
    records:
      raw.records === null
        ? null
        : {
            callsWritten: raw.records.calls,
            kbPerCallMinute: callSeconds > 0 ? raw.records.bytesSum / 1024 / (callSeconds / 60) : null,
            writeMsPerCall: raw.records.calls > 0 ? raw.records.writeMsSum / raw.records.calls : null,
            errors: raw.records.errors,
          },
    peakActiveCalls: raw.peakActive,
    examples,
    overheadByUtteranceMs: byUtterance(turns),
    slowestTurns: [...turns].sort((a, b) => b.overheadMs - a.overheadMs).slice(0, 5),
  };
}

function byUtterance(turns: readonly TurnSample[]): Record<string, Summary> {
  const groups = new Map<number, number[]>();
  for (const t of turns) groups.set(t.utterance, [...(groups.get(t.utterance) ?? []), t.overheadMs]);
  return Object.fromEntries([...groups].sort((a, b) => a[0] - b[0]).map(([u, v]) => [`u${u}`, summarize(v)]));
}

/** Simulator connection → call id, from the first tagged text seen on it. Returns call id → connection. */
function connectionsByCall<T>(byConnection: Map<number, T>, texts: (value: T) => string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const [connection, value] of byConnection) {
    for (const text of texts(value)) {
      const m = TAG_PATTERN.exec(text);
      if (m) {
        out.set(Number(m[1]), connection);
        break;
      }
    }
  }
  return out;
}

function callDurationMs(record: CallRecord): number {
  let duration = 0;
  for (const e of record.timeline) if (e.kind === 'closed') duration = e.t;
  return duration;
}

function callerTurnOf(record: CallRecord, u: PlannedUtterance): { turn: CallerTurn; index: number } | null {
  const index = record.transcript.findIndex((t) => t.role === 'caller' && t.text.includes(u.tag));
  const turn = record.transcript[index];
  return turn?.role === 'caller' ? { turn, index } : null;
}

/** The agent's answer to a caller turn: the next agent turn in the transcript. */
function replyTo(record: CallRecord, callerIndex: number): AgentTurn | null {
  for (let i = callerIndex + 1; i < record.transcript.length; i++) {
    const t = record.transcript[i];
    if (t?.role === 'agent') return t;
  }
  return null;
}

function measureTurn(outcome: CallOutcome, u: PlannedUtterance, ctx: CallContextIndex, llm: LevelRaw['recordings']['llm'][number] | undefined): TurnSample | string {
  const { record, plan } = outcome;
  const caller = callerTurnOf(record, u);
  if (!caller) return 'caller never said it';
  const reply = replyTo(record, caller.index);
  if (!reply) return 'no reply heard';
  const speechFinal = ctx.listen.find((e) => e.kind === 'speechFinal' && e.at >= caller.turn.startAt);
  if (!speechFinal) return 'no speech_final';
  if (!llm) return 'no LLM request';
  if (llm.flushTokenAt === null) return 'LLM never completed a sentence';
  const flush = ctx.speak?.flushes.find((f) => f.at >= (llm.flushTokenAt ?? Infinity));
  if (!flush) return 'no TTS Flush';
  const audioStart = ctx.speak?.audioStarts.get(flush.sequenceId);
  if (audioStart === undefined) return 'no TTS audio';
  const sttToLlmMs = llm.receivedAt - speechFinal.at;
  const llmToTtsMs = flush.at - llm.flushTokenAt;
  const ttsToCallerMs = reply.startAt - audioStart;
  if (sttToLlmMs < 0 || ttsToCallerMs < 0) return `events out of order (call ${plan.callId} u${u.index})`;
  return {
    callId: plan.callId,
    utterance: u.index,
    overheadMs: sttToLlmMs + llmToTtsMs + ttsToCallerMs,
    sttToLlmMs,
    llmToTtsMs,
    ttsToCallerMs,
    llmProviderMs: llm.flushTokenAt - llm.receivedAt,
    ttsProviderMs: audioStart - flush.at,
    endToEndMs: reply.startAt - speechFinal.at,
  };
}

function measureBargeIn(record: CallRecord, u: PlannedUtterance, ctx: CallContextIndex): { clearAtCaller: number; clearAtTts: number | null } | string {
  const caller = callerTurnOf(record, u);
  if (!caller) return 'barge-in: never spoken';
  const interim = ctx.listen.find((e) => e.at >= caller.turn.startAt && e.transcript !== '');
  if (!interim) return 'barge-in: no transcript';
  const clear = record.timeline.find((e) => e.kind === 'clear' && record.placedAt + e.t >= interim.at);
  if (!clear) return 'barge-in: no clear at the caller';
  const ttsClear = ctx.speak?.clears.find((at) => at >= interim.at);
  return { clearAtCaller: record.placedAt + clear.t - interim.at, clearAtTts: ttsClear === undefined ? null : ttsClear - interim.at };
}

/** Everything that makes a call fail, as `kind: detail` strings. */
function callProblems({ record, plan }: CallOutcome): string[] {
  const problems: string[] = [];
  if (record.webhookStatus !== 200) problems.push(`webhook: ${String(record.webhookStatus)}`);
  if (record.endedBy !== 'caller') problems.push(`ended by ${String(record.endedBy)}: not as scripted`);
  for (const e of record.errors) problems.push(e.startsWith('waitForAgent') ? `wait timed out: ${e}` : `stream error: ${e}`);
  if (record.wrongStreamSid > 0) problems.push('wrong streamSid');

  for (const u of plan.utterances) {
    const caller = callerTurnOf(record, u);
    const reply = caller ? replyTo(record, caller.index) : null;
    if (!reply) {
      problems.push(`turn with no reply: ${u.tag}`);
      continue;
    }
    const said = reply.text + reply.cut;
    if (u.story) {
      if (!reply.interrupted) problems.push(`barge-in not honoured: ${u.tag}`);
    } else if (!said.startsWith(ECHO_PREFIX) || !said.includes(u.tag)) {
      // Audio of a cleared reply leaking into the next one shows up here as foreign text at its start.
      problems.push(`${u.index > 1 && plan.utterances[u.index - 2]?.story ? 'audio after clear' : 'wrong reply'}: ${said.slice(0, 60)}`);
    }
  }
  problems.push(...playbackGaps(record));
  return problems;
}

/** A reply whose audio stopped and started again = frames reached the caller later than they were needed. */
function playbackGaps(record: CallRecord): string[] {
  const gaps: string[] = [];
  const starts = record.timeline.filter((e) => e.kind === 'agentAudioStart').map((e) => record.placedAt + e.t);
  for (const t of record.transcript) {
    if (t.role !== 'agent') continue;
    const end = t.endAt ?? Infinity;
    const restarts = starts.filter((at) => at > t.startAt && at <= end).length;
    if (restarts > 0) gaps.push(`late frames: playback ran dry ${restarts}x in "${t.text.slice(0, 30)}"`);
  }
  return gaps;
}

function memoryPerCall(raw: LevelRaw, calls: number): LevelResult['memoryKbPerCall'] {
  const before = raw.memoryBefore;
  const full = raw.memoryAtFull;
  if (!before || !full || calls === 0) return null;
  const perCall = (bytes: number): number => Math.round(bytes / 1024 / calls);
  return {
    heapTotal: perCall(full.heapTotalBytes - before.heapTotalBytes),
    heapUsed: perCall(full.heapUsedBytes - before.heapUsedBytes),
    external: perCall(full.externalBytes - before.externalBytes),
  };
}
