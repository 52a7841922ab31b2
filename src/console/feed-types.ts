/**
 * What the console's live feed (`GET /console/api/live`, server-sent events) sends. Shared by the server and the
 * page (type-only, no imports): a snapshot on connect, then small diffs per meaningful change — never per audio frame.
 */

/**
 * One line of the transcript. An interrupted agent line has the part the caller heard in `text`, the rest in `cut`.
 * A `step` line marks where the conversation flow moved: `text` is the step entered, `event` the flow event that did it.
 */
export interface LiveLine {
  role: 'caller' | 'agent' | 'step';
  text: string;
  cut?: string;
  event?: string;
}

export interface LiveTool {
  id: string;
  name: string;
  args: Record<string, unknown>;
  status: 'running' | 'ok' | 'error' | 'cancelled';
  /** What the model saw (shortened); absent while running. */
  result?: string;
  durationMs?: number;
}

/** The last reply's latency, in parts (ms; null when the turn never got that far). */
export interface LiveLatency {
  turn: number;
  /** End of the caller's speech → the LLM's first text. */
  llmMs: number | null;
  /** First text → first TTS audio. */
  ttsMs: number | null;
  /** First TTS audio → first audio sent to the caller. */
  transportMs: number | null;
  totalMs: number | null;
  interrupted: boolean;
}

export interface LiveCall {
  callSid: string;
  from: string;
  to: string;
  direction: string;
  agent: string | null;
  /** Epoch ms the console first saw the call started. */
  startedAt: number;
  /** The machine's current state: greeting, listening, thinking, tool, speaking, interrupted, goodbye, … */
  state: string;
  /** The conversation flow's current step (absent: the agent has no flow). */
  step?: string;
  lines: LiveLine[];
  tools: LiveTool[];
  latency: LiveLatency | null;
}

export type FeedMessage =
  | { type: 'snapshot'; calls: LiveCall[] }
  | { type: 'call'; call: LiveCall }
  | { type: 'state'; callSid: string; state: string }
  /** The flow entered `step` (a change also appends its step line to the transcript, in a `lines` message). */
  | { type: 'step'; callSid: string; step: string }
  /** The transcript from line `from` on is replaced by `lines` (a line grows as it is heard, or gets its cut). */
  | { type: 'lines'; callSid: string; from: number; lines: LiveLine[] }
  | { type: 'tool'; callSid: string; tool: LiveTool }
  | { type: 'latency'; callSid: string; latency: LiveLatency }
  | { type: 'ended'; callSid: string; reason: string };
