/**
 * The tests' pace: the simulated world (src/harness/sim-speed.ts says what is scaled and why) runs SIM_SPEED times
 * faster than the README demo. `TEST_SIM_SPEED=1` runs the suite at the demo's pace. Tests that exist to prove
 * real-time behaviour (bench smoke, the softphone's frame rate and mark timing, drain under real signals, the demo)
 * build their world at real pace and do not use this.
 */
import { atSpeed, callerAtSpeed, simulatorsAtSpeed } from '../../src/harness/sim-speed.js';
import type { SimulatorOptions } from '../../src/server/providers.js';
import type { SimulatedCallOptions } from '../../offline/twilio-caller-types.js';

const fromEnv = Number(process.env.TEST_SIM_SPEED ?? '4');
export const SIM_SPEED = Number.isFinite(fromEnv) && fromEnv >= 1 ? fromEnv : 4;

/** A simulated duration (a script's pause) at the tests' pace. */
export function simMs(realMs: number): number {
  return atSpeed(realMs, SIM_SPEED);
}

export function fastSimulators(own: SimulatorOptions = {}): SimulatorOptions {
  return simulatorsAtSpeed(SIM_SPEED, own);
}

export function fastCaller(own: Partial<SimulatedCallOptions> = {}): Partial<SimulatedCallOptions> {
  return callerAtSpeed(SIM_SPEED, own);
}
