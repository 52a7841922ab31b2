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
import { modelOptions, planPaths, stateName, type ModelConfig } from './model.js';
import { DESIGN_STATES, expectedAfter } from './oracle.js';

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

  it(`plans ${plan.paths.length} paths over ${plan.states} model states and ${plan.edges} edges`, () => {
    expect(plan.states).toBeGreaterThan(100);
  });

  /**
   * The paths are planned on the machine itself, so the replay's independent checks are the invariants (rebuilt from
   * what the children received) and the oracle (the design's state table, written apart from the machine).
   */
  // CPU work, not timing: ~15 s alone on 2 cores, several times that beside the rest of the suite.
  it('replays every path on a live actor, checking invariants and the oracle after every step', { timeout: 180_000 }, () => {
    const visited = new Set<string>();
    let answered = 0;
    for (const path of plan.paths) {
      const driver = new CallDriver(config.options, coverage.mark);
      const observer = new CallObserver(driver, config.options);
      const trail: string[] = [];
      const echoed = new Set<string>();
      let screened = false;
      try {
        for (const { event } of path) {
          const before = stateName(driver.snapshot);
          if (event.type === 'TRANSPORT.START') screened = event.customParameters['Amd'] === '1';
          const firstEcho = event.type === 'TRANSPORT.MARK' && !echoed.has(event.name);
          if (event.type === 'TRANSPORT.MARK') echoed.add(event.name);
          const step = driver.send(event);
          const after = stateName(step.after);
          visited.add(after);
          trail.push(`${event.type} → ${after}`);
          observer.check(step);
          const expected = expectedAfter(before, event, { screened, firstEcho }, config.options);
          if (expected !== null) {
            answered++;
            expect(expected, `${before} --${event.type}--> ${after}: the design table says`).toContain(after);
          }
        }
      } catch (error) {
        throw new Error(`path failed:\n  ${trail.join('\n  ')}\n${String(error)}`, { cause: error });
      } finally {
        driver.actor.stop();
      }
    }
    // One inference round at most (maxToolRounds 1) leaves no room for a tool round: tooling is not reachable then.
    const reachable = DESIGN_STATES.filter((state) => state !== 'respond.tooling' || config.options.maxToolRounds > 1);
    expect([...visited].sort(), 'the paths reach every state of the design').toEqual([...reachable].sort());
    expect(answered, 'the oracle decided a good share of the steps').toBeGreaterThan(plan.paths.length);
  });
});

describe('transition coverage', () => {
  it('walks every transition of the machine definition', () => {
    expect(coverage.all.length).toBeGreaterThan(50);
    expect(coverage.missing()).toEqual([]);
  });
});
