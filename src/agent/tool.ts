/**
 * The tool API: `tool({ description, parameters, execute })` and what `execute` gets (`ToolContext`), apart from
 * the agent definition so that flows (flow.ts) can name tools without importing the agent module.
 */
import { z } from 'zod';
import type { CallInfo as MachineCallInfo } from '../../machines/context.js';

/** What a tool sends to move the flow: a type (`VERIFIED`) and payload fields, merged into the flow's context. */
export type FlowEvent = { readonly type: string; readonly [field: string]: unknown };
/** The flow's context: every event's payload fields merged, later events winning. */
export type FlowContext = Readonly<Record<string, unknown>>;

/** The flow as a tool sees it: `ctx.flow`. */
export interface ToolFlow {
  /** The active step (null: the agent has no flow). */
  readonly step: string | null;
  /** The flow's context: every event's payload fields merged. */
  readonly context: FlowContext;
  /**
   * Moves the flow. The new step's instructions and tools apply from the model's next inference round (its answer
   * to this tool's result). Throws when the active step does not accept the event (the tool's result becomes an
   * error the model sees); ignored (and logged) once the tool was cancelled.
   */
  send(event: FlowEvent): void;
}

/**
 * Who is on the line (from Twilio's `start` and the TwiML parameters): the machine's own record of the call, without
 * the media stream's id, which is the transport's business.
 */
export type CallInfo = Omit<MachineCallInfo, 'streamSid'>;

/** What a tool's `execute` gets besides its arguments. */
export interface ToolContext {
  readonly call: CallInfo;
  /**
   * Aborts when the caller interrupts (barge-in or speech while the tool runs, for tools with
   * `cancelOnInterruption`), when the call hangs up, or when `timeoutMs` passes. Pass it to fetch and friends.
   */
  readonly signal: AbortSignal;
  /**
   * Waits for the caller to type on the keypad (the model asked them to: "please type your 6-digit order number"):
   * resolves with the keys once `count` were pressed, or the terminator (default `#`, not included), or `timeoutMs`
   * (default 15 000) passed since the last key — with '' if nothing was typed. Rejects when the signal aborts.
   */
  waitForDigits(options?: { count?: number; terminator?: string; timeoutMs?: number }): Promise<string>;
  /**
   * The trace context of this tool call as HTTP headers (`traceparent`, and `tracestate` when there is one), for the
   * requests the tool makes: `fetch(url, { signal, headers: traceHeaders() })` — the backend's spans join the call's
   * trace under this tool's `execute_tool` span. `{}` when tracing is off.
   */
  traceHeaders(): Record<string, string>;
  /**
   * The agent's conversation flow: its active `step`, its `context` (the payloads of the events so far), and
   * `send(event)` to move it. Without a flow, `step` is null and `send` throws.
   */
  readonly flow: ToolFlow;
}

type ObjectSchema = z.ZodObject<z.ZodRawShape>;

export interface ToolDefinition<S extends ObjectSchema = ObjectSchema> {
  /** Tells the model what the tool does and when to use it. */
  readonly description: string;
  /** The arguments, as a zod object: converted to JSON Schema for the model, and validated before `execute`. */
  readonly parameters: S;
  /** Returns what the model sees: a string as is, anything else as JSON. A throw becomes an error result. */
  readonly execute: (args: z.output<S>, ctx: ToolContext) => unknown;
  /**
   * Said once if the tool is still running after ~700 ms and nothing is playing (default: the agent's `toolFiller`);
   * `false` for none (a tool waiting for key presses).
   */
  readonly filler?: string | false;
  /** Default 10 000 ms; then the signal aborts and the model gets an error result. */
  readonly timeoutMs?: number;
  /** Default true: caller speech aborts the tool and discards its result. false: it finishes and its result is kept. */
  readonly cancelOnInterruption?: boolean;
}

const TOOL_BRAND = Symbol.for('voice-call-orchestrator.tool');
export type Tool = ToolDefinition & { readonly [TOOL_BRAND]: true; readonly jsonSchema: Record<string, unknown> };

export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

export class AgentDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentDefinitionError';
  }
}


export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const E164 = /^\+[1-9]\d{6,14}$/;
export const CONTROL_TOOLS = ['end_call', 'transfer_call'] as const;

/** A JSON Schema the providers accept: no `$schema` key, always an object schema. */
function jsonSchemaOf(parameters: ObjectSchema): Record<string, unknown> {
  const schema: Record<string, unknown> = { ...z.toJSONSchema(parameters, { io: 'input' }) };
  delete schema['$schema'];
  return schema;
}

export function tool<S extends ObjectSchema>(definition: ToolDefinition<S>): Tool {
  if (typeof definition.description !== 'string' || definition.description.trim() === '') {
    throw new AgentDefinitionError('tool(): `description` must be a non-empty string');
  }
  if (!(definition.parameters instanceof z.ZodObject)) {
    throw new AgentDefinitionError('tool(): `parameters` must be a zod object schema, e.g. z.object({ orderId: z.string() })');
  }
  if (typeof definition.execute !== 'function') throw new AgentDefinitionError('tool(): `execute` must be a function');
  if (definition.timeoutMs !== undefined && !(Number.isInteger(definition.timeoutMs) && definition.timeoutMs > 0)) {
    throw new AgentDefinitionError('tool(): `timeoutMs` must be a positive integer');
  }
  let jsonSchema: Record<string, unknown>;
  try {
    jsonSchema = jsonSchemaOf(definition.parameters);
  } catch (err) {
    throw new AgentDefinitionError(`tool(): \`parameters\` cannot be turned into JSON Schema: ${(err as Error).message}`);
  }
  return { ...(definition as unknown as ToolDefinition), jsonSchema, [TOOL_BRAND]: true };
}

export function isTool(value: unknown): value is Tool {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TOOL_BRAND] === true;
}
