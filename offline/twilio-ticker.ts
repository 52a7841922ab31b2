/**
 * One drift-corrected 20 ms clock for every simulated call in the process. Hundreds of calls each sending 50 frames
 * per second must not each own a timer: one timer wakes, and every subscribed call sends its frame in that wake-up.
 *
 * Ticks are anchored to the start time (tick n is due at origin + n·period), so timer lateness never accumulates.
 * After a stall the missed ticks are delivered back to back (as a real network would deliver late frames), at most
 * `maxCatchUp` of them; beyond that the missed time is skipped.
 */
import { now } from '../lib/clock.js';
import { FRAME_MS } from '../lib/mulaw.js';

/** Called once per tick with the epoch time (ms) of the tick's delivery. */
export type TickHandler = (at: number) => void;

export class FrameTicker {
  private readonly handlers = new Set<TickHandler>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private origin = 0;
  private ticks = 0;
  /** Bumped on every (re)start so a tick loop interrupted by stop + start ends instead of using the new origin. */
  private generation = 0;
  /** Ticks skipped after stalls longer than maxCatchUp periods (observability for the benchmark). */
  skippedTicks = 0;

  constructor(
    readonly periodMs: number = FRAME_MS,
    private readonly maxCatchUp = 10,
    /** Monotonic ms; replaceable so tests can simulate a stalled event loop. */
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  get subscribers(): number {
    return this.handlers.size;
  }

  subscribe(handler: TickHandler): () => void {
    this.handlers.add(handler);
    if (!this.running) this.start();
    return () => {
      this.handlers.delete(handler);
      if (this.handlers.size === 0) this.stop();
    };
  }

  private start(): void {
    this.running = true;
    this.generation++;
    this.origin = this.monotonic();
    this.ticks = 0;
    this.schedule();
  }

  private stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const due = this.origin + (this.ticks + 1) * this.periodMs;
    this.timer = setTimeout(this.onTimer, Math.max(0, due - this.monotonic()));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const generation = this.generation;
    let owed = Math.floor((this.monotonic() - this.origin) / this.periodMs) - this.ticks;
    if (owed > this.maxCatchUp) {
      this.skippedTicks += owed - this.maxCatchUp;
      this.ticks += owed - this.maxCatchUp;
      owed = this.maxCatchUp;
    }
    for (let i = 0; i < owed && this.running && this.generation === generation; i++) {
      this.ticks++;
      const at = now();
      for (const handler of this.handlers) {
        try {
          handler(at);
        } catch {
          // A subscriber's bug must not stop every other call's clock; subscribers record their own errors.
        }
      }
    }
    if (this.running && !this.timer && this.generation === generation) this.schedule();
  };
}

/** The process-wide ticker every simulated call uses unless given another. */
export const sharedTicker = new FrameTicker();
