/**
 * One speed factor for the simulated world: every duration the simulators and the simulated caller make up (the
 * agent's TTS audio per character and its first byte, the LLM's first token and token rate, the caller's speech per
 * word) is divided by `speed`, so a call holds the same events in the same order and proportions, only shorter.
 * Used by the tests (test/support/sim-speed.ts) and by `simulateCall({ speed })` for agent developers' own tests.
 *
 * Why a factor on durations and not an injectable fake clock: the world under test is real sockets and real 20 ms
 * media frames on loopback, XState's own timers inside the server, and sometimes a server in a child process. A fake
 * clock would have to be threaded through all of them (and through machines/, which must stay pure) and would make
 * the loopback wire something it is not. Scaled durations keep every clock real; less audio is sent, so a call also
 * costs less CPU; nothing in machines/ or actors/ changes.
 *
 * A whole simulated world (`startOfflineStack({ speed })`, which simulateCall uses) also runs the server's
 * conversation timings on that clock — the settings that wait on the simulated caller or the simulated providers:
 * STT endpointing and utterance end, the idle re-prompt, the false-interruption wait, the DTMF inter-key timeout
 * (`serverTimingsAtSpeed`); the caller's patience (the quiet after which a reply counts as heard) and its script's own
 * durations (pauses, hesitations, barge-in offsets, key gaps: `scriptAtSpeed`). All by the same factor, so a call at
 * speed N is the call at speed 1, N times shorter. The product's defaults stay the real values (machines/options.ts,
 * src/server/config.ts): only this harness scales them, and Deepgram's simulator is told the clock speed so its API
 * minimums hold on the same clock.
 *
 * Not scaled, on purpose: what bounds real work, which no speed factor makes faster — the agent's tools run real code
 * (the tool filler delay and tool timeouts), and the safety nets that fire only when something is broken (LLM and
 * first-token timeouts, STT/TTS watchdogs, mark, clear and hand-off timeouts): scaled, they would turn the machine's
 * scheduling jitter into failures no real call has. For the same reason a harness that can see the server's events
 * tells the caller when a reply is finished (SimulatedCallOptions.replyFinished): a caller whose patience is 44 ms
 * would otherwise talk into a reply whose tool is still running real code. The tests' own worlds
 * (test/support/sim-speed.ts) scale only the simulators and the caller's speech; a test that waits on a server setting
 * sets it through the environment.
 */
import type { SimulatorOptions } from '../server/providers.js';
import type { SimulatedCallOptions } from '../../offline/twilio-caller-types.js';
import { TTS_PACE_DEFAULTS } from '../../offline/deepgram.js';
import { LLM_PACE_DEFAULTS } from '../../offline/llm.js';
import { CALLER_PATIENCE_DEFAULTS, CALLER_WORD_MS_DEFAULT } from '../../offline/twilio-caller.js';
import { SCRIPT_STEP_DEFAULTS } from '../../offline/twilio-caller-script.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';
import type { SttOptions } from '../../actors/deepgram-stt.js';
import type { CallOptions } from '../../machines/options.js';

function checked(speed: number): number {
  if (!Number.isFinite(speed) || speed < 1) throw new RangeError(`speed must be a number ≥ 1 (got ${speed})`);
  return speed;
}

/** A simulated duration at `speed` (never 0: zero means "off" to some options). */
export function atSpeed(realMs: number, speed: number): number {
  return Math.max(1, Math.round(realMs / checked(speed)));
}

/** The simulators' defaults at `speed`; what `own` sets wins. */
export function simulatorsAtSpeed(speed: number, own: SimulatorOptions = {}): SimulatorOptions {
  return {
    ...own,
    deepgram: {
      clockSpeed: checked(speed),
      ttsMsPerChar: atSpeed(TTS_PACE_DEFAULTS.ttsMsPerChar, speed),
      ttsFirstByteMs: atSpeed(TTS_PACE_DEFAULTS.ttsFirstByteMs, speed),
      ...own.deepgram,
    },
    llm: { firstTokenMs: atSpeed(LLM_PACE_DEFAULTS.firstTokenMs, speed), tokensPerSecond: LLM_PACE_DEFAULTS.tokensPerSecond * checked(speed), ...own.llm },
  };
}

/** The simulated caller's speech at `speed`; what `own` sets wins. */
export function callerAtSpeed(speed: number, own: Partial<SimulatedCallOptions> = {}): Partial<SimulatedCallOptions> {
  return { wordMs: atSpeed(CALLER_WORD_MS_DEFAULT, speed), ...own };
}

/**
 * The caller's speech and patience at `speed` (a whole world at that speed: see the header); what `own` sets wins.
 * Not `agentTurnGapMs`: it only groups what was heard into turns and costs no time, and one reply's sentences can be
 * apart by real work (a tool), which no clock makes shorter.
 */
export function callerPatienceAtSpeed(speed: number, own: Partial<SimulatedCallOptions> = {}): Partial<SimulatedCallOptions> {
  return { quietMs: atSpeed(CALLER_PATIENCE_DEFAULTS.quietMs, speed), ...callerAtSpeed(speed, own) };
}

/** The server's timings that wait on the simulated caller and providers, at `speed` (see the header for which). */
export function serverTimingsAtSpeed<T extends { stt: SttOptions; callOptions: CallOptions }>(server: T, speed: number): T {
  const { stt, callOptions } = server;
  return {
    ...server,
    stt: { ...stt, endpointingMs: atSpeed(stt.endpointingMs, speed), utteranceEndMs: atSpeed(stt.utteranceEndMs, speed) },
    callOptions: {
      ...callOptions,
      idleTimeoutMs: atSpeed(callOptions.idleTimeoutMs, speed),
      // 0 means "never resume": it stays 0.
      falseInterruptionTimeoutMs: callOptions.falseInterruptionTimeoutMs === 0 ? 0 : atSpeed(callOptions.falseInterruptionTimeoutMs, speed),
      dtmfTimeoutMs: atSpeed(callOptions.dtmfTimeoutMs, speed),
    },
  };
}

/**
 * A caller script's own durations at `speed`: pauses, hesitations, barge-in offsets and key gaps. Not its wait
 * timeouts: they bound the agent's real work (see the header).
 */
export function scriptAtSpeed(steps: readonly ScriptStep[], speed: number): ScriptStep[] {
  const scaled = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms === 0 ? 0 : atSpeed(ms, speed));
  return steps.map((step): ScriptStep => {
    if ('say' in step) return { ...step, hesitationMs: atSpeed(step.hesitationMs ?? SCRIPT_STEP_DEFAULTS.hesitationMs, speed) };
    if ('pause' in step) return { pause: scaled(step.pause) ?? 0 };
    if ('dtmf' in step) return { ...step, gapMs: atSpeed(step.gapMs ?? SCRIPT_STEP_DEFAULTS.dtmfGapMs, speed) };
    if (('bargeIn' in step || 'noise' in step) && step.afterMs !== undefined) return { ...step, afterMs: scaled(step.afterMs) };
    return step;
  });
}
