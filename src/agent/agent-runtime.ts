/**
 * Where an agent meets the engine: its definition becomes the machine's call options (tools as data), its
 * `onCallStart` runs as the machine's `configure` child, and its tools run in the `tools` child of each tool round.
 */
import { fromCallback, fromPromise, type AnyActorLogic, type EventObject } from 'xstate';
import type { ConfigureInput } from '../../machines/call.machine.js';
import type { ToolCall, ToolResult, ToolRunInput } from '../../machines/events.js';
import type { CallOptions, ToolPolicy } from '../../machines/options.js';
import { errorMessage, logFailure, type Logger } from '../../lib/logger.js';
import { now } from '../../lib/clock.js';
import { allTools, DEFAULT_TOOL_TIMEOUT_MS, type Agent, type AgentPhrases, type CallInfo, type CallOverrides, type Tool } from './agent.js';
import { compileFlow, toolFlow, type ToolFlow } from './flow.js';

/** onCallStart gets this long; after that the call goes on with the agent's defaults. */
export const CALL_START_TIMEOUT_MS = 3000;
/** What a tool result may weigh in the model's context (longer results are cut, and say so). */
export const MAX_TOOL_RESULT_CHARS = 16_000;

const END_CALL: ToolPolicy = {
  name: 'end_call',
  description:
    'Hang up the phone call. Use it only after you have said goodbye, when the caller wants to end the call or the conversation is clearly over.',
  parameters: {
    type: 'object',
    properties: { reason: { type: 'string', description: 'Why the call is ending, in a few words.' } },
    additionalProperties: false,
  },
  kind: 'end_call',
  cancelOnInterruption: true,
  filler: null,
};

function transferCallPolicy(targets: readonly string[]): ToolPolicy {
  return {
    name: 'transfer_call',
    description:
      'Transfer the caller to a person. Tell the caller you are transferring them (and to whom) before using it. ' +
      'The transfer starts once your words have been heard.',
    parameters: {
      type: 'object',
      properties: { target: { type: 'string', enum: [...targets], description: 'Who to transfer to.' } },
      required: ['target'],
      additionalProperties: false,
    },
    kind: 'transfer_call',
    cancelOnInterruption: true,
    filler: null,
  };
}

function toolPolicy(name: string, tool: Tool): ToolPolicy {
  return {
    name,
    description: tool.description,
    parameters: tool.jsonSchema,
    kind: 'function',
    cancelOnInterruption: tool.cancelOnInterruption ?? true,
    filler: tool.filler === false ? '' : (tool.filler ?? null),
  };
}

function withPhrases(options: CallOptions, phrases: AgentPhrases | undefined): CallOptions {
  return {
    ...options,
    repromptText: phrases?.reprompt ?? options.repromptText,
    apologyText: phrases?.apology ?? options.apologyText,
    goodbyeText: phrases?.goodbye ?? options.goodbyeText,
    transferText: phrases?.transfer ?? options.transferText,
    toolFillerText: phrases?.toolFiller ?? options.toolFillerText,
    voicemailText: phrases?.voicemail ?? options.voicemailText,
  };
}

/**
 * The agent's call options over the server's (timeouts, barge-in policy from the environment). `explicit` are the
 * prompt and greeting the operator set in the environment: they win over the agent's.
 */
export function agentCallOptions(agent: Agent, base: CallOptions, explicit: { systemPrompt?: string; greeting?: string } = {}): CallOptions {
  const targets = Object.keys(agent.transferTargets ?? {});
  const tools = [
    ...Object.entries(allTools(agent)).map(([name, tool]) => toolPolicy(name, tool)),
    END_CALL,
    ...(targets.length > 0 ? [transferCallPolicy(targets)] : []),
  ];
  return withPhrases(
    {
      ...base,
      systemPrompt: explicit.systemPrompt ?? agent.systemPrompt,
      greeting: explicit.greeting ?? agent.greeting,
      tools,
      transferTargets: { ...(agent.transferTargets ?? {}) },
      maxToolRounds: agent.maxToolRounds ?? base.maxToolRounds,
    },
    agent.phrases,
  );
}

/** Every fixed phrase an agent can say without the LLM: warmed into the phrase cache at start. */
export function agentPhrases(options: CallOptions, agent: Pick<Agent, 'tools' | 'flow'>): string[] {
  const fillers = Object.values(allTools(agent)).flatMap((tool) => (typeof tool.filler === 'string' ? [tool.filler] : []));
  const stepPhrases = Object.values(agent.flow?.steps ?? {}).flatMap(({ onEnter }) => (typeof onEnter === 'object' ? [onEnter.say] : []));
  const { greeting, repromptText, apologyText, goodbyeText, transferText, toolFillerText, voicemailText } = options;
  return [...new Set([greeting, repromptText, apologyText, goodbyeText, transferText, toolFillerText, voicemailText, ...fillers, ...stepPhrases])];
}

/** Applies what onCallStart returned; anything it names that the agent does not have is an error (one clear line). */
export function applyOverrides(options: CallOptions, overrides: CallOverrides): CallOptions {
  let next = withPhrases(
    {
      ...options,
      systemPrompt: overrides.systemPrompt ?? options.systemPrompt,
      greeting: overrides.greeting ?? options.greeting,
      language: overrides.language ?? options.language,
      voice: overrides.voice ?? options.voice,
    },
    overrides.phrases,
  );
  if (overrides.tools !== undefined) {
    const offered = new Set(overrides.tools);
    const unknown = [...offered].filter((name) => !options.tools.some((tool) => tool.name === name && tool.kind === 'function'));
    if (unknown.length > 0) throw new Error(`onCallStart: unknown tools ${unknown.map((n) => `"${n}"`).join(', ')}`);
    next = { ...next, tools: options.tools.filter((tool) => tool.kind !== 'function' || offered.has(tool.name)) };
  }
  return next;
}

export function callInfoOf(input: ConfigureInput): CallInfo {
  const { callSid, from, to, direction, customParameters } = input.call;
  return { callSid, from, to, direction, customParameters };
}

/**
 * The machine's `configure` child: the agent's onCallStart, bounded in time. A failure is the agent's own bug, not a
 * provider's: it is logged here as an agent hook error (with its stack at debug), then reported by the machine, and
 * the call goes on with the agent's defaults.
 */
export function createConfigureActor(agent: Agent, log?: Logger) {
  return fromPromise<CallOptions, ConfigureInput>(async ({ input }) => {
    if (agent.onCallStart === undefined) return input.options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`onCallStart took over ${CALL_START_TIMEOUT_MS} ms; using the agent's defaults`)), CALL_START_TIMEOUT_MS);
    });
    try {
      const overrides = await Promise.race([Promise.resolve(agent.onCallStart(callInfoOf(input))), timeout]);
      return overrides ? applyOverrides(input.options, overrides) : input.options;
    } catch (err) {
      logFailure(log, 'agent hook failed', err, { hook: 'onCallStart', effect: "the call went on with the agent's defaults" });
      throw err;
    } finally {
      clearTimeout(timer);
    }
  });
}


/** What the model sees of a returned value: strings as they are, anything else as JSON, cut to a sane size. */
export function resultContent(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined) text = JSON.stringify({ status: 'done' });
  else text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_TOOL_RESULT_CHARS ? `${text.slice(0, MAX_TOOL_RESULT_CHARS)} …(cut: ${text.length} characters in all)` : text;
}

const errorContent = (message: string): string => JSON.stringify({ error: message });

/** One tool call's outcome: what the model sees, and on failure what the operator's log says (and the thrown error). */
export type ToolRun = { ok: true; content: string } | { ok: false; content: string; error: string; thrown?: unknown };

const failed = (message: string, thrown?: unknown): ToolRun => ({ ok: false, content: errorContent(message), error: message, thrown });

/** Runs one call of one tool: validated arguments, its own timeout, never throws. */
export async function runTool(
  tool: Tool | undefined,
  call: ToolCall,
  info: CallInfo,
  signal: AbortSignal,
  keypad: Keypad = new Keypad(),
  traceHeaders: () => Record<string, string> = () => ({}),
  flowOf: (signal: AbortSignal) => ToolFlow = (signal) => toolFlow(null, signal, call.name),
): Promise<ToolRun> {
  if (tool === undefined) return failed(`Unknown tool "${call.name}".`);
  const parsed = tool.parameters.safeParse(call.args);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`).join('; ');
    return failed(`Invalid arguments: ${problems}`);
  }
  const timeoutMs = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ToolRun>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('timeout'));
      resolve(failed(`The tool did not answer within ${timeoutMs} ms.`));
    }, timeoutMs);
  });
  const executed = (async (): Promise<ToolRun> => {
    try {
      const ctx = { call: info, signal: controller.signal, waitForDigits: keypad.waitFor(controller.signal), traceHeaders, flow: flowOf(controller.signal) };
      return { ok: true, content: resultContent(await tool.execute(parsed.data, ctx)) };
    } catch (err) {
      return failed(errorMessage(err), err);
    }
  })();
  try {
    return await Promise.race([executed, timedOut]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/**
 * The machine's `tools` child for one round: every call runs at once; each result comes back as TOOL.RESULT.
 * Stopping it (barge-in, caller speech, hangup) aborts every running tool's signal; late results are dropped.
 */
export function createToolRunner(agent: Agent, call: () => CallInfo, log: Logger, traceHeaders?: (toolCallId: string) => Record<string, string>) {
  const tools = allTools(agent);
  return fromCallback<EventObject, ToolRunInput>(({ input, sendBack, receive, system }) => {
    // The call's flow child (see createFlowActor), which the tools move with ctx.flow.send.
    const flowRef = agent.flow === undefined ? null : (system.get('flow') ?? null);
    const controller = new AbortController();
    const keypad = new Keypad();
    receive((event) => {
      if (event.type === 'TRANSPORT.DTMF' && 'digit' in event && typeof event.digit === 'string') keypad.press(event.digit);
    });
    let stopped = false;
    for (const toolCall of input.calls) {
      const startedAt = now();
      // Own keys only: the name is the model's choice.
      const tool = Object.hasOwn(tools, toolCall.name) ? tools[toolCall.name] : undefined;
      const headers = traceHeaders === undefined ? undefined : () => traceHeaders(toolCall.id);
      const flow = (signal: AbortSignal) => toolFlow(flowRef, signal, toolCall.name, log);
      void runTool(tool, toolCall, call(), controller.signal, keypad, headers, flow).then((run) => {
        const { ok, content } = run;
        const ms = Math.round(now() - startedAt);
        if (stopped) {
          log.info('tool finished after it was cancelled; result dropped', { tool: toolCall.name, id: toolCall.id, ms });
          return;
        }
        if (run.ok) log.info('tool finished', { tool: toolCall.name, id: toolCall.id, ok, ms });
        else if (run.thrown !== undefined) logFailure(log, 'tool failed', run.thrown, { tool: toolCall.name, id: toolCall.id, ms });
        else log.warn('tool failed', { tool: toolCall.name, id: toolCall.id, ms, error: run.error });
        const result: ToolResult = { type: 'TOOL.RESULT', id: toolCall.id, name: toolCall.name, ok, content, startedAt, at: now() };
        sendBack(result);
      });
    }
    return () => {
      stopped = true;
      controller.abort(new Error('cancelled: the caller interrupted or the call ended'));
    };
  });
}

/**
 * The machine's `flow` child: the agent's flow compiled to a machine (the agent's own tools offered in every step),
 * or, for an agent without a flow, a child that reports nothing.
 */
export function createFlowActor(agent: Agent, log?: Logger): AnyActorLogic {
  if (agent.flow === undefined) return fromCallback(() => undefined);
  return compileFlow(agent.flow, Object.keys(agent.tools ?? {}), log);
}

/**
 * Key presses during a tool round, for tools that wait for them (`ctx.waitForDigits`). Keys pressed before a tool
 * starts waiting are kept for it.
 */
export class Keypad {
  private buffer = '';
  private wake: (() => void) | null = null;

  press(digit: string): void {
    this.buffer += digit;
    this.wake?.();
  }

  waitFor(signal: AbortSignal) {
    return (options: { count?: number; terminator?: string; timeoutMs?: number } = {}): Promise<string> => {
      const terminator = options.terminator ?? '#';
      const timeoutMs = options.timeoutMs ?? 15_000;
      return new Promise<string>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = (digits: string): void => {
          clearTimeout(timer);
          this.wake = null;
          signal.removeEventListener('abort', onAbort);
          resolve(digits);
        };
        const onAbort = (): void => {
          clearTimeout(timer);
          this.wake = null;
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        const check = (): void => {
          const end = terminator === '' ? -1 : this.buffer.indexOf(terminator);
          if (end >= 0) {
            const digits = this.buffer.slice(0, end);
            this.buffer = this.buffer.slice(end + terminator.length);
            return finish(digits);
          }
          if (options.count !== undefined && this.buffer.length >= options.count) {
            const digits = this.buffer.slice(0, options.count);
            this.buffer = this.buffer.slice(options.count);
            return finish(digits);
          }
          clearTimeout(timer);
          timer = setTimeout(() => {
            const digits = this.buffer;
            this.buffer = '';
            finish(digits);
          }, timeoutMs);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = check;
        check();
      });
    };
  }
}
