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
 * Not scaled, on purpose: the server's own settings (timeouts, endpointing, watchdogs): they are the product's
 * behaviour, and the config validates their ranges; a test that waits on one sets it through the environment. Nor the
 * caller's patience (`quietMs`): it must outlast real scheduling gaps between an answer's sentences.
 */
import type { SimulatorOptions } from '../server/providers.js';
import type { SimulatedCallOptions } from '../../offline/twilio-caller-types.js';
import { TTS_PACE_DEFAULTS } from '../../offline/deepgram.js';
import { LLM_PACE_DEFAULTS } from '../../offline/llm.js';
import { CALLER_WORD_MS_DEFAULT } from '../../offline/twilio-caller.js';

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
