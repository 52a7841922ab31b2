/**
 * A quick smoke run of the voice-to-voice benchmark: the real server process per STT variant, the simulators, one
 * call of three questions (one with a hesitation). Proves every question is answered and measured, Flux's eager
 * events are counted, and the report is well formed. Latencies are reported by the bench, never asserted here.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runVoiceBench, realisticTimings, type VoiceBenchResult } from '../../bench/voice.js';
import { voiceTable, writeVoiceResult } from '../../bench/voice-report.js';
import { builtServer } from '../support/built-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('npm run bench -- --stt (smoke)', () => {
  it('measures every answered question on nova and on flux with eager end of turn, and counts eager ends', async () => {
    const result = await runVoiceBench({
      cwd: repo,
      builtEntry: await builtServer(),
      variants: ['nova', 'flux-eager'],
      calls: 1,
      turns: 3,
      hesitationMs: 250,
      wordMs: 120,
      warmUpCalls: 0,
      // Fast providers keep the run short; the STT's turn decisions stay as configured.
      timings: { ...realisticTimings, llmFirstTokenMs: 50, ttsFirstByteMs: 20, ttsMsPerChar: 10 },
    });
    const [nova, flux] = result.variants;
    for (const v of [nova, flux]) {
      expect(v?.problems).toEqual([]);
      expect(v?.failedCalls).toBe(0);
      expect(v?.voiceToVoiceMs.n).toBe(3);
      expect(v?.hesitantMs.n).toBe(1);
      expect(v?.voiceToVoiceMs.p50).toBeGreaterThan(0);
      // Every LLM request of the measured call either ran to the end or was aborted; at least one per question.
      expect((v?.llm.completed ?? 0) + (v?.llm.aborted ?? 0)).toBe(v?.llm.requests);
      expect(v?.llm.requests).toBeGreaterThanOrEqual(3);
    }
    expect(nova?.flux).toBeNull();
    expect(nova?.env).toEqual({ STT_ENGINE: 'nova' });
    // Flux: an eager end per question, plus one taken back by the hesitation.
    expect(flux?.flux).toMatchObject({ eagerEnds: 4, turnResumed: 1, endOfTurns: 3 });
    expect(flux?.flux?.eagerLeadMs.n).toBe(3); // every question's last eager end was confirmed

    const dir = mkdtempSync(path.join(os.tmpdir(), 'voice-bench-'));
    const file = writeVoiceResult(result, dir);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as VoiceBenchResult;
    expect(parsed.config.timings.fluxFinalMs).toBe(400);
    expect(voiceTable(parsed)).toMatch(/^\| flux \+ eager \| Eager after 150 ms, EndOfTurn after 400 ms \| \d+ \/ \d+ \/ \d+ \|/m);
  }, 120_000);
});
