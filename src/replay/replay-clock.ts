/**
 * The clock of a replay (an XState `Clock`). Time moves only when the replay says so, and timers fire only when the
 * recorded log says a timer event came: live timers fire late under load (and libuv may fire them a little early),
 * so letting simulated time fire them by itself could reorder a timer and an event that raced in the real call.
 * The replay checks instead that each recorded timer was pending and due about when it fired.
 */

interface Timer {
  due: number;
  fn: () => void;
}

export class ReplayClock {
  private nowMs: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id = this.nextId++;
    this.timers.set(id, { due: this.nowMs + timeout, fn: () => fn() });
    return id;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === 'number') this.timers.delete(id);
  }

  /** Moves time forward without firing anything. */
  advanceTo(ms: number): void {
    if (ms > this.nowMs) this.nowMs = ms;
  }

  earliestDue(): number | null {
    let earliest: number | null = null;
    for (const timer of this.timers.values()) if (earliest === null || timer.due < earliest) earliest = timer.due;
    return earliest;
  }

  /** Fires the pending timer due first, with time set to `atMs` (when it fired in the recording). */
  fireNext(atMs: number): { due: number } | null {
    let nextId: number | null = null;
    let next: Timer | undefined;
    for (const [id, timer] of this.timers) {
      if (next === undefined || timer.due < next.due) {
        next = timer;
        nextId = id;
      }
    }
    if (next === undefined || nextId === null) return null;
    this.timers.delete(nextId);
    this.advanceTo(atMs);
    next.fn();
    return { due: next.due };
  }
}
