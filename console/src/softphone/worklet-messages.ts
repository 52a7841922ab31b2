/** Messages between the page and the softphone's AudioWorklet (both directions), and its registered name. */

export const WORKLET_NAME = 'softphone';

/** Page → worklet. */
export type ToWorklet =
  | { type: 'media'; payload: Uint8Array }
  | { type: 'mark'; name: string }
  | { type: 'clear' };

/** Worklet → page. */
export type FromWorklet =
  /** A 20 ms microphone frame for the line, and its level. */
  | { type: 'frame'; payload: Uint8Array; level: number }
  /**
   * Marks whose audio has been rendered, or that a clear answered. `playsAt`: the context time by which the marked
   * audio leaves the speakers (rendering runs ahead of the output); null = echo now (nothing was queued, or cleared).
   */
  | { type: 'marks'; names: string[]; cleared: boolean; playsAt: number | null }
  /** The first quantum rendered after a clear (silent): `at` is its context time. */
  | { type: 'silent'; at: number }
  | { type: 'stats'; underruns: number; playedSamples: number; bufferedSamples: number; rate: number };
