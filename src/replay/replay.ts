/**
 * Replays a recorded call: the real call machine (or a changed one), stub children that do nothing, a replay clock,
 * fed the recorded events in their recorded order and times. The same capture that recorded the call records the
 * replay, and every output (states, commands to transport and TTS, children started/stopped — the LLM per turn —,
 * side-effect actions, emitted events) must match the recording in order. The first difference is reported with
 * the event that led to it.
 */
import { createActor, fromCallback, fromPromise, type AnyActorRef, type EventObject, type InspectionEvent } from 'xstate';
import { callMachine, type CallMachine, type ConfigureInput, type SttInput, type TransferInput, type TtsInput } from '../../machines/call.machine.js';
import type { LlmInput, ToolRunInput, TransportCommand, TtsCommand } from '../../machines/events.js';
import { defaultCallOptions, type CallOptions } from '../../machines/options.js';
import { EventCapture, combineInspect } from '../records/capture.js';
import { isOutput, type EventLog, type LogEntry } from '../records/event-log.js';
import { describeEntry, seconds } from './describe.js';
import { ReplayClock } from './replay-clock.js';

/** Sent to a stub child to make it fail the way the recorded child did. */
const FAIL = 'REPLAY.FAIL';

export interface ReplayOptions {
  /** The machine to replay on (default: the call machine as it is now). Tests pass a changed one. */
  machine?: CallMachine;
  /** How far a timer may be from where the recording had it (live timers fire late under load). Default 250 ms. */
  timerToleranceMs?: number;
  /** Also stream the replay to this inspector (the Stately inspector). */
  inspect?: (event: InspectionEvent) => void;
  /**
   * Called before each recorded event with the recorded gap to the previous one (real-time pacing). When it rejects
   * (the pacing was aborted) the replay stops its actor and rejects with that error.
   */
  pace?: (gapMs: number) => Promise<void>;
}

export interface Divergence {
  /** Position in the recorded log where the replay differed. */
  entryIndex: number;
  /** The recorded event that led to it (null: before the first). */
  after: { index: number; t: number; type: string } | null;
  expected: LogEntry | undefined;
  actual: LogEntry | undefined;
  message: string;
}

export interface ReplayResult {
  ok: boolean;
  divergence: Divergence | null;
  /** Events fed (including timers and child failures). */
  events: number;
  /** Outputs compared. */
  outputs: number;
  /** What the replay produced (the same format as the log): print it with `timeline()`. */
  replayed: LogEntry[];
}

export async function replayCall(log: EventLog, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const tolerance = opts.timerToleranceMs ?? 250;
  const clock = new ReplayClock(log.t0);
  const capture = new EventCapture(log.t0, () => clock.now(), () => undefined, Number.MAX_SAFE_INTEGER);
  const machine = (opts.machine ?? callMachine).provide({
    actors: {
      transport: stub<TransportCommand>(),
      stt: stub<EventObject, SttInput>(),
      tts: stub<TtsCommand, TtsInput>(),
      llm: stub<EventObject, LlmInput>(),
      tools: stub<EventObject, ToolRunInput>(),
      // Promise children settle only through their recorded done/error events.
      configure: fromPromise<CallOptions, ConfigureInput>(() => new Promise<CallOptions>(() => undefined)),
      transfer: fromPromise<void, TransferInput>(() => new Promise<void>(() => undefined)),
    },
  });
  const actor = createActor(machine, { input: replayInput(log.input), clock, inspect: combineInspect(capture.inspect, opts.inspect) });
  actor.on('*', capture.emitted);
  let machineError: unknown;
  actor.subscribe({ error: (err) => (machineError = err) });

  // Inputs are fed in recorded order; outputs are compared in recorded order. An output may be logged after a
  // later input (a child answered synchronously, its event queued behind the one being processed), but never
  // before the input that caused it: so before each input, every output recorded before it must have happened.
  const inputs = log.entries.flatMap((entry, index) => ('in' in entry ? [{ index, entry }] : []));
  const expected = log.entries.flatMap((entry, index) => (isOutput(entry) ? [{ index, entry }] : []));
  const replayed: LogEntry[] = [];
  let matched = 0;
  let lastInput: Divergence['after'] = null;
  let events = 0;

  const diverge = (message: string, actual?: LogEntry): ReplayResult => {
    const wanted = expected[matched];
    // Name the recorded event the expected output answered (the last input logged before it).
    const cause = [...inputs].reverse().find((input) => input.index < (wanted?.index ?? log.entries.length));
    const where =
      cause === undefined ? 'before the first event' : `in answer to event #${cause.index} ${cause.entry.in.type} (${seconds(cause.entry.t)})`;
    const divergence: Divergence = {
      entryIndex: wanted?.index ?? log.entries.length,
      after: lastInput,
      expected: wanted?.entry,
      actual,
      message: `${message}, ${where}`,
    };
    return { ok: false, divergence, events, outputs: matched, replayed };
  };

  /** Compares what the replay produced since the last call with the recording. */
  const compare = (): ReplayResult | null => {
    const produced = capture.take();
    replayed.push(...produced);
    for (const actual of produced) {
      if (!isOutput(actual)) continue; // inputs are ours (fed from the log); timers are checked where they fire
      const wanted = expected[matched];
      if (wanted === undefined) return log.truncated ? null : diverge(`the replay did ${describeEntry(actual)} after the recording ended`, actual);
      if (key(wanted.entry) !== key(actual)) return diverge(`expected ${describeEntry(wanted.entry)}, the replay did ${describeEntry(actual)}`, actual);
      matched++;
    }
    return null;
  };

  actor.start();
  // A pace that rejects (an aborted replay) ends the replay there: the actor is stopped all the same.
  try {
    let result = compare();
    let previousT = 0;
    for (const { index, entry } of inputs) {
      if (result) break;
      const missing = expected[matched];
      if (missing !== undefined && missing.index < index) {
        result = diverge(`the recording did ${describeEntry(missing.entry)}, the replay did not`);
        break;
      }
      await opts.pace?.(entry.t - previousT);
      previousT = entry.t;
      const at = log.t0 + entry.t;
      const event = entry.in;
      if (event.type.startsWith('xstate.after.')) {
        const pendingDue = clock.earliestDue();
        if (pendingDue === null) {
          result = diverge(`the recording has timer ${event.type} at ${seconds(entry.t)}, but the replay has no timer pending`);
          break;
        }
        if (Math.abs(pendingDue - at) > tolerance) {
          result = diverge(`timer ${event.type} fired at ${seconds(entry.t)} in the recording but is due at ${seconds(pendingDue - log.t0)} in the replay`);
          break;
        }
        clock.fireNext(at);
        const fired = capture.lastInputType();
        if (fired !== event.type) {
          result = diverge(`the recording has timer ${event.type} here, the replay's next timer was ${fired ?? 'none'}`);
          break;
        }
      } else {
        const due = clock.earliestDue();
        if (due !== null && due < at - tolerance) {
          result = diverge(`a timer due at ${seconds(due - log.t0)} would have fired before event #${index} ${event.type} at ${seconds(entry.t)}`);
          break;
        }
        clock.advanceTo(at);
        deliver(actor, event);
      }
      events++;
      lastInput = { index, t: entry.t, type: event.type };
      if (machineError !== undefined) {
        result = diverge(`the machine failed: ${String(machineError)}`);
        break;
      }
      // A final state's last snapshot is inspected after the actor completes: let that happen before comparing.
      await Promise.resolve();
      result = compare();
    }
    if (!result && matched < expected.length && !log.truncated) result = diverge(`the replay did not do ${describeEntry(expected[matched]?.entry)}`);
    return result ?? { ok: true, divergence: null, events, outputs: matched, replayed };
  } finally {
    actor.stop();
  }
}

/** Feeds one recorded event: child failures make the stub child fail for real; the rest is sent to the machine. */
function deliver(actor: AnyActorRef, event: EventObject): void {
  if (event.type.startsWith('xstate.error.actor.')) {
    const id = event.type.slice('xstate.error.actor.'.length);
    const message = (event as { error?: { message?: string } }).error?.message ?? 'failed';
    const child = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children[id];
    if (child !== undefined && child.getSnapshot().status === 'active') {
      child.send({ type: FAIL, message });
      return;
    }
    actor.send({ type: event.type, error: new Error(message) });
    return;
  }
  actor.send(event);
}

function stub<TEvent extends EventObject, TInput = unknown>() {
  return fromCallback<TEvent, TInput>(({ receive }) => {
    receive((event) => {
      const failure = event as EventObject & { message?: string };
      if (failure.type === FAIL) throw new Error(failure.message);
    });
  });
}

/** The recorded input, with options added since the recording filled from today's defaults. */
function replayInput(input: unknown): { options: typeof defaultCallOptions } {
  const recorded = (typeof input === 'object' && input !== null ? input : {}) as { options?: object };
  return { ...recorded, options: { ...defaultCallOptions, ...recorded.options } };
}

function key(entry: LogEntry): string {
  const { t: _t, ...rest } = entry;
  return JSON.stringify(rest);
}
