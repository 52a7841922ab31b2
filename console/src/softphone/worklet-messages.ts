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
  /** Marks whose audio has been played (or that a clear answered), to echo now. */
  | { type: 'marks'; names: string[]; cleared: boolean }
  /** The first quantum rendered after a clear (silent): `clearedAt` is the worklet's currentTime. */
  | { type: 'silent'; at: number }
  | { type: 'stats'; underruns: number; playedSamples: number; bufferedSamples: number; rate: number };
