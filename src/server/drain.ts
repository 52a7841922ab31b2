/**
 * The drain before shutdown. New webhooks are already refused politely by the server; here we wait for the calls
 * that are up AND for the calls on their way (TwiML issued before the drain, stream not connected yet: their token is
 * still valid), until none is left or the drain timeout passes. Calls still up at the timeout are hung up politely
 * (the machine says the goodbye phrase, then hangs up) and get `goodbyeMs` to do so; whatever is left after that is
 * cut by the caller of `drainCalls` (server close).
 */
import { errorMessage, type Logger } from '../../lib/logger.js';

export interface PendingCount {
  count: number;
  nextExpiry: number | null;
}

export interface DrainableCall {
  readonly done: Promise<void>;
  hangup(reason: string, opts?: { polite?: boolean }): void;
}

export interface DrainResult {
  /** Calls that ended by themselves before the timeout (including calls that connected during the drain). */
  finished: number;
  /** Calls hung up politely at the timeout that ended within the goodbye grace period. */
  saidGoodbye: number;
  /** Calls still up after the grace period: the server closes them at once. */
  cut: number;
  /** Streams whose TwiML was issued before the drain but never connected while it waited. */
  neverConnected: number;
  /** Whether the drain timeout passed (and polite hangups were sent). */
  timedOut: boolean;
}

export interface DrainSources<C extends DrainableCall> {
  /** The live calls, read again after every change. */
  calls(): ReadonlySet<C>;
  /**
   * Streams on their way: count, and when the soonest of their tokens expires. From a shared store it may reject
   * (Redis down): then nothing is waited for, since no stream can start without it anyway.
   */
  pending(): PendingCount | Promise<PendingCount>;
  /**
   * Look again at least this often: a token redeemed on another instance is no local change (default: only on
   * changes, call ends and token expiries).
   */
  pollMs?: number;
  /** Resolves at the next change the drain cannot see from `done` promises (a stream accepted, a token redeemed). */
  changed(): Promise<void>;
  /** The wait is over: streams arriving from now on would only be cut, so the server refuses them. */
  stopAccepting(): void;
  log: Logger;
  now?: () => number;
}

export async function drainCalls<C extends DrainableCall>(src: DrainSources<C>, timeoutMs: number, goodbyeMs: number): Promise<DrainResult> {
  const now = src.now ?? Date.now;
  const startedAt = now();
  const deadline = startedAt + timeoutMs;
  const seen = new Set<C>();
  const pendingNow = async (): Promise<PendingCount> => {
    try {
      return await src.pending();
    } catch (err) {
      src.log.warn('drain: streams on their way unknown (shared state unreachable); not waiting for them', { error: errorMessage(err) });
      return { count: 0, nextExpiry: null };
    }
  };
  const initial = (await pendingNow()).count;
  src.log.info('draining', { activeCalls: src.calls().size, streamsOnTheirWay: initial, timeoutMs });

  let timedOut = false;
  for (;;) {
    const active = [...src.calls()];
    for (const call of active) seen.add(call);
    const pending = await pendingNow();
    if (active.length === 0 && pending.count === 0) break;
    const at = now();
    if (at >= deadline) {
      timedOut = true;
      break;
    }
    const wakeAt = Math.min(deadline, pending.nextExpiry ?? deadline, pending.count > 0 && src.pollMs !== undefined ? at + src.pollMs : deadline);
    await firstOf([...active.map((c) => c.done), src.changed()], Math.max(0, wakeAt - at));
  }

  src.stopAccepting();
  const remaining = [...src.calls()];
  const neverConnected = (await pendingNow()).count;
  let saidGoodbye = 0;
  if (remaining.length > 0) {
    src.log.warn('drain timeout: saying goodbye to calls still up', { calls: remaining.length, timeoutMs, goodbyeMs });
    for (const call of remaining) call.hangup('drain timeout', { polite: true });
    await firstOf([Promise.all(remaining.map((c) => c.done))], goodbyeMs);
    saidGoodbye = remaining.filter((c) => !src.calls().has(c)).length;
  }
  const result: DrainResult = {
    finished: seen.size - remaining.length,
    saidGoodbye,
    cut: remaining.length - saidGoodbye,
    neverConnected,
    timedOut,
  };
  src.log.info('drain complete', { ...result, tookMs: Math.round(now() - startedAt) });
  return result;
}

/** Resolves when the first promise settles or after `ms`, and leaves no timer behind. */
async function firstOf(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([...promises, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}
