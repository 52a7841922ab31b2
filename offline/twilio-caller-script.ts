/**
 * Runs a caller script step by step against one simulated call. The call (the ScriptHost) owns time: every wait is
 * a predicate it checks on its 20 ms tick, so a script adds no timers of its own.
 */
import { BYTES_PER_MS } from '../lib/mulaw.js';
import { asNoise } from './speech-codec.js';
import type { AgentCondition, ScriptStep } from './twilio-caller-types.js';

/** The durations a script step takes when it does not say (a `say`'s hesitations, a `dtmf`'s gap between keys). */
export const SCRIPT_STEP_DEFAULTS = { hesitationMs: 250, dtmfGapMs: 300 } as const;

export interface ScriptHost {
  readonly ended: boolean;
  readonly quietMs: number;
  readonly waitTimeoutMs: number;
  /** See SimulatedCallOptions.replyFinished (true when no harness says otherwise). */
  replyFinished(): boolean;
  /** Speak as simulated speech (`...` = a hesitation); resolves when the last frame is sent (or the call ends). */
  speak(text: string, bargeIn: boolean, hesitationMs?: number): Promise<void>;
  /** Resolves true once `predicate(at)` holds on a tick; false on timeout or when the call ends. */
  waitUntil(predicate: (at: number) => boolean, timeoutMs: number | null): Promise<boolean>;
  agentPlaying(): boolean;
  /** ms since agent audio last played (0 while it plays). */
  quietFor(at: number): number;
  playedBytes(): number;
  /** Marks echoed because their audio played (not those echoed by a clear). */
  playedMarkEchoes(): number;
  now(): number;
  dtmf(digit: string): void;
  hangup(): void;
  note(kind: 'timeout', text: string): void;
}

export async function runScript(host: ScriptHost, steps: readonly ScriptStep[]): Promise<void> {
  for (const step of steps) {
    if (host.ended) return;
    await runStep(host, step);
  }
}

async function runStep(host: ScriptHost, step: ScriptStep): Promise<void> {
  if ('say' in step) return host.speak(step.say, false, step.hesitationMs);
  if ('pause' in step) {
    const until = host.now() + step.pause;
    await host.waitUntil((at) => at >= until, null);
    return;
  }
  if ('waitForAgent' in step) {
    await waitForAgent(host, step.waitForAgent, step.timeoutMs ?? host.waitTimeoutMs);
    return;
  }
  if ('bargeIn' in step || 'noise' in step) {
    const timeoutMs = step.timeoutMs ?? host.waitTimeoutMs;
    if (!(await waitForAgent(host, 'speaking', timeoutMs))) return;
    const from = host.playedBytes();
    const bytes = (step.afterMs ?? 0) * BYTES_PER_MS;
    // If the agent stops before `afterMs`, speak anyway: the script goes on, the timeline shows what happened.
    await host.waitUntil(() => host.playedBytes() - from >= bytes || !host.agentPlaying(), timeoutMs);
    if (!host.ended) await host.speak('noise' in step ? asNoise(step.noise) : step.bargeIn, true);
    return;
  }
  if ('dtmf' in step) return pressKeys(host, step.dtmf, step.gapMs ?? SCRIPT_STEP_DEFAULTS.dtmfGapMs);
  if ('hangup' in step) return host.hangup();
}

const KEYPAD = /^[0-9*#]$/;

async function pressKeys(host: ScriptHost, keys: string, gapMs: number): Promise<void> {
  const pressed = [...keys].filter((key) => key.trim() !== '');
  const bad = pressed.find((key) => !KEYPAD.test(key));
  if (bad !== undefined) throw new Error(`dtmf step: "${bad}" is not a phone key (0-9, *, #)`);
  for (let i = 0; i < pressed.length; i++) {
    if (host.ended) return;
    if (i > 0) {
      const until = host.now() + gapMs;
      await host.waitUntil((at) => at >= until, null);
    }
    host.dtmf(pressed[i] as string);
  }
}

async function waitForAgent(host: ScriptHost, condition: AgentCondition, timeoutMs: number): Promise<boolean> {
  const deadline = host.now() + timeoutMs;
  const remaining = (): number => Math.max(0, deadline - host.now());
  let ok: boolean;
  switch (condition) {
    case 'speaking':
      ok = await host.waitUntil(() => host.agentPlaying(), timeoutMs);
      break;
    case 'silent':
      ok = await host.waitUntil((at) => host.quietFor(at) >= host.quietMs, timeoutMs);
      break;
    case 'mark': {
      const seen = host.playedMarkEchoes();
      ok = await host.waitUntil(() => host.playedMarkEchoes() > seen, timeoutMs);
      break;
    }
    case 'reply':
      ok =
        (await host.waitUntil(() => host.agentPlaying(), timeoutMs)) &&
        (await host.waitUntil((at) => host.quietFor(at) >= host.quietMs && host.replyFinished(), remaining()));
      break;
  }
  if (!ok && !host.ended) host.note('timeout', `waitForAgent ${condition} timed out after ${timeoutMs} ms`);
  return ok;
}

/**
 * A caller's lines as a full script: wait for the greeting, then each line (a string is said after the agent's
 * previous reply has been heard; a step is taken as it is), and hang up after the last reply (a no-op when the agent
 * hung up first). The one shape `simulateCall`, `npm run call -- --offline` and the demo's `--script` share.
 */
export function callerScript(lines: ReadonlyArray<string | ScriptStep>): ScriptStep[] {
  const steps: ScriptStep[] = [{ waitForAgent: 'reply' }];
  for (const line of lines) {
    if (typeof line === 'string') steps.push({ say: line }, { waitForAgent: 'reply' });
    else steps.push(line);
  }
  steps.push({ hangup: true });
  return steps;
}
