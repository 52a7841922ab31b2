/**
 * Frame clocks for the simulated callers, spread over the 20 ms frame period. Real calls are independent, so their
 * media frames reach the server at random phases; one shared ticker would send every call's frame in the same
 * instant and measure bursts of N frames that never happen in production. Each ticker here starts `period / count`
 * after the previous one and is kept running (a no-op subscriber) so its phase stays put between levels.
 */
import { FRAME_MS } from '../lib/mulaw.js';
import { FrameTicker } from '../offline/twilio-ticker.js';

export class PhasedTickers {
  private constructor(
    private readonly tickers: FrameTicker[],
    private readonly releases: (() => void)[],
  ) {}

  static async start(count = 10): Promise<PhasedTickers> {
    const tickers: FrameTicker[] = [];
    const releases: (() => void)[] = [];
    for (let i = 0; i < count; i++) {
      const ticker = new FrameTicker();
      releases.push(ticker.subscribe(() => undefined));
      tickers.push(ticker);
      await new Promise((r) => setTimeout(r, FRAME_MS / count));
    }
    return new PhasedTickers(tickers, releases);
  }

  /** The ticker for the n-th call (round robin over the phases). */
  for(n: number): FrameTicker {
    return this.tickers[n % this.tickers.length] as FrameTicker;
  }

  /** Ticks skipped because the bench could not keep up (summed over the phases). */
  get skippedTicks(): number {
    return this.tickers.reduce((sum, t) => sum + t.skippedTicks, 0);
  }

  stop(): void {
    for (const release of this.releases) release();
  }
}
