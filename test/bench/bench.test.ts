/**
 * A quick smoke run of the benchmark: the real server process, the simulators and two simulated calls (greeting, a
 * question, a story interrupted by a barge-in, its answer). Proves the bench runs end to end with zero failed calls,
 * measures every turn and writes a well-formed result. Timing is reported by the bench, never asserted here.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench.js';
import { markdownTable, writeResult, type BenchResult } from '../../bench/report.js';
import { defaultLatencies } from '../../bench/world.js';
import { builtServer } from '../support/built-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('npm run bench (smoke)', () => {
  it('runs two calls through the server process with no failures and writes a well-formed result', async () => {
    const result = await runBench({
      cwd: repo,
      builtEntry: await builtServer(),
      concurrency: [2],
      turns: 2,
      warmUpCalls: 0,
      wordMs: 120,
      // Short agent audio keeps the calls short; the providers' latencies stay as configured.
      latencies: { ...defaultLatencies, ttsMsPerChar: 12 },
    });

    expect(result.levels).toHaveLength(1);
    const level = result.levels[0];
    if (!level) throw new Error('no level');
    expect(level.calls).toBe(2);
    expect(level.failures).toEqual({});
    expect(level.failedCalls).toBe(0);
    // turns: 2 → a question, the story and the barge-in: three answered utterances per call, each measured.
    expect(level.turnsPerCall).toBe(3);
    expect(level.unmeasuredTurns).toBe(0);
    expect(level.turnOverheadMs.n).toBe(6);
    expect(level.bargeInToClearMs.n).toBe(2);
    expect(level.bargeInToTtsClearMs.n).toBe(2);
    expect(level.greetingMs.n).toBe(2);
    // The overhead is the server's own share: every turn's end-to-end also holds the providers' simulated latencies
    // (LLM first token, TTS first byte), which the overhead must not contain (order statistics keep per-turn bounds).
    const providersMs = defaultLatencies.llmFirstTokenMs + defaultLatencies.ttsFirstByteMs;
    expect(level.endToEndMs.p50).toBeGreaterThanOrEqual(providersMs);
    expect(level.turnOverheadMs.p50).toBeLessThanOrEqual((level.endToEndMs.p50 ?? 0) - providersMs);
    // The barge-in is honoured on the caller's first words: the clear reaches the caller before the end of turn
    // (speech_final) could even be sent, `endpointingMs` after the caller stops.
    expect(level.bargeInToClearMs.max).toBeLessThan(defaultLatencies.endpointingMs);
    expect(level.serverCpuMsPerCallSecond).toBeGreaterThan(0);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
    const file = writeResult(result, dir);
    expect(readdirSync(dir).sort()).toEqual([path.basename(file), 'latest.json'].sort());
    const parsed = JSON.parse(readFileSync(path.join(dir, 'latest.json'), 'utf8')) as BenchResult;
    expect(parsed.levels[0]?.concurrency).toBe(2);
    expect(parsed.config.turns).toBe(2);
    expect(parsed.rev).toMatch(/^[0-9a-f]{4,}(-dirty)?$/);
    expect(markdownTable(parsed.levels)).toMatch(/^\| 2 \| /m);
  }, 90_000);
});
