/**
 * The agent API: what a developer writes to build a phone agent. An agent module's default export is
 * `defineAgent({...})`: the prompt, the greeting and fixed phrases, the tools (`tool({ parameters: zod, execute })`),
 * the transfer allowlist and the per-call hooks. The engine (machine, actors, server) is the same for every agent.
 */
import type { CallSummary } from '../records/summary-types.js';
import { isFlow, stepTools, type Flow } from './flow.js';
import { AgentDefinitionError, CONTROL_TOOLS, E164, isTool, TOOL_NAME, type CallInfo, type Tool } from './tool.js';

export { AgentDefinitionError, CONTROL_TOOLS, DEFAULT_TOOL_TIMEOUT_MS, isTool, tool } from './tool.js';
export type { CallInfo, FlowContext, FlowEvent, Tool, ToolContext, ToolDefinition, ToolFlow } from './tool.js';


/** The fixed phrases an agent says (each has a default). */
export interface AgentPhrases {
  readonly reprompt?: string;
  readonly apology?: string;
  readonly goodbye?: string;
  /** Before a transfer when the model announced nothing itself. */
  readonly transfer?: string;
  /** While a slow tool runs (a tool's own `filler` wins). */
  readonly toolFiller?: string;
  /** Left on an answering machine (outbound calls with answering-machine detection). */
  readonly voicemail?: string;
}

/** What `onCallStart` may change for one call. */
export interface CallOverrides {
  readonly systemPrompt?: string;
  readonly greeting?: string;
  /** The names of the agent's tools offered in this call (a subset; default all). */
  readonly tools?: readonly string[];
  /** STT language for this call (BCP-47, e.g. `es`; Nova only). */
  readonly language?: string;
  /** TTS voice model for this call (e.g. `aura-2-luna-en`). */
  readonly voice?: string;
  readonly phrases?: AgentPhrases;
}

export interface AgentDefinition {
  /** Shown in logs and call records. */
  readonly name?: string;
  readonly systemPrompt: string;
  readonly greeting: string;
  readonly phrases?: AgentPhrases;
  readonly tools?: Readonly<Record<string, Tool>>;
  /**
   * The only numbers `transfer_call` may dial, by name (`{ sales: '+15551230000' }`). The model picks a name, never
   * a number, so a caller cannot talk the agent into dialling anywhere else. Without targets the tool is not offered.
   */
  readonly transferTargets?: Readonly<Record<string, string>>;
  /**
   * Multi-step conversations: `defineFlow({ initial, steps })`. Each step adds its instructions to `systemPrompt`
   * and offers its own tools (besides `tools`, offered in every step); tools move the flow with `ctx.flow.send`.
   */
  readonly flow?: Flow;
  /** Inference rounds with tool calls per caller turn (default 5). */
  readonly maxToolRounds?: number;
  /** Per-call setup from who is calling. Throwing (or taking over 3 s) keeps the agent's defaults. */
  readonly onCallStart?: (call: CallInfo) => CallOverrides | void | Promise<CallOverrides | void>;
  /** After the call: the conversation as heard, tool calls, end reason, durations. Errors are logged, not thrown. */
  readonly onCallEnd?: (summary: CallSummary) => void | Promise<void>;
}

const AGENT_BRAND = Symbol.for('voice-call-orchestrator.agent');
export type Agent = AgentDefinition & { readonly name: string; readonly [AGENT_BRAND]: true };

/** A flow fits its agent: its tools are valid and do not clash with the agent's, its transfers name real targets. */
function checkFlow(definition: AgentDefinition, fail: (message: string) => never): void {
  const flow = definition.flow;
  if (!isFlow(flow)) return fail('`flow` must be made with defineFlow({...})');
  for (const [step, { tools, transferTo }] of Object.entries(flow.steps)) {
    for (const [name, value] of Object.entries(tools ?? {})) {
      if (!TOOL_NAME.test(name)) fail(`step "${step}": tool name "${name}" must be 1-64 letters, digits, _ or -`);
      if ((CONTROL_TOOLS as readonly string[]).includes(name)) fail(`step "${step}": "${name}" is built in; choose another tool name`);
      if (!isTool(value)) fail(`step "${step}": tools.${name} must be made with tool({...})`);
      const shared = definition.tools !== undefined && Object.hasOwn(definition.tools, name) ? definition.tools[name] : undefined;
      if (shared !== undefined && shared !== value) fail(`step "${step}": tool "${name}" is also one of the agent's \`tools\`, defined differently; use one definition`);
    }
    if (transferTo !== undefined && !Object.hasOwn(definition.transferTargets ?? {}, transferTo)) {
      const targets = Object.keys(definition.transferTargets ?? {});
      fail(`step "${step}": transferTo "${transferTo}" is not one of \`transferTargets\` (${targets.length === 0 ? 'none defined' : targets.join(', ')})`);
    }
  }
}

/** Every tool the agent can run, by name: its own, and those of its flow's steps. */
export function allTools(agent: Pick<AgentDefinition, 'tools' | 'flow'>): Readonly<Record<string, Tool>> {
  const fromSteps = agent.flow === undefined ? [] : [...stepTools(agent.flow, (message) => { throw new AgentDefinitionError(message); })];
  return { ...Object.fromEntries(fromSteps.map(([name, { tool }]) => [name, tool])), ...(agent.tools ?? {}) };
}

export function isAgent(value: unknown): value is Agent {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[AGENT_BRAND] === true;
}

/** Checks the definition at once, so a bad agent fails at start with one clear line, never at the first call. */
export function defineAgent(definition: AgentDefinition): Agent {
  const fail = (message: string): never => {
    throw new AgentDefinitionError(`defineAgent(): ${message}`);
  };
  if (typeof definition !== 'object' || definition === null) fail('expects an object');
  for (const key of ['systemPrompt', 'greeting'] as const) {
    if (typeof definition[key] !== 'string' || definition[key].trim() === '') fail(`\`${key}\` must be a non-empty string`);
  }
  for (const [name, value] of Object.entries(definition.tools ?? {})) {
    if (!TOOL_NAME.test(name)) fail(`tool name "${name}" must be 1-64 letters, digits, _ or -`);
    if ((CONTROL_TOOLS as readonly string[]).includes(name)) fail(`"${name}" is built in; choose another tool name`);
    if (!isTool(value)) fail(`tools.${name} must be made with tool({...})`);
  }
  for (const [name, number] of Object.entries(definition.transferTargets ?? {})) {
    if (name.trim() === '') fail('transfer target names must not be empty');
    if (typeof number !== 'string' || !E164.test(number)) fail(`transferTargets.${name} must be an E.164 number like +15551234567`);
  }
  if (definition.flow !== undefined) checkFlow(definition, fail);
  const rounds = definition.maxToolRounds;
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) fail('`maxToolRounds` must be an integer from 1 to 20');
  for (const hook of ['onCallStart', 'onCallEnd'] as const) {
    if (definition[hook] !== undefined && typeof definition[hook] !== 'function') fail(`\`${hook}\` must be a function`);
  }
  for (const [key, text] of Object.entries(definition.phrases ?? {})) {
    if (typeof text !== 'string' || text.trim() === '') fail(`phrases.${key} must be a non-empty string`);
  }
  return { ...definition, name: definition.name ?? 'agent', [AGENT_BRAND]: true };
}
