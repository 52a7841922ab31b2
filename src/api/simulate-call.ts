/**
 * `simulateCall` (`import { simulateCall } from 'voice-call-orchestrator/testing'`): test an agent offline, through the real stack —
 * the server, the real Deepgram/OpenAI/Anthropic SDKs against the local simulators, a simulated Twilio caller — with
 * the agent's own module and tools. The developer scripts the caller's lines and the model's behaviour, and asserts
 * on what the caller heard, which tools ran with which arguments, and how the call ended.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startOfflineStack } from '../harness/offline-stack.js';
import { callerScript } from '../../offline/twilio-caller-script.js';
import type { LlmScriptEntry } from '../../offline/llm-script.js';
import type { CallRecord, ScriptStep } from '../../offline/twilio-caller-types.js';
import type { RecordedLlmRequest } from '../../offline/llm.js';
import type { CallEmitted } from '../../machines/emitted.js';
import { isAgent, type Agent } from '../agent/agent.js';
import { loadAgent } from '../agent/agent-loader.js';
import { transfersOf, type TransferRecord } from '../records/transfers.js';

export type { LlmScriptEntry, ScriptStep, TransferRecord };
/** Every event the call machine emitted, as `SimulatedCallResult.events` holds them (turns, tools, barge-ins, the end). */
export type { CallEmitted };

export interface SimulateCallOptions {
  /**
   * The agent object (`import agent from './agent.ts'`): the call runs the very module the test imported, so state
   * the test shares with it (an in-memory calendar, a spy) is the agent's. Or the path of its module (relative to the
   * working directory): imported the same way when the runner can (vitest, tsx), else loaded like `AGENT=` does.
   */
  agent: Agent | string;
  /**
   * What the caller does. A string is a line said after the agent's previous reply has been heard; steps give full
   * control (pauses, barge-ins, key presses, hanging up). After the last step the caller listens to the reply and
   * hangs up, unless the agent hung up first.
   */
  caller: ReadonlyArray<string | ScriptStep>;
  /**
   * The scripted model, first match wins: `{ when: 'order', toolCall: { name: 'lookup_order', args: {...} } }`,
   * `{ afterTool: 'lookup_order', text: ({ toolResults }) => … }`, `{ when: /bye/i, text: 'Bye!', toolCall:
   * { name: 'end_call', args: {} } }`. Unmatched turns echo the caller; unmatched tool results are read back.
   */
  model?: LlmScriptEntry[];
  provider?: 'openai' | 'anthropic';
  /** Extra environment for the server (same variables as `npm start`). */
  env?: NodeJS.ProcessEnv;
  /** The caller's number (`call.from` in onCallStart and tools; default +15550001111). */
  from?: string;
  /** The number called (`call.to`; default +15550002222). */
  to?: string;
  /** `call.customParameters`, as the TwiML's `<Stream>` `<Parameter>`s would carry them. */
  customParameters?: Readonly<Record<string, string>>;
  /**
   * The local Twilio REST API that transfers go through (default true). false: the server runs as one without
   * TWILIO_ACCOUNT_SID, so transfer_call is refused (an error result the model sees).
   */
  twilioRest?: boolean;
  /** Give up after this long (default 60 s). */
  maxDurationMs?: number;
  /**
   * Play the call this many times faster (default `DEFAULT_SIMULATE_SPEED`: an agent test takes seconds, not the
   * call's real length). One factor for the whole simulated world: the agent's audio, the providers' latencies, the
   * caller's speech, pauses and patience, and the server's conversation timings (endpointing, utterance end, idle
   * re-prompt, false interruption, DTMF timeout — also when set through `env`), so what is heard and which tools run
   * stay the same. What bounds real work (tool timeouts, the tool filler delay, LLM timeouts, watchdogs) stays real
   * (src/harness/sim-speed.ts).
   */
  speed?: number;
  /** The call at the pace a caller lives it (speed 1), e.g. to listen to timing; wins over `speed`. */
  realTime?: boolean;
}

export interface SimulatedToolCall {
  name: string;
  args: Readonly<Record<string, unknown>>;
  outcome: 'ok' | 'error' | 'cancelled';
  /** The result as a value: what execute returned, parsed back from the JSON the model saw (the text when not JSON). */
  result: unknown;
  /** The result exactly as the model saw it ('' when cancelled). */
  resultText: string;
  durationMs: number;
}

export interface SimulatedCallResult {
  /** What the caller heard, one entry per agent turn (the greeting first), decoded from the audio they received. */
  heard: string[];
  /** Everything the caller heard, joined. */
  heardText: string;
  toolCalls: SimulatedToolCall[];
  /** transfer_call requests: target name, number, and `transferred` / `error` (with the reason) / `pending`. */
  transfers: TransferRecord[];
  /**
   * What the server asked Twilio's REST API to do with this call, in order: a transfer is an update whose `Twiml` is
   * `<Response><Dial>+1555…</Dial></Response>`.
   */
  twilioUpdates: Array<Record<string, string>>;
  /** Who ended it: `server` (the agent hung up), `caller`, `redirected` (Twilio left the stream: a transfer), or a failure. */
  endedBy: CallRecord['endedBy'];
  /** The machine's end reason (`end_call`, `transferred`, `transport-stop`, …). */
  endReason: string | null;
  /** The flow steps the call went through, the initial one first ([] for an agent without a flow). */
  flowPath: string[];
  /** Every event the call machine emitted. */
  events: CallEmitted[];
  /** What the model was sent, request by request. */
  llmRequests: RecordedLlmRequest[];
  /** The simulated caller's full record (timeline, transcript with what was cut off). */
  call: CallRecord;
}

export async function simulateCall(opts: SimulateCallOptions): Promise<SimulatedCallResult> {
  const agent = isAgent(opts.agent) ? opts.agent : await importAgent(opts.agent);
  const events: CallEmitted[] = [];
  const stack = await startOfflineStack({
    agent,
    env: { LLM_PROVIDER: opts.provider ?? 'openai', ...opts.env },
    simulators: { llm: { script: opts.model ?? [] }, twilioRest: opts.twilioRest ?? true },
    speed: speedOf(opts),
    onCallEvent: (event) => events.push(event),
  });
  try {
    // Said after the agent's previous reply: the harness, which sees the server's events, tells the caller when a reply
    // is over (replyFinished below), so its patience can run on the fast clock while tools and transfers run on the
    // real one.
    const script = callerScript(opts.caller);
    const call = stack.placeCall({
      from: opts.from,
      to: opts.to,
      customParameters: opts.customParameters,
      script,
      maxDurationMs: opts.maxDurationMs ?? 60_000,
      replyFinished: () => replyFinished(events, transferSteps(agent)),
    });
    const record = await call.done;
    // The server's side of the call ends a moment after the caller's.
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === 'call.ended') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const heard = record.transcript.flatMap((t) => (t.role === 'agent' && t.text.trim() !== '' ? [t.text.trim()] : []));
    const ended = events.find((e): e is Extract<CallEmitted, { type: 'call.ended' }> => e.type === 'call.ended');
    return {
      heard,
      heardText: heard.join(' '),
      toolCalls: events.flatMap((e) =>
        e.type === 'call.toolFinished'
          ? [{ name: e.name, args: e.args, outcome: e.outcome, result: parsedResult(e.content), resultText: e.content, durationMs: Math.round(e.at - e.startedAt) }]
          : [],
      ),
      transfers: transfersOf(events),
      twilioUpdates: stack.providers.simulators?.twilio?.calls.find((c) => c.sid === record.callSid)?.updates.map((u) => ({ ...u })) ?? [],
      endedBy: record.endedBy,
      endReason: ended?.reason ?? null,
      flowPath: events.flatMap((e) => (e.type === 'call.flowStep' ? [e.step] : [])),
      events,
      llmRequests: [...(stack.providers.simulators?.llm.requests ?? [])],
      call: record,
    };
  } finally {
    await stack.close();
  }
}

/**
 * Whether the server is done answering the caller's last utterance (its reply ended, played out or cut) and no
 * hang-up or transfer is under way, as the call machine's events say. The caller's patience runs on the simulated clock, the
 * agent's tools and the transfer's REST round trip on the real one: without this a caller at speed 16 would take a
 * tool's run time for the end of the reply and talk over its answer, or hang up first on an agent about to hang up or
 * transfer.
 */
function replyFinished(events: readonly CallEmitted[], transferSteps: ReadonlySet<string>): boolean {
  // The server ended the call (it closes the stream), or hangs up (end_call) or transfers once its reply has played:
  // the caller stays on the line until the stream ends, as a person would, instead of racing the server to hang up.
  if (events.some((e) => e.type === 'call.ended')) return false;
  if (events.some((e) => e.type === 'call.toolFinished' && e.name === 'end_call' && e.outcome === 'ok')) return false;
  if (transfersOf(events).at(-1)?.outcome === 'pending') return false;
  // A flow step with `transferTo` transfers once the reply has played (no transfer_call tool says so).
  const step = events.filter((e) => e.type === 'call.flowStep').at(-1);
  if (step?.type === 'call.flowStep' && transferSteps.has(step.step)) return false;
  for (let i = events.length - 1; i >= 0; i--) {
    const type = events[i]?.type;
    if (type === 'call.turn' || type === 'call.ended') return true;
    if (type === 'call.userUtterance') return false;
  }
  return true;
}

/** The agent's flow steps that transfer the call on entry. */
function transferSteps(agent: Agent): ReadonlySet<string> {
  const steps = Object.entries(agent.flow?.steps ?? {});
  return new Set(steps.filter(([, step]) => step.transferTo !== undefined).map(([name]) => name));
}

/** A tool result as a value: JSON back to what execute returned; anything else (plain text, '') as it is. */
function parsedResult(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}

/**
 * The agent module at `file`, through the runner's own module graph when it can load it (vitest and tsx can), so the
 * test and the call share one copy of the module; otherwise (plain Node given a .ts file) as `AGENT=` loads it.
 */
async function importAgent(file: string): Promise<Agent> {
  const url = pathToFileURL(path.resolve(file)).href;
  let module: { default?: unknown } | undefined;
  try {
    module = (await import(url)) as { default?: unknown };
  } catch {
    module = undefined; // the loader below gives the error that says where
  }
  return module !== undefined && isAgent(module.default) ? module.default : loadAgent(file);
}

/**
 * simulateCall's default pace: a five-utterance call of the example agent in about 2 s on a 2-core machine, and no
 * failure in its tests under load (a CPU hog beside them). Measured with bench/simulate-call-time.ts.
 */
export const DEFAULT_SIMULATE_SPEED = 16;

const speedOf = (opts: Pick<SimulateCallOptions, 'speed' | 'realTime'>): number => (opts.realTime === true ? 1 : (opts.speed ?? DEFAULT_SIMULATE_SPEED));
