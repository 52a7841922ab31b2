/** Outputs of the voice-to-voice benchmark: a markdown table and `bench/results/voice-<date>-<rev>.json`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmt } from './stats.js';
import type { SttVariant, VoiceBenchResult, VoiceTimings } from './voice.js';

const LABELS: Record<SttVariant, string> = { nova: 'nova', flux: 'flux', 'flux-eager': 'flux + eager' };

function endOfTurn(variant: SttVariant, t: VoiceTimings): string {
  if (variant === 'nova') return `speech_final after ${t.novaEndpointingMs} ms`;
  return variant === 'flux' ? `EndOfTurn after ${t.fluxFinalMs} ms` : `Eager after ${t.fluxEagerMs} ms, EndOfTurn after ${t.fluxFinalMs} ms`;
}

export function voiceTable(result: VoiceBenchResult): string {
  const t = result.config.timings;
  const head = [
    'STT',
    'end of turn (silence after the last word)',
    'voice-to-voice ms p50 / p95 / p99',
    'with a hesitation p50 / p95',
    'turns',
    'LLM requests aborted / all',
    'EagerEndOfTurn / TurnResumed',
    'eager → EndOfTurn ms p50',
    'failed calls',
  ];
  const rows = result.variants.map((v) => [
    LABELS[v.variant],
    endOfTurn(v.variant, t),
    `${fmt(v.voiceToVoiceMs.p50, 0)} / ${fmt(v.voiceToVoiceMs.p95, 0)} / ${fmt(v.voiceToVoiceMs.p99, 0)}`,
    `${fmt(v.hesitantMs.p50, 0)} / ${fmt(v.hesitantMs.p95, 0)}`,
    String(v.voiceToVoiceMs.n),
    `${v.llm.aborted} / ${v.llm.requests}`,
    v.flux ? `${v.flux.eagerEnds} / ${v.flux.turnResumed}` : '—',
    fmt(v.flux?.eagerLeadMs.p50, 0),
    `${v.failedCalls} / ${v.calls}`,
  ]);
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function voiceNotes(result: VoiceBenchResult): string {
  const t = result.config.timings;
  const c = result.config;
  const lines = [
    `Provider timings: LLM first token ${t.llmFirstTokenMs} ms then ${t.llmTokensPerSecond} tokens/s (first sentence "Sure, I can help with that."), ` +
      `TTS first byte ${t.ttsFirstByteMs} ms, no network latency; STT as in the table (audio time, no recognition delay on top).`,
    `${c.calls} concurrent calls × ${c.turns} questions per variant, ${c.wordMs} ms per word; every third question hesitates ${c.hesitationMs} ms after its second word.`,
  ];
  for (const v of result.variants) {
    if (v.problems.length > 0) lines.push(`${LABELS[v.variant]}: ${v.problems.slice(0, 5).join('; ')}`);
  }
  return lines.map((l) => `- ${l}`).join('\n');
}

/** Writes `<dir>/voice-<date>-<rev>.json` and `<dir>/voice-latest.json`; returns the dated path. */
export function writeVoiceResult(result: VoiceBenchResult, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = result.date.replace(/:\d\d\.\d+Z$/, '').replace(/:/g, '').replace('T', '-');
  const file = path.join(dir, `voice-${stamp}-${result.rev}.json`);
  const json = JSON.stringify(result, null, 1) + '\n';
  writeFileSync(file, json);
  writeFileSync(path.join(dir, 'voice-latest.json'), json);
  return file;
}
