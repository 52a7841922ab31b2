/**
 * Conversation flows: `defineFlow({ initial, steps })`, checked at load time, and compiled to an XState machine that
 * runs as the call machine's `flow` child. Code decides the steps, the model talks: a step's instructions and tools
 * are all the model gets while the step is active, and only events (sent by tools with `ctx.flow.send`) move it.
 */
import { assign, sendParent, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { FlowStepEvent, HistoryStrategy } from '../../machines/flow-step.js';
import { now } from '../../lib/clock.js';
import { logFailure, type Logger } from '../../lib/logger.js';
import { AgentDefinitionError, type FlowContext, type FlowEvent, type Tool, type ToolFlow } from './tool.js';

export type { FlowContext, FlowEvent, ToolFlow };

/** Decides in code whether an event may take its transition (false: the event is refused, the tool gets an error). */
export type FlowGuard = (context: FlowContext, event: FlowEvent) => boolean;
export type FlowTransition = string | { readonly target: string; readonly guard?: FlowGuard };
/** Runs when a step is entered (with the context the event that led here set). Errors are logged, not thrown. */
export type FlowEnterHook = (flow: { readonly step: string; readonly context: FlowContext }) => void | Promise<void>;

export interface FlowStepDefinition {
  /** Added to the agent's system prompt while the step is active. */
  readonly instructions: string;
  /** The only developer tools the model gets in this step (the agent's own `tools` are offered in every step). */
  readonly tools?: Readonly<Record<string, Tool>>;
  /** Event type → the step it moves to, with an optional guard. A step without `on` is a last step. */
  readonly on?: Readonly<Record<string, FlowTransition>>;
  /** `{ say }`: a fixed phrase said at once when a tool moves the flow here (no dead air); or code to run. */
  readonly onEnter?: { readonly say: string } | FlowEnterHook;
  /** A name of the agent's `transferTargets`: entering the step transfers the call once the reply has played. */
  readonly transferTo?: string;
  /**
   * The conversation so far on entering the step: `keep` (default); `reset` (the model starts over with the
   * current turn); `summary` (reset, with a plain-text digest of the earlier conversation added to the prompt).
   */
  readonly history?: HistoryStrategy;
}

export interface FlowDefinition {
  readonly initial: string;
  readonly steps: Readonly<Record<string, FlowStepDefinition>>;
}

const FLOW_BRAND = Symbol.for('voice-call-orchestrator.flow');
export type Flow = FlowDefinition & { readonly [FLOW_BRAND]: true };

export function isFlow(value: unknown): value is Flow {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[FLOW_BRAND] === true;
}

const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const HISTORY: readonly HistoryStrategy[] = ['keep', 'reset', 'summary'];

export const targetOf = (transition: FlowTransition): string => (typeof transition === 'string' ? transition : transition.target);

/** Steps reachable from the initial one through `on`. */
function reachableSteps(definition: FlowDefinition): Set<string> {
  const seen = new Set<string>([definition.initial]);
  const queue = [definition.initial];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const transition of Object.values(definition.steps[name]?.on ?? {})) {
      const target = targetOf(transition);
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return seen;
}

/** Every tool of every step, once per name; a name given two different tools is an error naming both steps. */
export function stepTools(definition: FlowDefinition, fail: (message: string) => never): Map<string, { tool: Tool; step: string }> {
  const tools = new Map<string, { tool: Tool; step: string }>();
  for (const [step, { tools: own }] of Object.entries(definition.steps)) {
    for (const [name, tool] of Object.entries(own ?? {})) {
      const seen = tools.get(name);
      if (seen !== undefined && seen.tool !== tool) fail(`step "${step}": tool "${name}" is also defined, differently, in step "${seen.step}"; define it once and use the same tool in both`);
      if (seen === undefined) tools.set(name, { tool, step });
    }
  }
  return tools;
}

/** Checks a flow at once, so a bad flow fails at load with one clear line naming the step. */
export function defineFlow(definition: FlowDefinition): Flow {
  const fail = (message: string): never => {
    throw new AgentDefinitionError(`defineFlow(): ${message}`);
  };
  if (typeof definition !== 'object' || definition === null) fail('expects an object');
  if (typeof definition.steps !== 'object' || definition.steps === null || Object.keys(definition.steps).length === 0) fail('`steps` must name at least one step');
  const names = Object.keys(definition.steps);
  if (typeof definition.initial !== 'string' || !Object.hasOwn(definition.steps, definition.initial)) {
    fail(`\`initial\` "${String(definition.initial)}" is not a step (steps: ${names.join(', ')})`);
  }
  for (const [name, step] of Object.entries(definition.steps)) {
    const at = (message: string): never => fail(`step "${name}": ${message}`);
    if (typeof step !== 'object' || step === null) at('must be an object');
    if (typeof step.instructions !== 'string' || step.instructions.trim() === '') at('`instructions` must be a non-empty string');
    if (step.history !== undefined && !HISTORY.includes(step.history)) at(`\`history\` must be one of ${HISTORY.join(', ')}`);
    if (step.transferTo !== undefined && (typeof step.transferTo !== 'string' || step.transferTo.trim() === '')) at('`transferTo` must name a transfer target');
    const enter = step.onEnter;
    if (enter !== undefined && typeof enter !== 'function' && !(typeof enter === 'object' && enter !== null && typeof enter.say === 'string' && enter.say.trim() !== '')) {
      at('`onEnter` must be { say: "a phrase" } or a function');
    }
    for (const [event, transition] of Object.entries(step.on ?? {})) {
      if (!EVENT_TYPE.test(event)) at(`event "${event}" must start with a letter and hold only letters, digits, _ . or -`);
      const target = typeof transition === 'string' ? transition : transition?.target;
      if (typeof target !== 'string' || !Object.hasOwn(definition.steps, target)) at(`on.${event} goes to unknown step "${String(target)}" (steps: ${names.join(', ')})`);
      if (typeof transition === 'object' && transition.guard !== undefined && typeof transition.guard !== 'function') at(`on.${event}.guard must be a function`);
    }
  }
  const reachable = reachableSteps(definition);
  for (const name of names) if (!reachable.has(name)) fail(`step "${name}" cannot be reached from "${definition.initial}" (no step's \`on\` leads to it)`);
  stepTools(definition, fail);
  return { ...definition, [FLOW_BRAND]: true };
}

/** The flow machine's context: the events' payloads merged. */
type FlowMachineContext = { readonly values: FlowContext };

const payloadOf = (event: FlowEvent): FlowContext => Object.fromEntries(Object.entries(event).filter(([key]) => key !== 'type'));

/**
 * The flow as an XState machine: one state per step, one transition per `on` entry (guards in code, wrapped so a
 * throwing guard refuses the event instead of failing the flow). Entering a step reports it to the call machine
 * (FLOW.STEP, data only) and runs its `onEnter` code. `agentTools` are offered in every step.
 */
export function compileFlow(flow: Flow, agentTools: readonly string[], log?: Logger) {
  const states: Record<string, object> = {};
  for (const [name, step] of Object.entries(flow.steps)) {
    const on: Record<string, object> = {};
    for (const [event, transition] of Object.entries(step.on ?? {})) {
      const guard = typeof transition === 'string' ? undefined : transition.guard;
      on[event] = {
        target: targetOf(transition),
        reenter: true,
        ...(guard === undefined ? {} : { guard: { type: 'stepGuard', params: { step: name, event, guard } } }),
        actions: 'mergePayload',
      };
    }
    const tools = [...new Set([...agentTools, ...Object.keys(step.tools ?? {})])];
    const entered: Omit<FlowStepEvent, 'context' | 'at' | 'cause'> = {
      type: 'FLOW.STEP',
      step: name,
      instructions: step.instructions,
      tools,
      history: step.history ?? 'keep',
      say: typeof step.onEnter === 'object' ? step.onEnter.say : null,
      transferTo: step.transferTo ?? null,
    };
    const hook = typeof step.onEnter === 'function' ? step.onEnter : undefined;
    states[name] = {
      entry: [{ type: 'reportStep', params: entered }, ...(hook === undefined ? [] : [{ type: 'runOnEnter', params: { step: name, hook } }])],
      on,
    };
  }
  return setup({
    types: { context: {} as FlowMachineContext, events: {} as FlowEvent },
    guards: {
      stepGuard: ({ context, event }, params: { step: string; event: string; guard: FlowGuard }) => {
        try {
          return params.guard(context.values, event) === true;
        } catch (err) {
          logFailure(log, 'flow guard failed', err, { step: params.step, event: params.event, effect: 'the event was refused' });
          return false;
        }
      },
    },
    actions: {
      mergePayload: assign(({ context, event }) => ({ values: { ...context.values, ...payloadOf(event) } })),
      reportStep: sendParent(({ context, event }, params: Omit<FlowStepEvent, 'context' | 'at' | 'cause'>): FlowStepEvent => ({
        ...params,
        cause: event.type.startsWith('xstate.') ? null : event.type, // the initial step is entered on xstate.init
        context: context.values,
        at: now(),
      })),
      runOnEnter: ({ context }, params: { step: string; hook: FlowEnterHook }) => {
        const failed = (err: unknown) => logFailure(log, 'flow onEnter failed', err, { step: params.step });
        try {
          void Promise.resolve(params.hook({ step: params.step, context: context.values })).catch(failed);
        } catch (err) {
          failed(err);
        }
      },
    },
  }).createMachine({ id: 'flow', context: { values: {} }, initial: flow.initial, states } as never);
}

export type FlowMachine = ReturnType<typeof compileFlow>;
export type FlowActorRef = ActorRefFrom<FlowMachine>;

/** `ctx.flow` for one tool call: the call's flow actor (null without a flow), and the tool call's own signal. */
export function toolFlow(ref: AnyActorRef | undefined | null, signal: AbortSignal, tool: string, log?: Logger): ToolFlow {
  const flow = ref === undefined || ref === null ? null : (ref as FlowActorRef);
  return {
    get step() {
      const value = flow?.getSnapshot().value;
      return typeof value === 'string' ? value : null;
    },
    get context() {
      return flow?.getSnapshot().context.values ?? {};
    },
    send(event: FlowEvent) {
      if (signal.aborted) {
        log?.warn('flow event from a cancelled tool ignored', { tool, event: event?.type });
        return;
      }
      if (flow === null) throw new Error('ctx.flow.send: this agent has no flow (defineAgent({ flow: defineFlow(...) }))');
      if (typeof event !== 'object' || event === null || typeof event.type !== 'string') throw new Error('ctx.flow.send: the event must be an object with a string `type`');
      const snapshot = flow.getSnapshot();
      if (!snapshot.can(event)) {
        const accepted = Object.keys(snapshot.machine.states[String(snapshot.value)]?.on ?? {});
        const why = accepted.includes(event.type) ? 'its guard refused it' : `it accepts ${accepted.length === 0 ? 'no events' : accepted.join(', ')}`;
        throw new Error(`The conversation is in step "${String(snapshot.value)}", which does not accept ${event.type} (${why}).`);
      }
      log?.info('flow event', { tool, event: event.type, from: String(snapshot.value) });
      flow.send(event);
    },
  };
}
