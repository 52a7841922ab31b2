/**
 * The test model: which events can happen in each state (each event type expanded into its guarded variants),
 * how states are told apart (serializeState keeps only what changes behaviour — never growing counters or
 * history), and the path plan: a shortest path to every reachable state, plus one path per edge that takes a
 * transition no planned path takes yet.
 */
import type { ActorLogic, AnyStateNode } from 'xstate';
import { getAdjacencyMap, getShortestPaths, type AdjacencyValue } from 'xstate/graph';
import { callMachine, type CallInput, type CallSnapshot } from '../../machines/call.machine.js';
import { defaultCallOptions, type CallOptions, type ToolPolicy } from '../../machines/options.js';
import { resumable } from '../../machines/resume.js';
import { transitionKey } from './coverage.js';
import { ev, type ModelEvent } from './harness.js';

export type ModelConfig = { readonly name: string; readonly options: CallOptions };

export const WORDS = 'book a table';
export const FILLER = 'uh-huh';
/** One real word: interrupts when minInterruptWords is 1, not when it is 2. */
export const SHORT = 'wait';
export const TRANSFER_TO = '+15550199';
/** An end of turn whose transcript differs from the eager one. */
export const OTHER = 'book a table for four';

const tool = (name: string, kind: ToolPolicy['kind'], cancelOnInterruption = true, filler: string | null = null): ToolPolicy => ({
  name,
  description: `the ${name} tool`,
  parameters: { type: 'object', properties: {}, additionalProperties: false },
  kind,
  cancelOnInterruption,
  filler,
});

/** The tools every model configuration offers: a quick lookup, a slow one that must not be cancelled, and the
 * control tools. */
export const MODEL_TOOLS: readonly ToolPolicy[] = [
  tool('lookup_order', 'function', true, 'Let me look that up.'),
  tool('book_table', 'function', false),
  tool('end_call', 'end_call'),
  tool('transfer_call', 'transfer_call'),
];

export const modelOptions = (overrides: Partial<CallOptions> = {}): CallOptions => ({
  ...defaultCallOptions,
  tools: MODEL_TOOLS,
  transferTargets: { sales: TRANSFER_TO },
  maxToolRounds: 2,
  ...overrides,
});

/** The state's path without the wrappers (`live`, `round`): `listening`, `respond.thinking`, `transferring.dialing`. */
export function stateName(snapshot: CallSnapshot): string {
  if (snapshot.status === 'done') return 'ended';
  const parts: string[] = [];
  let value: unknown = snapshot.value;
  while (typeof value === 'object' && value !== null) {
    const [key, inner] = Object.entries(value)[0] ?? ['', ''];
    parts.push(key);
    value = inner;
  }
  parts.push(String(value));
  return parts.filter((part) => part !== 'live' && part !== 'round').join('.');
}

/** The active state nodes, found from the snapshot's value through the machine's public node tree. */
export function activeNodes(snapshot: CallSnapshot): AnyStateNode[] {
  const nodes: AnyStateNode[] = [callMachine.root];
  const walk = (node: AnyStateNode, value: unknown): void => {
    const entries = typeof value === 'string' ? [[value, undefined] as const] : Object.entries(value ?? {});
    for (const [key, inner] of entries) {
      const child = node.states[key];
      if (child === undefined) continue;
      nodes.push(child);
      if (inner !== undefined) walk(child, inner);
    }
  };
  walk(callMachine.root, snapshot.value);
  return nodes;
}

/** Built-in timer events of the active states (`xstate.after.<delay>.<state id>`). */
function timerEvents(snapshot: CallSnapshot): ModelEvent[] {
  const nodes = activeNodes(snapshot);
  // The filler timer fires once per tool round (its transition has no target, so it does not restart).
  const { speech, turn: { number: turn }, tools: { fillerDue, round } } = snapshot.context;
  const fillerFired = fillerDue || speech.segments.some((segment) => segment.name === `t${turn}-filler${round.index}`);
  return [...new Set(nodes.flatMap((node) => node.after.map((transition) => transition.eventType)))].map(
    (type) => ({ type: type as `xstate.after.${string}` }),
  )
    .filter((event) => !(fillerFired && event.type.startsWith('xstate.after.toolFiller')))
    // With keys pressed, the inter-digit timer (shorter) always fires before the idle timer.
    .filter((event) => !(snapshot.context.caller.digits !== '' && event.type.startsWith('xstate.after.idleTimeout')));
}

function actorError(id: string): ModelEvent {
  return { type: `xstate.error.actor.${id}`, error: new Error(`${id} failed`) };
}

/** Marks for every segment still waiting for its echo: played (heard) and cleared (not heard). A speculative
 * reply's audio is held at the transport: none of its marks can come back. */
function markEvents(snapshot: CallSnapshot): ModelEvent[] {
  if (speculating(snapshot)) return [];
  return snapshot.context.speech.segments
    .filter((segment) => segment.heard === null)
    .flatMap((segment) => [ev.mark(segment.name, true), ev.mark(segment.name, false)]);
}

function callerTalksOverAgent(config: ModelConfig): ModelEvent[] {
  const events = [
    ev.dtmf('4'),
    ev.turnStarted(),
    ev.turnStarted(FILLER),
    ev.final(WORDS, true),
    ev.final(WORDS, false),
    ev.final(FILLER, false),
    ev.interim(WORDS),
    ev.interim(FILLER),
    ev.utteranceEnd(),
  ];
  return config.options.minInterruptWords > 1 ? [...events, ev.final(SHORT, true), ev.interim(SHORT)] : events;
}

/**
 * Tool calls the model may make (kept few so the state space stays finite): in a first round, every kind of call
 * (a cancellable lookup, a lookup with the slow uncancellable booking alongside, the control tools, and three
 * refused calls); in a later round only the lookup; after spoken text only the lookup and the control tools.
 */
function toolCalls(snapshot: CallSnapshot, spoken: boolean): ModelEvent[] {
  const { turn: { number: turn }, tools: { round } } = snapshot.context;
  const id = (name: string) => `${name}-t${turn}-r${round.index}-${round.calls.length + 1}`;
  const [first, second] = round.calls;
  if (second !== undefined) return [];
  if (first !== undefined) return first.name === 'lookup_order' && round.index === 1 && !spoken ? [ev.tool('book_table', { time: '19:00' }, id('book_table'))] : [];
  const lookup = ev.tool('lookup_order', { order: '42' }, id('lookup_order'));
  if (round.index > 1) return [lookup];
  const control = [ev.tool('end_call', {}, id('end_call')), ev.tool('transfer_call', { target: 'sales' }, id('transfer_call'))];
  if (spoken) return [lookup, ...control];
  return [
    lookup,
    ev.tool('book_table', { time: '19:00' }, id('book_table')),
    ...control,
    ev.tool('transfer_call', { target: 'the ceo' }, id('transfer_call')),
    ev.tool('launch_rocket', {}, id('launch_rocket')),
    ev.tool('lookup_order', {}, id('lookup_order'), 'tool arguments are not valid JSON'),
  ];
}

const llmSideEvents = (snapshot: CallSnapshot, spoken: boolean): ModelEvent[] => [
  ev.done(),
  ev.llmError(),
  ...toolCalls(snapshot, spoken),
  ev.firstAudio(),
  ev.audioStarted(),
  actorError('llm'),
];

/** How a speculative reply ends: the turn resumes, or ends with another transcript (the same one is WORDS). */
function speculationEnds(snapshot: CallSnapshot): ModelEvent[] {
  return speculating(snapshot) ? [ev.turnResumed(), ev.final(OTHER, true)] : [];
}

const speculating = (snapshot: CallSnapshot): boolean => snapshot.matches({ live: { respond: { round: 'speculating' } } });

/** One result (ok or error) for each call the tool runner still runs. */
function toolResults(snapshot: CallSnapshot): ModelEvent[] {
  return snapshot.context.tools.round.calls
    .filter((call) => call.outcome === null)
    .flatMap((call) => [ev.toolResult(call.id, call.name, true), ev.toolResult(call.id, call.name, false)]);
}

const everywhere = (name: string): ModelEvent[] =>
  ['connecting', 'configuring'].includes(name) ? [ev.stop(), ev.hangup(), ev.hangup(true), actorError('transport')] : liveEverywhere();

const liveEverywhere = (): ModelEvent[] => [
  ev.answeredBy('human'), // a late verdict: only reported
  ev.sttConnected(3200), // a reconnect: only reported
  ev.stop(),
  ev.hangup(),
  ev.hangup(true),
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
      // The flow child reports its initial step as the call starts.
      connecting: () => [ev.start(), ev.start({ Amd: '1', Voicemail: 'Call us back.' }), ev.flowStep('first')],
      screening: () => [ev.answeredBy('human'), ev.answeredBy('machine'), ev.answeredBy('unknown'), ev.final(WORDS, true)],
      voicemail: () => [...markEvents(snapshot), ev.final(WORDS, true), ev.dtmf('4')],
      configuring: () => [ev.configured(config.options), actorError('configure')],
      greeting: () => [...markEvents(snapshot), ...callerTalksOverAgent(config)],
      // ev.final('', true): Deepgram's empty speech_final (all words came in earlier finals).
      listening: () => [
        ev.final(WORDS, true),
        ev.final(WORDS, false),
        ev.final('', true),
        ev.interim(WORDS),
        ev.utteranceEnd(),
        ev.dtmf('4'),
        ev.dtmf('#'),
        ev.eager(WORDS),
      ],
      'respond.thinking': () => [
        ev.text('Sure thing. '),
        ev.text(' '),
        ...llmSideEvents(snapshot, false),
        ev.final(WORDS, true),
        ev.final(FILLER, false),
        ev.interim(WORDS),
        ev.interim(FILLER),
        ev.dtmf('4'),
        ...speculationEnds(snapshot),
      ],
      'respond.speaking': () => [
        ...(segments - snapshot.context.tools.round.firstSegment < 2 && segments < 4
          ? [ev.text('It is 3.5 km. '), ev.text('This sentence is long enough to flush on its own. ')]
          : []),
        ev.text('and so on'),
        ...llmSideEvents(snapshot, true),
        ...markEvents(snapshot),
        ...callerTalksOverAgent(config),
        ...speculationEnds(snapshot),
      ],
      // A held reply: the same events as its confirmed counterpart (its marks cannot come back while it is held).
      'respond.speculating.thinking': () => byState['respond.thinking']?.() ?? [],
      'respond.speculating.speaking': () => byState['respond.speaking']?.() ?? [],
      'respond.tooling': () => [
        ...toolResults(snapshot),
        ...markEvents(snapshot),
        ...callerTalksOverAgent(config),
        ev.final(WORDS, false),
        ev.firstAudio(),
        actorError('tools'),
      ],
      'transferring.announcing': () => markEvents(snapshot),
      'transferring.dialing': () => [ev.transferred(), ev.transferFailed()],
      'transferring.handedOff': () => [],
      prompting: () => [...markEvents(snapshot), ...callerTalksOverAgent(config)],
      interrupted: () => [
        ev.cleared(),
        ev.final(WORDS, true),
        ev.final('', true),
        ev.final(FILLER, false),
        ev.utteranceEnd(),
        ev.mark('t0-stale', false),
        ...markEvents(snapshot), // echoes of the cut speech: played before our clear reached Twilio, or cleared
        ev.dtmf('4'),
        ev.dtmf('#'),
      ],
      // Waiting after a barge-in that may be noise: real words, nothing (an empty final), fillers, silence.
      paused: () => [
        ev.final(WORDS, true),
        ev.final(WORDS, false),
        ev.final('', true),
        ev.final(FILLER, true),
        ev.final(FILLER, false),
        ev.interim(WORDS),
        ev.interim(FILLER),
        ev.utteranceEnd(),
        ev.speechStarted(),
        ev.mark('t0-stale', true), // a late echo of the cut speech: already committed, changes nothing
        ev.dtmf('4'),
        ev.dtmf('#'),
      ],
      resuming: () => [...markEvents(snapshot), ...callerTalksOverAgent(config)],
      goodbye: () => markEvents(snapshot),
    };
    const name = stateName(snapshot);
    const events = byState[name];
    if (events === undefined) throw new Error(`the model has no events for state ${name}`);
    return name === 'ended' ? [] : [...events(), ...timerEvents(snapshot), ...everywhere(name)];
  };
}

/** What distinguishes two states for behaviour. Counters (turn, phrases, timestamps) and history are left out. */
export function serializeModelState(snapshot: CallSnapshot): string {
  const name = stateName(snapshot);
  if (name === 'ended') return 'ended';
  const { context: c } = snapshot;
  // Segments by mark status (how many await their mark, were heard, were cut), not one by one: the order rarely
  // changes behaviour and listing it multiplies the states.
  const marks = (heard: boolean | null) => c.speech.segments.filter((segment) => segment.heard === heard).length;
  const speech = [c.speech.kind, marks(null), marks(true) > 0, marks(false) > 0, c.speech.buffer.trim() !== '', c.speech.open !== ''];
  if (name === 'goodbye' || name === 'connecting') return JSON.stringify([name, speech]);
  // The cut speech only waits for its last echoes there: whether any is still due is what matters.
  const interrupted = name === 'interrupted';
  if (name === 'configuring') return JSON.stringify([name, c.call?.customParameters['Amd'] === '1']);
  const round = c.tools.round.calls.map((call) => [call.name, call.outcome === null ? null : call.outcome.ok]);
  return JSON.stringify([
    name,
    interrupted ? [c.speech.kind === 'reply', marks(null) > 0, marks(true) > 0, resumable(c.speech)] : speech,
    // Paused with or without part of the cut speech heard (the resume must not repeat that part).
    name === 'paused' ? c.history.at(-1)?.role ?? null : null,
    interrupted || c.speech.complete,
    c.caller.pending.length > 0,
    c.caller.digits !== '',
    c.turn.speculation !== null,
    c.caller.endOfTurnAt !== null,
    c.turn.userText !== '',
    c.turn.reprompts,
    c.turn.hangupAfterReply,
    c.turn.transferTo !== null,
    round,
    c.tools.round.index,
    c.tools.rounds.length,
    c.tools.fillerDue,
    c.tools.callerSpokeDuringTools,
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
  // The context fields an edge changed tell apart the eventless transitions that follow the event within the same
  // state (a mark that lets a due filler be said), which neither the event's transitions nor the state pair show.
  // (Field by field inside the groups: caller input, turn, tool loop.)
  const fields = (context: CallSnapshot['context']): Map<string, unknown> => {
    const out = new Map<string, unknown>();
    for (const [key, value] of Object.entries(context)) {
      if (key === 'caller' || key === 'turn' || key === 'tools') {
        for (const [inner, innerValue] of Object.entries(value as object)) out.set(`${key}.${inner}`, innerValue);
      } else out.set(key, value);
    }
    return out;
  };
  const changed = (from: CallSnapshot, to: CallSnapshot) => {
    const before = fields(from.context);
    return [...fields(to.context)].filter(([key, value]) => !Object.is(before.get(key), value)).map(([key]) => key);
  };
  const signature = (from: CallSnapshot, event: ModelEvent, to: CallSnapshot) =>
    [
      stateName(from),
      ...callMachine.getTransitionData(from, event as never).map(transitionKey),
      stateName(to),
      ...changed(from, to),
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
