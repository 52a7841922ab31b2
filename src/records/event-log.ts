/**
 * The control-event log of one call: every event the call machine received, in order, with what it did in answer
 * (state changes, commands to its children, children started and stopped, side-effect actions, emitted events).
 * Never audio: audio does not pass through XState. This is the stored format, the `GET /calls/:sid/events` answer,
 * the input of `npm run replay` and the format of the regression fixtures in `test/replay/`.
 */
import type { EventObject, StateValue } from 'xstate';
import type { CallEmitted } from '../../machines/emitted.js';
import type { CallEvent, TransportCommand, TtsCommand } from '../../machines/events.js';
import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

/** The machine's events, plus XState's own (timers, child failures) and events of children added later. */
export type LoggedEvent = CallEvent | EventObject;
export type LoggedCommand = TransportCommand | TtsCommand | EventObject;

export const EVENT_LOG_FORMAT = 'voice-call-events/1';

/** `t` = ms since the log's `t0` (same clock as the events' `at`: `lib/clock.ts`). */
export type LogEntry =
  /** An event the machine received: from a child, from the server, a timer (`xstate.after.*`) or a child failure. */
  | { t: number; in: LoggedEvent }
  /** The machine's state after an event, written only when it changed. */
  | { t: number; state: StateValue }
  /** A command the machine sent to a child (`to` = child id). */
  | { t: number; to: string; cmd: LoggedCommand }
  /** A child started; `input` = a short hash of its input (the LLM's is the whole conversation). */
  | { t: number; start: string; input?: string }
  | { t: number; stop: string }
  /** A side-effect action the server provides (e.g. `transferCall`), with its params. */
  | { t: number; action: string; params?: unknown }
  /** An event the machine emitted for logs, metrics and records. */
  | { t: number; emit: CallEmitted };

export interface EventLog {
  format: typeof EVENT_LOG_FORMAT;
  callSid: string;
  /** Epoch ms when the media stream was accepted (the call machine was created). */
  t0: number;
  /** The call machine's input (its options), so a replay runs with the same settings. */
  input: unknown;
  entries: LogEntry[];
  /** The per-call bound was reached: later entries were not kept (the record's summary still covers them). */
  truncated: boolean;
  /** What the call shows (regression fixtures). */
  note?: string;
}

/** Output entries (what the machine did): everything but `in`. */
export function isOutput(entry: LogEntry): boolean {
  return !('in' in entry);
}

/** Reads a log from parsed JSON, with enough checking that a wrong file fails with a clear message. */
export function parseEventLog(value: unknown): EventLog {
  if (typeof value !== 'object' || value === null) throw new Error('not an event log: expected a JSON object');
  const log = value as Partial<EventLog>;
  if (log.format !== EVENT_LOG_FORMAT) throw new Error(`not an event log: format is ${String(log.format)}, expected ${EVENT_LOG_FORMAT}`);
  if (typeof log.callSid !== 'string' || typeof log.t0 !== 'number' || !Array.isArray(log.entries)) {
    throw new Error('not an event log: callSid, t0 and entries are required');
  }
  const note = typeof log.note === 'string' ? log.note : undefined;
  return { format: EVENT_LOG_FORMAT, callSid: log.callSid, t0: log.t0, input: log.input, entries: log.entries, truncated: log.truncated === true, note };
}

/** A stable short hash of a child's input (LLM input = the conversation it was asked to continue). */
export function inputHash(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  let h = 0x811c9dc5; // FNV-1a, 32 bit: a change detector, not a security hash
  const text = JSON.stringify(input) ?? '';
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Rounds a time to µs so the JSON stays short. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The log as JSON with one entry per line: small diffs when a fixture is regenerated. */
export function formatEventLog(log: EventLog): string {
  const { entries, ...header } = log;
  const head = JSON.stringify(header, null, 1).replace(/\n}$/, '');
  return `${head},\n "entries": [\n${entries.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}\n ]\n}\n`;
}

/**
 * One stored chunk of a call's event log (a JSON array of entries), compressed as both stores keep it: control events
 * are repetitive JSON (≈ 3× smaller). On libuv's thread pool, not the event loop (it was ~1 % of the loop's busy time
 * at 200 calls, in one block per call), at level 1 (a third of the default's time for 7 % more bytes).
 */
export function packEventChunk(eventsJson: string): Promise<Buffer> {
  return deflateRawAsync(eventsJson, { level: 1 });
}

/**
 * A stored call's event log from its compressed chunks (each a deflated JSON array of entries, in order) and its
 * row: the one way both stores read a log back.
 */
export function eventLogFromChunks(callSid: string, t0: number, input: string | null, chunks: ReadonlyArray<Buffer>, truncated: boolean): EventLog {
  // Each chunk is a JSON array: splice them into one array and parse once.
  const body = chunks
    .map((chunk) => inflateRawSync(chunk).toString('utf8').slice(1, -1))
    .filter((c) => c !== '')
    .join(',');
  return {
    format: EVENT_LOG_FORMAT,
    callSid,
    t0,
    input: input === null ? undefined : (JSON.parse(input) as unknown),
    entries: JSON.parse(`[${body}]`) as LogEntry[],
    truncated,
  };
}
