/**
 * The test model: which events can happen in each state (each event type expanded into its guarded variants),
 * how states are told apart (serializeState keeps only what changes behaviour — never growing counters or
 * history), and the path plan: a shortest path to every reachable state, plus one path per edge that takes a
 * transition no planned path takes yet.
 */
import type { ActorLogic, AnyStateNode } from 'xstate';
import { getAdjacencyMap, getShortestPaths, type AdjacencyValue } from 'xstate/graph';
import { callMachine, type CallInput, type CallSnapshot } from '../../machines/call.machine.js';
import type { CallOptions } from '../../machines/options.js';
import { transitionKey } from './coverage.js';
import { ev, type ModelEvent } from './harness.js';

export type ModelConfig = { readonly name: string; readonly options: CallOptions };

export const WORDS = 'book a table';
export const FILLER = 'uh-huh';
/** One real word: interrupts when minInterruptWords is 1, not when it is 2. */
export const SHORT = 'wait';
export const TRANSFER_TO = '+15550199';

export function stateName(snapshot: CallSnapshot): string {
  if (snapshot.status === 'done') return 'ended';
  const value = snapshot.value;
  return typeof value === 'string' ? value : `respond.${value.respond}`;
}

/** Built-in timer events of the active states (`xstate.after.<delay>.<state id>`). */
function timerEvents(snapshot: CallSnapshot): ModelEvent[] {
  const nodes = (snapshot as unknown as { _nodes: AnyStateNode[] })._nodes;
  return [...new Set(nodes.flatMap((node) => node.after.map((transition) => transition.eventType)))].map(
    (type) => ({ type: type as `xstate.after.${string}` }),
  );
}

function actorError(id: string): ModelEvent {
  return { type: `xstate.error.actor.${id}`, error: new Error(`${id} failed`) };
}

/** Marks for every segment still waiting for its echo: played (heard) and cleared (not heard). */
function markEvents(snapshot: CallSnapshot): ModelEvent[] {
  return snapshot.context.speech.segments
    .filter((segment) => segment.heard === null)
    .flatMap((segment) => [ev.mark(segment.name, true), ev.mark(segment.name, false)]);
}

function callerTalksOverAgent(config: ModelConfig): ModelEvent[] {
  const events = [
    ev.final(WORDS, true),
    ev.final(WORDS, false),
    ev.final(FILLER, false),
    ev.interim(WORDS),
    ev.interim(FILLER),
    ev.utteranceEnd(),
  ];
  return config.options.minInterruptWords > 1 ? [...events, ev.final(SHORT, true), ev.interim(SHORT)] : events;
}

const llmSideEvents = (): ModelEvent[] => [
  ev.done(),
  ev.llmError(),
  ev.tool('end_call'),
  ev.tool('transfer_call', { to: TRANSFER_TO }),
  ev.tool('transfer_call', { to: 42 }),
  ev.firstAudio(),
  ev.audioStarted(),
  actorError('llm'),
];

const everywhere = (): ModelEvent[] => [
  ev.stop(),
  ev.hangup(),
  ev.sttError(true),
  ev.sttError(false),
  ev.ttsError(true),
  ev.ttsError(false),
  actorError('transport'),
  actorError('stt'),
  actorError('tts'),
];

export function modelEvents(config: ModelConfig) {
  return (snapshot: CallSnapshot): ModelEvent[] => {
    const segments = snapshot.context.speech.segments.length;
    const byState: Record<string, () => ModelEvent[]> = {
      ended: () => [],
      connecting: () => [ev.start()],
      greeting: () => [...markEvents(snapshot), ...callerTalksOverAgent(config)],
      // ev.final('', true): Deepgram's empty speech_final (all words came in earlier finals).
      listening: () => [ev.final(WORDS, true), ev.final(WORDS, false), ev.final('', true), ev.interim(WORDS), ev.utteranceEnd()],
      'respond.thinking': () => [
        ev.text('Sure thing. '),
        ev.text(' '),
        ...llmSideEvents(),
        ev.final(WORDS, true),
        ev.final(FILLER, false),
        ev.interim(WORDS),
        ev.interim(FILLER),
      ],
      'respond.speaking': () => [
        ...(segments < 2 ? [ev.text('It is 3.5 km. '), ev.text('This sentence is long enough to flush on its own. ')] : []),
        ev.text('and so on'),
        ...llmSideEvents(),
        ...markEvents(snapshot),
        ...callerTalksOverAgent(config),
      ],
      prompting: () => [...markEvents(snapshot), ...callerTalksOverAgent(config)],
      interrupted: () => [
        ev.cleared(),
        ev.final(WORDS, true),
        ev.final('', true),
        ev.final(FILLER, false),
        ev.utteranceEnd(),
        ev.mark('t0-stale', false),
      ],
      goodbye: () => markEvents(snapshot),
    };
    const name = stateName(snapshot);
    const events = byState[name];
    if (events === undefined) throw new Error(`the model has no events for state ${name}`);
    return name === 'ended' ? [] : [...events(), ...timerEvents(snapshot), ...everywhere()];
  };
}

/** What distinguishes two states for behaviour. Counters (turn, phrases, timestamps) and history are left out. */
export function serializeModelState(snapshot: CallSnapshot): string {
  const name = stateName(snapshot);
  if (name === 'ended') return 'ended';
  const { context: c } = snapshot;
  const speech = [c.speech.kind, c.speech.segments.map((s) => s.heard), c.speech.buffer.trim() !== '', c.speech.open !== ''];
  if (name === 'goodbye' || name === 'connecting') return JSON.stringify([name, speech]);
  return JSON.stringify([
    name,
    speech,
    c.speech.complete,
    c.pending.length > 0,
    c.endOfTurnAt !== null,
    c.userText !== '',
    c.reprompts,
    c.hangupAfterReply,
    c.replyProgressed,
  ]);
}

/** One step of a planned path: the event and the serialized state the model expects after it. */
export type PlannedStep = { event: ModelEvent; expected: string };
/** The machine seen by the graph tools: its events plus the built-in timer and child-failure events. */
const modelLogic = callMachine as unknown as ActorLogic<CallSnapshot, ModelEvent, CallInput>;

export type PathPlan = { paths: PlannedStep[][]; states: number; edges: number };

export function planPaths(config: ModelConfig): PathPlan {
  const options = {
    input: { options: config.options },
    events: modelEvents(config),
    serializeState: (snapshot: CallSnapshot) => serializeModelState(snapshot),
  };
  const shortest = getShortestPaths(modelLogic, options);
  const adjacency = getAdjacencyMap(modelLogic, options);

  // An edge is worth its own path when no planned path takes the same first transitions between the same two
  // states (the state pair catches the eventless/onDone transitions that follow, e.g. the last mark of a reply).
  const taken = new Set<string>();
  const signature = (from: CallSnapshot, event: ModelEvent, to: CallSnapshot) =>
    [
      stateName(from),
      ...callMachine.getTransitionData(from, event as never).map(transitionKey),
      stateName(to),
    ].join(' ');

  const initial = shortest.find((path) => path.steps.length === 0)?.state;
  const pathTo = new Map<string, PlannedStep[]>();
  for (const path of shortest) {
    const steps = path.steps.map((step) => ({ event: step.event, expected: serializeModelState(step.state) }));
    pathTo.set(serializeModelState(path.state), steps);
    path.steps.forEach((step, index) => {
      const before = index === 0 ? initial : path.steps[index - 1]?.state;
      if (before !== undefined) taken.add(signature(before, step.event, step.state));
    });
  }
  const paths = [...pathTo.values()].filter((path) => path.length > 0);

  let edges = 0;
  // AdjacencyMap keys are branded strings, which Object.entries does not see through.
  const entries = Object.entries(adjacency) as Array<[string, AdjacencyValue<CallSnapshot, ModelEvent>]>;
  const vertices = entries.sort(
    ([a], [b]) => (pathTo.get(a)?.length ?? 0) - (pathTo.get(b)?.length ?? 0),
  );
  for (const [serialized, vertex] of vertices) {
    const prefix = pathTo.get(serialized);
    if (prefix === undefined) continue;
    for (const { event, state } of Object.values(vertex.transitions)) {
      edges++;
      const edge = signature(vertex.state, event, state);
      if (taken.has(edge)) continue;
      taken.add(edge);
      paths.push([...prefix, { event, expected: serializeModelState(state) }]);
    }
  }
  return { paths, states: pathTo.size, edges };
}
