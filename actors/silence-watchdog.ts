/**
 * Notices a provider socket that stays open but stops answering (a failure the socket's own close/error events
 * never report). The owner says when an answer is due (`expect`: caller speech sent to STT, a Flush sent to TTS)
 * and when one came (`answered`); once an answer has been due for `timeoutMs` with nothing since, `onSilent` runs
 * once and the owner reconnects. Cheap on the hot path: `expect` and `answered` only store a time; one timer per
 * waiting period, re-armed for the remainder when it fires early (never per frame or per message).
 *
 * The verdict waits for I/O that was already pending when the timer fell due (issue 22): Node runs due timers before
 * it reads sockets, so after an event-loop stall (CPU starvation under load) the provider's answer can be sitting in
 * the socket while the timer says it never came. Reconnecting then throws away a healthy socket and its audio.
 * `check` therefore decides in a `setImmediate`, after the poll phase has handled what arrived in time; owners whose
 * answers are handled asynchronously (TTS audio is read from a Blob) call `heard` when a message arrives.
 */
export class SilenceWatchdog {
  /** When the oldest unanswered expectation started (null = nothing is due). */
  private dueSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The timer fell due; the verdict runs after pending I/O. */
  private verdict: NodeJS.Immediate | null = null;
  private stopped = false;

  /** `timeoutMs` ≤ 0 turns the watchdog off. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onSilent: (silentMs: number) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.timeoutMs > 0 && !this.stopped;
  }

  /** An answer is due (no-op while one already is: the wait counts from the oldest). */
  get waiting(): boolean {
    return this.dueSince !== null;
  }

  expect(): void {
    if (this.dueSince !== null || !this.enabled) return;
    this.dueSince = this.clock();
    if (this.timer === null) this.arm(this.timeoutMs);
  }

  /** The provider answered; `stillWaiting` = more answers are due, counted from now. */
  answered(stillWaiting = false): void {
    if (this.dueSince === null && !stillWaiting) return;
    this.dueSince = stillWaiting && this.enabled ? this.clock() : null;
    if (this.dueSince !== null && this.timer === null) this.arm(this.timeoutMs);
  }

  /** The socket said something (before the owner has handled it): a due answer's wait restarts from now. */
  heard(): void {
    if (this.dueSince !== null) this.dueSince = this.clock();
  }

  /** Nothing is due any more (the socket dropped, or what was due was cancelled). */
  cancel(): void {
    this.dueSince = null;
  }

  stop(): void {
    this.stopped = true;
    this.dueSince = null;
    if (this.timer) clearTimeout(this.timer);
    if (this.verdict) clearImmediate(this.verdict);
    this.timer = null;
    this.verdict = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.verdict = setImmediate(() => this.check());
    }, ms);
  }

  private check(): void {
    // (`timer` stays set until here, so expect() does not arm a second one while the verdict waits.)
    this.timer = null;
    this.verdict = null;
    if (this.dueSince === null || this.stopped) return;
    const waited = this.clock() - this.dueSince;
    // (1 ms of slack: a timer may fire a hair before the clock says it is due.)
    if (waited < this.timeoutMs - 1) return this.arm(this.timeoutMs - waited);
    this.dueSince = null;
    this.onSilent(Math.round(waited));
  }
}
