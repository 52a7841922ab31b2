/**
 * Live test rig for the call machine: recording stub children (provided with `machine.provide`), a SimulatedClock,
 * and a driver that replays model events (including `xstate.after.*` timers and `xstate.error.actor.*` child
 * failures) on a real actor while recording, per step, the commands each child received, starts/stops, emitted
 * events and the transitions taken (from the inspector's microsteps).
 */
import {
  createActor,
  fromCallback,
  fromPromise,
  SimulatedClock,
  type AnyActorRef,
  type AnyTransitionDefinition,
  type EventObject,
  type InspectionEvent,
} from 'xstate';
import { callMachine, type CallActorRef, type CallSnapshot } from '../../machines/call.machine.js';
import type { CallEmitted } from '../../machines/emitted.js';
import type { ConfigureInput, TransferInput } from '../../machines/context.js';
import type { CallEvent, LlmInput, ToolRunInput, TransportCommand, TtsCommand } from '../../machines/events.js';
import { callDelayMs, type CallDelay } from '../../machines/delays.js';
import { defaultCallOptions, type CallOptions } from '../../machines/options.js';

export type ChildName = 'transport' | 'stt' | 'tts' | 'llm' | 'tools' | 'configure' | 'transfer';

/** Tells a stub child to throw from its receive handler, which XState reports as `xstate.error.actor.<id>`. */
export const THROW_COMMAND = 'TEST.THROW';

export type ChildRecord =
  | { child: ChildName; kind: 'start'; instance: number; input: unknown }
  | { child: ChildName; kind: 'command'; instance: number; event: EventObject }
  | { child: ChildName; kind: 'stop'; instance: number }
  /** Threw on purpose. XState does not run a failed callback child's cleanup: it is simply dead. */
  | { child: ChildName; kind: 'failed'; instance: number };

/** Recording stubs for the four children. Every child instance gets a number so restarts are visible. */
export function recordingChildren() {
  const records: ChildRecord[] = [];
  let instances = 0;
  function stub<TEvent extends EventObject, TInput>(child: ChildName) {
    return fromCallback<TEvent, TInput>(({ receive, input }) => {
      const instance = ++instances;
      records.push({ child, kind: 'start', instance, input });
      receive((event) => {
        if (event.type === THROW_COMMAND) {
          records.push({ child, kind: 'failed', instance });
          throw new Error(`${child} stub failed on purpose`);
        }
        records.push({ child, kind: 'command', instance, event });
      });
      return () => records.push({ child, kind: 'stop', instance });
    });
  }
  /** Promise children never settle by themselves: the test delivers their done/error events (see `ev`). */
  function pending<TOutput, TInput>(child: ChildName) {
    return fromPromise<TOutput, TInput>(({ input, signal }) => {
      const instance = ++instances;
      records.push({ child, kind: 'start', instance, input });
      return new Promise<TOutput>(() => {
        signal.addEventListener('abort', () => records.push({ child, kind: 'stop', instance }));
      });
    });
  }
  const actors = {
    transport: stub<TransportCommand, unknown>('transport'),
    stt: stub<EventObject, { language: string | null }>('stt'),
    tts: stub<TtsCommand, { voice: string | null }>('tts'),
    llm: stub<EventObject, LlmInput>('llm'),
    tools: stub<EventObject, ToolRunInput>('tools'),
    configure: pending<CallOptions, ConfigureInput>('configure'),
    transfer: pending<void, TransferInput>('transfer'),
  };
  return { actors, records };
}

export type ModelEvent =
  | CallEvent
  | { type: `xstate.after.${string}` }
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: `xstate.done.actor.${string}`; output: unknown };

export type StepRecord = {
  event: ModelEvent;
  before: CallSnapshot;
  after: CallSnapshot;
  children: ChildRecord[];
  emitted: CallEmitted[];
  transitions: AnyTransitionDefinition[];
};

/** Walked transitions are reported to this callback (coverage). */
export type TransitionSink = (transition: AnyTransitionDefinition) => void;

export class CallDriver {
  readonly clock = new SimulatedClock();
  readonly records: ChildRecord[];
  readonly emitted: CallEmitted[] = [];
  readonly steps: StepRecord[] = [];
  readonly actor: CallActorRef;
  readonly errors: unknown[] = [];
  private transitions: AnyTransitionDefinition[] = [];

  constructor(
    readonly options: CallOptions = defaultCallOptions,
    sink?: TransitionSink,
  ) {
    const { actors, records } = recordingChildren();
    this.records = records;
    const machine = callMachine.provide({ actors });
    this.actor = createActor(machine, {
      input: { options },
      clock: this.clock,
      inspect: (event: InspectionEvent) => {
        if (event.type !== '@xstate.microstep' || event.actorRef !== this.actor) return;
        for (const transition of event._transitions) {
          this.transitions.push(transition);
          sink?.(transition);
        }
      },
    });
    this.actor.on('*', (event) => this.emitted.push(event));
    this.actor.subscribe({ error: (error) => this.errors.push(error) });
    this.actor.start();
  }

  get snapshot(): CallSnapshot {
    return this.actor.getSnapshot();
  }

  /** Replays one model event; timers advance the simulated clock by exactly their delay. */
  send(event: ModelEvent): StepRecord {
    const before = this.snapshot;
    const childMark = this.records.length;
    const emittedMark = this.emitted.length;
    this.transitions = [];
    if (event.type.startsWith('xstate.after.')) {
      const delay = event.type.split('.')[2] as CallDelay;
      this.clock.increment(callDelayMs(delay, before.context));
    } else if (event.type.startsWith('xstate.error.actor.')) {
      const id = event.type.slice('xstate.error.actor.'.length) as ChildName;
      const child = before.children[id];
      if (child === undefined) throw new Error(`no child ${id} to fail in ${JSON.stringify(before.value)}`);
      // A callback child fails for real (its receive handler throws). One that already failed cannot fail again,
      // and a promise child is settled by the test: those get the event XState would have produced.
      const callback = !['configure', 'transfer'].includes(id);
      if (callback && child.getSnapshot().status === 'active') (child as AnyActorRef).send({ type: THROW_COMMAND });
      else this.actor.send(event as unknown as CallEvent);
    } else {
      this.actor.send(event as CallEvent);
    }
    const step: StepRecord = {
      event,
      before,
      after: this.snapshot,
      children: this.records.slice(childMark),
      emitted: this.emitted.slice(emittedMark),
      transitions: this.transitions,
    };
    this.steps.push(step);
    return step;
  }

  /** Commands one child received so far (or in `records`). */
  commands(child: ChildName, records: readonly ChildRecord[] = this.records): EventObject[] {
    return records.flatMap((record) => (record.child === child && record.kind === 'command' ? [record.event] : []));
  }

  running(child: ChildName): number {
    const started = this.records.filter((record) => record.child === child && record.kind === 'start').length;
    const stopped = this.records.filter(
      (record) => record.child === child && (record.kind === 'stop' || record.kind === 'failed'),
    ).length;
    return started - stopped;
  }

  llmInputs(): LlmInput[] {
    return this.inputs('llm') as LlmInput[];
  }

  inputs(child: ChildName): unknown[] {
    return this.records.flatMap((record) => (record.child === child && record.kind === 'start' ? [record.input] : []));
  }
}

// ── Event builders (times are arbitrary but increasing; the machine only copies them) ──────────────────────
let now = 1_700_000_000_000;
const at = () => (now += 10);

export const ev = {
  start: (parameters: Record<string, string> = {}): CallEvent => ({
    type: 'TRANSPORT.START',
    streamSid: 'MZ0001',
    callSid: 'CA0001',
    accountSid: 'AC0001',
    customParameters: { From: '+15550100', ...parameters },
    at: at(),
  }),
  dtmf: (digit: string): CallEvent => ({ type: 'TRANSPORT.DTMF', digit, at: at() }),
  eager: (text: string): CallEvent => ({ type: 'STT.EAGER_END', text, at: at() }),
  turnResumed: (): CallEvent => ({ type: 'STT.TURN_RESUMED', at: at() }),
  turnStarted: (text = ''): CallEvent => ({ type: 'STT.TURN_STARTED', text, at: at() }),
  answeredBy: (answeredBy: 'human' | 'machine' | 'unknown'): CallEvent => ({ type: 'CALL.ANSWERED_BY', answeredBy, at: at() }),
  mark: (name: string, played = true): CallEvent => ({ type: 'TRANSPORT.MARK', name, played, at: at() }),
  final: (text: string, speechFinal: boolean): CallEvent => ({ type: 'STT.FINAL', text, speechFinal, at: at() }),
  interim: (text: string): CallEvent => ({ type: 'STT.INTERIM', text, at: at() }),
  utteranceEnd: (): CallEvent => ({ type: 'STT.UTTERANCE_END', at: at() }),
  speechStarted: (): CallEvent => ({ type: 'STT.SPEECH_STARTED', at: at() }),
  sttConnected: (resentBytes = 0): CallEvent => ({ type: 'STT.CONNECTED', resentBytes, at: at() }),
  text: (text: string): CallEvent => ({ type: 'LLM.TEXT', text, at: at() }),
  done: (): CallEvent => ({ type: 'LLM.DONE', at: at() }),
  llmError: (): CallEvent => ({ type: 'LLM.ERROR', message: 'upstream 500', at: at() }),
  tool: (name: string, args: Record<string, unknown> = {}, id = `call_${name}`, argsError?: string): CallEvent => ({
    type: 'LLM.TOOL_CALL',
    id,
    name,
    args,
    ...(argsError !== undefined ? { argsError } : {}),
    at: at(),
  }),
  toolResult: (id: string, name: string, ok = true, content = ok ? '{"status":"shipped"}' : '{"error":"boom"}'): CallEvent => {
    const time = at();
    return { type: 'TOOL.RESULT', id, name, ok, content, startedAt: time - 5, at: time };
  },
  /** The configure child's result (this call's options). */
  /** The flow child entered a step (plain: no phrase, no transfer, history kept). */
  flowStep: (step: string): CallEvent => ({
    type: 'FLOW.STEP',
    step,
    cause: null,
    instructions: `Now ${step}.`,
    tools: ['lookup_order'],
    history: 'keep',
    say: null,
    transferTo: null,
    context: {},
    at: at(),
  }),
  configured: (options: CallOptions): ModelEvent => ({ type: 'xstate.done.actor.configure', output: options }),
  transferred: (): ModelEvent => ({ type: 'xstate.done.actor.transfer', output: undefined }),
  transferFailed: (): ModelEvent => ({ type: 'xstate.error.actor.transfer', error: new Error('Twilio said no') }),
  cleared: (): CallEvent => ({ type: 'TTS.CLEARED', at: at() }),
  firstAudio: (): CallEvent => ({ type: 'TTS.FIRST_AUDIO', at: at() }),
  audioStarted: (): CallEvent => ({ type: 'TRANSPORT.AUDIO_STARTED', at: at() }),
  stop: (): CallEvent => ({ type: 'TRANSPORT.STOP', reason: 'stop', at: at() }),
  hangup: (polite = false): CallEvent => ({ type: 'CALL.HANGUP', reason: polite ? 'drain timeout' : 'operator', polite }),
  sttError: (recoverable: boolean): CallEvent => ({ type: 'STT.ERROR', message: 'socket dropped', recoverable, at: at() }),
  ttsError: (recoverable: boolean): CallEvent => ({ type: 'TTS.ERROR', message: 'socket dropped', recoverable, at: at() }),
};
