/**
 * `walkFlow` (from `voice-call-orchestrator/testing`): model-based testing of an agent's conversation flow. Given how
 * to take each transition (the caller's lines and the scripted model that makes a tool send the event), it plans
 * calls that together take every transition of the flow graph — each call the shortest way to the transition's step,
 * then the transition — runs them through the real stack with `simulateCall`, and reports which transitions the
 * calls really took: `flow transition coverage: N/M`.
 */
import type { Agent } from '../agent/agent.js';
import { targetOf, type Flow } from '../agent/flow.js';
import { simulateCall, type LlmScriptEntry, type ScriptStep, type SimulateCallOptions, type SimulatedCallResult } from './simulate-call.js';

/** How to take one transition: what the caller says, and the model's entries that make a tool send the event. */
export interface FlowTransitionScript {
  readonly caller: ReadonlyArray<string | ScriptStep>;
  readonly model: readonly LlmScriptEntry[];
}

export interface WalkFlowOptions extends Omit<SimulateCallOptions, 'agent' | 'caller' | 'model'> {
  /** An agent defined with a flow. */
  readonly agent: Agent;
  /** By step, then by event: `{ identify: { VERIFIED: { caller: [...], model: [...] } } }`. */
  readonly transitions: Readonly<Record<string, Readonly<Record<string, FlowTransitionScript>>>>;
  /** Model entries every call gets after the transitions' own (e.g. how to answer a goodbye). */
  readonly model?: readonly LlmScriptEntry[];
}

export interface WalkedFlow {
  /** Every transition of the flow, `step.EVENT`. */
  readonly all: readonly string[];
  /** Those some call took. */
  readonly covered: readonly string[];
  readonly missing: readonly string[];
  /** `flow transition coverage: N/M`. */
  readonly summary: string;
  /** The calls, in the order they ran, each with the transitions planned for it. */
  readonly calls: ReadonlyArray<{ readonly planned: readonly string[]; readonly result: SimulatedCallResult }>;
}

type Edge = { readonly from: string; readonly event: string; readonly to: string; readonly key: string };

function edgesOf(flow: Flow): Edge[] {
  return Object.entries(flow.steps).flatMap(([from, step]) =>
    Object.entries(step.on ?? {}).map(([event, transition]) => ({ from, event, to: targetOf(transition), key: `${from}.${event}` })),
  );
}

/** The shortest chain of transitions from the initial step to each step (breadth first). */
function shortestRoutes(flow: Flow, edges: readonly Edge[]): Map<string, Edge[]> {
  const routes = new Map<string, Edge[]>([[flow.initial, []]]);
  const queue = [flow.initial];
  for (let step = queue.shift(); step !== undefined; step = queue.shift()) {
    for (const edge of edges.filter((e) => e.from === step)) {
      if (routes.has(edge.to)) continue;
      routes.set(edge.to, [...(routes.get(step) ?? []), edge]);
      queue.push(edge.to);
    }
  }
  return routes;
}

/** The transitions a call really took, from the flow steps it reported. */
export function takenTransitions(result: SimulatedCallResult): string[] {
  return result.events.flatMap((e) => (e.type === 'call.flowStep' && e.from !== null && e.event !== null ? [`${e.from}.${e.event}`] : []));
}

export async function walkFlow(opts: WalkFlowOptions): Promise<WalkedFlow> {
  const { agent, transitions, model = [], ...simulate } = opts;
  const flow = agent.flow;
  if (flow === undefined) throw new Error('walkFlow: the agent has no flow');
  const edges = edgesOf(flow);
  const scriptOf = (edge: Edge): FlowTransitionScript => {
    const script = transitions[edge.from]?.[edge.event];
    if (script === undefined) throw new Error(`walkFlow: no script for the transition ${edge.key} (transitions.${edge.from}.${edge.event})`);
    return script;
  };
  for (const edge of edges) scriptOf(edge); // every transition scripted, before any call runs
  const routes = shortestRoutes(flow, edges);
  const plans = edges
    .map((edge) => [...(routes.get(edge.from) ?? []), edge])
    .sort((a, b) => b.length - a.length); // the longest first: their prefixes cover the shorter ones
  const covered = new Set<string>();
  const calls: Array<{ planned: string[]; result: SimulatedCallResult }> = [];
  for (const plan of plans) {
    const last = plan[plan.length - 1];
    if (last === undefined || covered.has(last.key)) continue;
    const result = await simulateCall({
      ...simulate,
      agent,
      caller: plan.flatMap((edge) => scriptOf(edge).caller),
      model: [...plan.flatMap((edge) => scriptOf(edge).model), ...model],
    });
    for (const key of takenTransitions(result)) covered.add(key);
    calls.push({ planned: plan.map((edge) => edge.key), result });
  }
  const all = edges.map((edge) => edge.key);
  const taken = all.filter((key) => covered.has(key));
  return {
    all,
    covered: taken,
    missing: all.filter((key) => !covered.has(key)),
    summary: `flow transition coverage: ${taken.length}/${all.length}`,
    calls,
  };
}
