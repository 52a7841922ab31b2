/**
 * The live calls by CallSid, so that out-of-band Twilio callbacks (the AMD result) reach the right call machine.
 * A result may come before the call's stream has started (the stream is still connecting): it is held for a short
 * while and delivered when the call registers, after its `start` has been handled.
 */
import type { CallAnsweredBy, CallHangup } from '../../machines/events.js';
import type { Logger } from '../../lib/logger.js';

/** Hand the call over to another number (Twilio dials it); asked through the calls API, on any instance. */
export type CallTransfer = { type: 'CALL.TRANSFER'; to: string };

/** The events the server sends a live call from outside. */
export type ServerToCallEvent = CallAnsweredBy | CallHangup | CallTransfer;

/** Whether `value` (a command from another instance) is one of them. */
export function isServerToCallEvent(value: unknown): value is ServerToCallEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  if (e.type === 'CALL.ANSWERED_BY') return (e.answeredBy === 'human' || e.answeredBy === 'machine' || e.answeredBy === 'unknown') && typeof e.at === 'number';
  if (e.type === 'CALL.HANGUP') return typeof e.reason === 'string' && (e.polite === undefined || typeof e.polite === 'boolean');
  if (e.type === 'CALL.TRANSFER') return typeof e.to === 'string';
  return false;
}

export interface CallMailbox {
  send(event: ServerToCallEvent): void;
}

export interface LiveCallsOptions {
  /** How long an event for a call not (yet) live is kept. Default 60 000. */
  holdMs?: number;
  /** At most this many calls' events held at once (oldest dropped). Default 1000. */
  maxHeld?: number;
}

export class LiveCalls {
  private readonly live = new Map<string, CallMailbox>();
  private readonly held = new Map<string, { events: ServerToCallEvent[]; timer: NodeJS.Timeout }>();
  /** Calls that were live here and ended (most recent last, bounded): their late events are dropped at once. */
  private readonly ended = new Set<string>();
  private readonly holdMs: number;
  private readonly maxHeld: number;

  constructor(
    private readonly log: Logger,
    opts: LiveCallsOptions = {},
  ) {
    this.holdMs = opts.holdMs ?? 60_000;
    this.maxHeld = opts.maxHeld ?? 1000;
  }

  get size(): number {
    return this.live.size;
  }

  isLive(callSid: string): boolean {
    return this.live.has(callSid);
  }

  /** The call's stream started. Held events follow on the next microtask (after the `start` being handled now). */
  register(callSid: string, call: CallMailbox): void {
    this.live.set(callSid, call);
    const held = this.held.get(callSid);
    if (!held) return;
    this.held.delete(callSid);
    clearTimeout(held.timer);
    queueMicrotask(() => {
      if (this.live.get(callSid) !== call) return;
      for (const event of held.events) call.send(event);
    });
  }

  unregister(callSid: string, call: CallMailbox): void {
    if (this.live.get(callSid) !== call) return;
    this.live.delete(callSid);
    this.ended.add(callSid);
    if (this.ended.size > this.maxHeld) this.ended.delete(this.ended.values().next().value as string);
  }

  /** Sends to the live call, or holds the event until the call registers (or `holdMs` passes). */
  deliver(callSid: string, event: ServerToCallEvent): 'delivered' | 'held' | 'ended' {
    const call = this.live.get(callSid);
    if (call) {
      call.send(event);
      return 'delivered';
    }
    if (this.ended.has(callSid)) return 'ended';
    const held = this.held.get(callSid);
    if (held) {
      held.events.push(event);
      return 'held';
    }
    if (this.held.size >= this.maxHeld) this.dropOldest();
    const timer = setTimeout(() => {
      this.held.delete(callSid);
      this.log.info('call event dropped: the call never became live here', { callSid, event: event.type });
    }, this.holdMs);
    timer.unref();
    this.held.set(callSid, { events: [event], timer });
    return 'held';
  }

  close(): void {
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
    this.live.clear();
    this.ended.clear();
  }

  private dropOldest(): void {
    const oldest = this.held.keys().next();
    if (oldest.done) return;
    const entry = this.held.get(oldest.value);
    if (entry) clearTimeout(entry.timer);
    this.held.delete(oldest.value);
  }
}
