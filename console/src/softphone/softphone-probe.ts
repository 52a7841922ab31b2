/**
 * Counters of the softphone's audio path, for diagnostics and the Chromium tests: what went out (frames, key presses),
 * what came in (agent audio per mark), when each mark was echoed, how long a clear took to reach silence, underruns.
 * No call content (key presses are counted, not recorded: they may be a PIN). Exposed as `window.softphoneProbe` only
 * when the page's URL has `?probe` (the tests open it so).
 */

export interface SegmentProbe {
  mark: string;
  /** Agent audio received between the previous mark and this one, in ms of 8 kHz µ-law. */
  audioMs: number;
  /** performance.now() when that audio's first byte arrived. */
  firstAudioAt: number;
  /** performance.now() when the mark was echoed to the server (null until then). */
  echoedAt: number | null;
  /** Echoed because a clear dropped its audio, not because it played. */
  cleared: boolean;
}

export interface SoftphoneProbe {
  state: string;
  framesSent: number;
  /** Frames whose level is above the meter's floor (-40 dBFS). */
  loudFramesSent: number;
  firstFrameAt: number | null;
  lastFrameAt: number | null;
  mediaBytesReceived: number;
  /** Keypad presses sent as `dtmf` messages. */
  keysSent: number;
  segments: SegmentProbe[];
  /**
   * Per clear: when it arrived, when the worklet rendered the first silent quantum after it, and when that silence
   * reaches the speakers by the browser's output clock (audio already rendered ahead still plays until then).
   */
  clears: Array<{ receivedAt: number; silentAt: number | null; silenceHeardAt: number | null }>;
  underruns: number;
  playedMs: number;
  /** The AudioContext's sample rate. */
  contextRate: number;
}

export function newProbe(): SoftphoneProbe {
  return {
    state: 'idle',
    framesSent: 0,
    loudFramesSent: 0,
    firstFrameAt: null,
    lastFrameAt: null,
    mediaBytesReceived: 0,
    keysSent: 0,
    segments: [],
    clears: [],
    underruns: 0,
    playedMs: 0,
    contextRate: 0,
  };
}

/** The probe of this page: a fresh one per call, published on `window` when asked for. */
export function publishProbe(probe: SoftphoneProbe): void {
  if (new URLSearchParams(location.search).has('probe')) (window as unknown as { softphoneProbe: SoftphoneProbe }).softphoneProbe = probe;
}
