/**
 * Model-based test of the call machine: paths generated with xstate/graph over the machine (every event type and
 * its guarded variants, timers and child failures) are replayed on a live actor with recording stub children and
 * a simulated clock; invariants are checked after every step; transition coverage is computed from the machine
 * definition and must be complete.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { callMachine } from '../../machines/call.machine.js';
import { TransitionCoverage } from './coverage.js';
import { CallDriver } from './harness.js';
import { CallObserver } from './invariants.js';
import { modelOptions, planPaths, serializeModelState, stateName, type ModelConfig } from './model.js';

const configs: ModelConfig[] = [
  { name: 'defaults (interruptible greeting, 1 word interrupts), tools, 2 tool rounds', options: modelOptions() },
  {
    name: 'non-interruptible greeting, 2 words interrupt, keys do not, 1 re-prompt, 1 tool round',
    options: modelOptions({ greetingInterruptible: false, minInterruptWords: 2, dtmfInterrupts: false, maxReprompts: 1, maxToolRounds: 1 }),
  },
];

const coverage = new TransitionCoverage(callMachine);

afterAll(() => {
  console.log(coverage.summary());
});

describe.each(configs)('call machine model: $name', (config) => {
  const plan = planPaths(config);

  it(`reaches a sane number of states (${plan.states} states, ${plan.edges} edges, ${plan.paths.length} paths)`, () => {
    expect(plan.states).toBeGreaterThan(100);
    expect(plan.paths.length).toBeGreaterThanOrEqual(plan.states - 1);
  });

  it('replays every path on a live actor, checking invariants after every step', () => {
    for (const path of plan.paths) {
      const driver = new CallDriver(config.options, coverage.mark);
      const observer = new CallObserver(driver, config.options);
      const trail: string[] = [];
      try {
        for (const { event, expected } of path) {
          const step = driver.send(event);
          trail.push(`${event.type} → ${stateName(step.after)}`);
          observer.check(step);
          expect(serializeModelState(step.after), 'the live actor follows the model').toBe(expected);
        }
      } catch (error) {
        throw new Error(`path failed:\n  ${trail.join('\n  ')}\n${String(error)}`, { cause: error });
      } finally {
        driver.actor.stop();
      }
    }
  });
});

describe('transition coverage', () => {
  it('walks every transition of the machine definition', () => {
    expect(coverage.all.length).toBeGreaterThan(50);
    expect(coverage.missing()).toEqual([]);
  });
});
