/**
 * Test harness for the Deepgram actors: runs one child actor inside a tiny XState parent machine that records every
 * event the child sends back, and forwards commands to it (as the call machine does with sendTo).
 */
import { createActor, sendTo, setup, type AnyActorLogic, type EventObject } from 'xstate';
import type { CallEvent } from '../../machines/events.js';
import type { MarkOptions, OutboundSink } from '../../actors/media-pipe.js';
import { FRAME_BYTES, silence } from '../../lib/mulaw.js';
import { encodeSpeech, SpeechDecoder } from '../../offline/speech-codec.js';
import type { DeepgramSimEventMap, DeepgramSimulator } from '../../offline/deepgram.js';

type Forward = { type: 'TEST.FORWARD'; command: EventObject };

export interface ChildHarness<TCommand extends EventObject = EventObject> {
  events: CallEvent[];
  send(command: TCommand): void;
  /** Resolves with the first recorded event (from index `from`) of `type` that satisfies `pred`. */
  waitFor<T extends CallEvent['type']>(
    type: T,
    pred?: (e: Extract<CallEvent, { type: T }>) => boolean,
    opts?: { timeoutMs?: number; from?: number },
  ): Promise<Extract<CallEvent, { type: T }>>;
  of<T extends CallEvent['type']>(type: T): Extract<CallEvent, { type: T }>[];
  stop(): void;
}

export function runChild<TCommand extends EventObject = EventObject>(logic: AnyActorLogic): ChildHarness<TCommand> {
  const events: CallEvent[] = [];
  const listeners = new Set<() => void>();
  const machine = setup({
    types: { events: {} as CallEvent | Forward },
    actors: { child: logic },
  }).createMachine({
    invoke: { id: 'child', src: 'child' },
    on: {
      'TEST.FORWARD': { actions: sendTo('child', ({ event }) => (event as Forward).command) },
      '*': {
        actions: ({ event }) => {
          events.push(event as CallEvent);
          for (const l of [...listeners]) l();
        },
      },
    },
  });
  const actor = createActor(machine);
  actor.subscribe({ error: (err) => events.push({ type: 'LLM.ERROR', message: `harness: ${String(err)}`, at: 0 }) });
  actor.start();

  const of = <T extends CallEvent['type']>(type: T): Extract<CallEvent, { type: T }>[] =>
    events.filter((e): e is Extract<CallEvent, { type: T }> => e.type === type);

  return {
    events,
    of,
    send: (command) => actor.send({ type: 'TEST.FORWARD', command }),
    waitFor(type, pred, opts = {}) {
      const { timeoutMs = 10_000, from = 0 } = opts;
      type E = Extract<CallEvent, { type: typeof type }>;
      const find = (): E | undefined =>
        events.slice(from).find((e): e is E => e.type === type && (!pred || pred(e as E)));
      return new Promise((resolve, reject) => {
        const hit = find();
        if (hit) return resolve(hit);
        const check = (): void => {
          const e = find();
          if (!e) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(e);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${type}; got ${events.map((e) => e.type).join(', ')}`));
        }, timeoutMs);
        listeners.add(check);
      });
    },
    stop: () => actor.stop(),
  };
}

/** Waits for the next simulator observer event matching `pred`. */
export function nextSimEvent<K extends keyof DeepgramSimEventMap>(
  sim: DeepgramSimulator,
  name: K,
  pred: (...payload: DeepgramSimEventMap[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<DeepgramSimEventMap[K][0]> {
  return new Promise((resolve, reject) => {
    const emitter = sim.observer as unknown as NodeJS.EventEmitter;
    const handler = (...payload: unknown[]): void => {
      if (!pred(...(payload as DeepgramSimEventMap[K]))) return;
      emitter.off(name, handler);
      clearTimeout(timer);
      resolve(payload[0] as DeepgramSimEventMap[K][0]);
    };
    const timer = setTimeout(() => {
      emitter.off(name, handler);
      reject(new Error(`timed out waiting for simulator event ${name}`));
    }, timeoutMs);
    emitter.on(name, handler);
  });
}

/** Records simulator observer events of some names, in order. */
export function recordSim(sim: DeepgramSimulator, names: (keyof DeepgramSimEventMap)[]): { name: string; payload: unknown }[] {
  const log: { name: string; payload: unknown }[] = [];
  const emitter = sim.observer as unknown as NodeJS.EventEmitter;
  for (const name of names) emitter.on(name, (payload: unknown) => log.push({ name, payload }));
  return log;
}

/** Caller audio: simulated speech for `text` (ms per char) followed by `silenceMs` of silence. */
export function utterance(text: string, silenceMs: number, msPerChar = 70): Buffer {
  return Buffer.concat([encodeSpeech(text, text.length * msPerChar), silence(silenceMs)]);
}

export function frames(audio: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < audio.length; i += FRAME_BYTES) out.push(audio.subarray(i, i + FRAME_BYTES));
  return out;
}

/** Feeds 20 ms frames as fast as the event loop allows (the simulator's clock is audio time). */
export async function feedFast(send: (frame: Buffer) => void, audio: Buffer, framesPerTick = 25): Promise<void> {
  const all = frames(audio);
  for (let i = 0; i < all.length; i++) {
    send(all[i] as Buffer);
    if (i % framesPerTick === framesPerTick - 1) await new Promise((r) => setImmediate(r));
  }
}

/** Feeds 20 ms frames at real-time pace, as Twilio does. */
export async function feedRealtime(send: (frame: Buffer) => void, audio: Buffer): Promise<void> {
  const all = frames(audio);
  const start = performance.now();
  for (let i = 0; i < all.length; i++) {
    const due = start + i * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    send(all[i] as Buffer);
  }
}

/** An outbound pipe sink that records audio and marks in order; decodes each run of audio to text. */
export class RecordingSink implements OutboundSink {
  readonly items: ({ kind: 'audio'; bytes: number } | { kind: 'mark'; name: string })[] = [];
  private decoder = new SpeechDecoder();
  /** Decoded text of the audio received before each mark, and after the last one (`tail`). */
  readonly textBeforeMark = new Map<string, string>();
  /** Marks sent as closing a segment that stopped short. */
  readonly partialMarks: string[] = [];
  audioBytes = 0;
  private listeners = new Set<() => void>();

  audio(chunk: Buffer): void {
    this.audioBytes += chunk.length;
    this.decoder.push(chunk);
    const last = this.items[this.items.length - 1];
    if (last?.kind === 'audio') last.bytes += chunk.length;
    else this.items.push({ kind: 'audio', bytes: chunk.length });
    this.notify();
  }

  mark(name: string, opts?: MarkOptions): void {
    if (opts?.partial === true) this.partialMarks.push(name);
    this.textBeforeMark.set(name, this.decoder.take());
    this.items.push({ kind: 'mark', name });
    this.notify();
  }

  get tail(): string {
    return this.decoder.peek();
  }

  get marks(): string[] {
    return this.items.flatMap((i) => (i.kind === 'mark' ? [i.name] : []));
  }

  waitForMark(name: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!this.marks.includes(name)) return false;
        this.listeners.delete(onChange);
        clearTimeout(timer);
        resolve();
        return true;
      };
      const onChange = (): void => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(onChange);
        reject(new Error(`timed out waiting for mark ${name}; marks: ${this.marks.join(', ')}`));
      }, timeoutMs);
      if (!check()) this.listeners.add(onChange);
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
