/**
 * Notices a provider socket that stays open but stops answering (a failure the socket's own close/error events
 * never report). The owner says when an answer is due (`expect`: caller speech sent to STT, a Flush sent to TTS)
 * and when one came (`answered`); once an answer has been due for `timeoutMs` with nothing since, `onSilent` runs
 * once and the owner reconnects. Cheap on the hot path: `expect` and `answered` only store a time; one timer per
 * waiting period, re-armed for the remainder when it fires early (never per frame or per message).
 */
export class SilenceWatchdog {
  /** When the oldest unanswered expectation started (null = nothing is due). */
  private dueSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
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

  /** Nothing is due any more (the socket dropped, or what was due was cancelled). */
  cancel(): void {
    this.dueSince = null;
  }

  stop(): void {
    this.stopped = true;
    this.dueSince = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
  }

  private check(): void {
    this.timer = null;
    if (this.dueSince === null || this.stopped) return;
    const waited = this.clock() - this.dueSince;
    // (1 ms of slack: a timer may fire a hair before the clock says it is due.)
    if (waited < this.timeoutMs - 1) return this.arm(this.timeoutMs - waited);
    this.dueSince = null;
    this.onSilent(Math.round(waited));
  }
}
