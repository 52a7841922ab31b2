/**
 * Builds a call's event log from XState inspection events (the root actor's `inspect` option) and the events the
 * machine emits. It runs inside every event the machine processes, so it only appends small objects to an array:
 * no serialisation, no I/O (that happens when the recorder drains the buffer at turn boundaries).
 * The same capture runs during a replay, so a live log and a replayed one are compared like with like.
 */
import { Actor, type AnyActorRef, type EventObject, type InspectionEvent, type StateValue } from 'xstate';
import type { CallEmitted } from '../../machines/emitted.js';
import { now } from '../../lib/clock.js';
import { inputHash, roundMs, type LogEntry } from './event-log.js';
import { errorMessage } from '../../lib/logger.js';

/**
 * Actions the server provides (side effects outside the machine's children) that the log keeps, with their params.
 * Add the names of new provided actions here so replay checks them too.
 */
export const RECORDED_ACTIONS: ReadonlySet<string> = new Set<string>([]); // none today: transfers are the `transfer` child

/** Children whose input is not hashed (no input, or none worth checking). */
// configure's input is the call's options, which the log keeps as its input already.
const UNHASHED_CHILDREN: ReadonlySet<string> = new Set(['transport', 'stt', 'tts', 'configure']);

type RootSnapshot = { value?: StateValue; children?: Record<string, AnyActorRef | undefined> };

export class EventCapture {
  private buffer: LogEntry[] = [];
  private lastState: StateValue | undefined;
  private lastChildren: RootSnapshot['children'];
  private children = new Map<string, AnyActorRef>();
  private full = false;

  /**
   * @param t0 epoch ms the entries' `t` count from
   * @param clock the time source (`lib/clock.now` live; the replay clock in a replay)
   * @param onBufferFull called once when `flushEvery` entries are waiting (a long turn), so they get written
   */
  constructor(
    readonly t0: number,
    private readonly clock: () => number = now,
    private readonly onBufferFull: () => void = () => undefined,
    private readonly flushEvery = 2000,
  ) {}

  /** Pass as (or combine into) the root actor's `inspect` option. */
  readonly inspect = (event: InspectionEvent): void => {
    switch (event.type) {
      case '@xstate.event': {
        if (event.actorRef.sessionId === event.rootId) {
          if (event.event.type === 'xstate.init') return;
          this.push({ t: this.time(), in: loggable(event.event) });
        } else if (event.sourceRef?.sessionId === event.rootId && event.event.type !== 'xstate.init') {
          // (a child's init event carries its whole input: the LLM's is the conversation, hashed on `start` instead)
          this.push({ t: this.time(), to: (event.actorRef as AnyActorRef).id, cmd: event.event });
        }
        return;
      }
      case '@xstate.snapshot':
        if (event.actorRef.sessionId === event.rootId) this.noteSnapshot(event.snapshot as RootSnapshot);
        return;
      case '@xstate.action':
        if (event.actorRef.sessionId === event.rootId && RECORDED_ACTIONS.has(event.action.type)) {
          this.push({ t: this.time(), action: event.action.type, params: event.action.params as unknown });
        }
        return;
      default:
        return;
    }
  };

  /** Pass to `actor.on('*', …)`. */
  readonly emitted = (event: CallEmitted): void => {
    this.push({ t: this.time(), emit: event });
  };

  /** Entries captured since the last take. */
  take(): LogEntry[] {
    const taken = this.buffer;
    this.buffer = [];
    this.full = false;
    return taken;
  }

  /** The type of the last event received since the last take (the replay checks which timer fired). */
  lastInputType(): string | undefined {
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const entry = this.buffer[i];
      if (entry !== undefined && 'in' in entry) return entry.in.type;
    }
    return undefined;
  }

  get pending(): number {
    return this.buffer.length;
  }

  private time(): number {
    return roundMs(this.clock() - this.t0);
  }

  private push(entry: LogEntry): void {
    this.buffer.push(entry);
    if (!this.full && this.buffer.length >= this.flushEvery) {
      this.full = true;
      this.onBufferFull();
    }
  }

  private noteSnapshot(snapshot: RootSnapshot): void {
    // Runs after every event the machine processes: most leave state and children as they were (interims,
    // tokens), so compare without allocating and write only changes.
    const value = snapshot.value;
    if (value !== undefined && !sameState(value, this.lastState)) {
      this.lastState = value;
      this.push({ t: this.time(), state: value });
    }
    const children = snapshot.children;
    if (children === undefined || children === this.lastChildren) return;
    this.lastChildren = children;
    let t: number | undefined;
    for (const [id, ref] of this.children) {
      if (children[id] !== ref) {
        this.children.delete(id);
        this.push({ t: (t ??= this.time()), stop: id });
      }
    }
    for (const id in children) {
      const ref = children[id];
      if (ref === undefined || this.children.get(id) === ref) continue;
      this.children.set(id, ref);
      const input = UNHASHED_CHILDREN.has(id) || !(ref instanceof Actor) ? undefined : inputHash(ref.options.input);
      t ??= this.time();
      this.push(input === undefined ? { t, start: id } : { t, start: id, input });
    }
  }
}

function sameState(a: StateValue, b: StateValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a === 'string' || typeof b === 'string' || b === undefined) return false;
  let keys = 0;
  for (const key in a) {
    const child = a[key];
    const other = b[key];
    if (child === undefined || other === undefined ? child !== other : !sameState(child, other)) return false;
    keys++;
  }
  for (const _ in b) keys--;
  return keys === 0;
}

/** Child failures carry an Error, which JSON cannot hold: keep its message. */
function loggable(event: EventObject): EventObject {
  if (!event.type.startsWith('xstate.error.')) return event;
  const error = (event as { error?: unknown }).error;
  return { type: event.type, error: { message: errorMessage(error) } } as EventObject;
}

/** One `inspect` option from several observers (the Stately inspector and the recorder), skipping absent ones. */
export function combineInspect(
  ...observers: ReadonlyArray<((event: InspectionEvent) => void) | { next?: (event: InspectionEvent) => void } | undefined>
): ((event: InspectionEvent) => void) | undefined {
  const fns = observers.flatMap((o) => (o === undefined ? [] : [typeof o === 'function' ? o : (e: InspectionEvent) => o.next?.(e)]));
  if (fns.length === 0) return undefined;
  if (fns.length === 1) return fns[0];
  return (event) => {
    for (const fn of fns) fn(event);
  };
}
