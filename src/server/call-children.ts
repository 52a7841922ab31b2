/**
 * One call machine for the whole process; each call's children (its transport, STT, TTS, LLM, tools…) are bound to
 * that call. `callMachine.provide({ actors })` per call rebuilt the machine's whole state-node tree for every call
 * (≈3 ms of CPU on the event loop at each call's start on this machine, and the tree kept for the call's life: 23
 * StateNodes, 150 closures), a cost that grew with every state the machine gained (issue 22). Now the machine is
 * provided once, with stand-ins that hand each child actor the real logic of its own call, found through the call's
 * actor system.
 */
import { Actor, createActor, type ActorOptions, type AnyActorLogic, type AnyActorScope } from 'xstate';
import { callMachine, type CallActors, type CallInput, type CallMachine } from '../../machines/call.machine.js';

type CallSystem = Actor<CallMachine>['system'];

const boundChildren = new WeakMap<CallSystem, CallActors>();
/** The children of the call whose root is being built right now (createActor starts the initial state's children). */
let constructing: CallActors | undefined;

function childrenOf(system: CallSystem): CallActors {
  let children = boundChildren.get(system);
  if (children === undefined) {
    if (constructing === undefined) throw new Error('a call child started outside createCallActor');
    children = constructing;
    boundChildren.set(system, children);
  }
  return children;
}

/** A child's logic that defers, method by method, to the same child of the call it runs in. */
function standIn(name: keyof CallActors): AnyActorLogic {
  const real = (scope: AnyActorScope): AnyActorLogic => childrenOf(scope.system as CallSystem)[name];
  return {
    config: undefined,
    transition: (snapshot, event, scope) => real(scope).transition(snapshot, event, scope),
    getInitialSnapshot: (scope, input) => {
      const logic = real(scope);
      // The Stately inspector draws a child from its actor's `logic.config`, which it reads on a timer after the
      // child was created (not while the call's root is being built): from its creation on, the flow child's actor
      // holds its call's own flow machine, so the inspector shows the flow's steps, not an empty box.
      if (name === 'flow' && scope.self instanceof Actor) scope.self.logic = logic;
      return logic.getInitialSnapshot(scope, input);
    },
    start: (snapshot, scope) => real(scope).start?.(snapshot, scope),
    // Callback and promise snapshots persist as they are (what fromCallback/fromPromise do).
    getPersistedSnapshot: (snapshot) => snapshot,
  };
}

const sharedCallMachine = callMachine.provide({
  actors: {
    transport: standIn('transport') as CallActors['transport'],
    stt: standIn('stt') as CallActors['stt'],
    tts: standIn('tts') as CallActors['tts'],
    llm: standIn('llm') as CallActors['llm'],
    tools: standIn('tools') as CallActors['tools'],
    configure: standIn('configure') as CallActors['configure'],
    transfer: standIn('transfer') as CallActors['transfer'],
    flow: standIn('flow'),
  },
});

/** The root actor of one call, running the shared machine with this call's children. */
export function createCallActor(children: CallActors, options: ActorOptions<CallMachine> & { input: CallInput }): Actor<CallMachine> {
  constructing = children;
  try {
    const actor = createActor(sharedCallMachine, options);
    boundChildren.set(actor.system, children);
    return actor;
  } finally {
    constructing = undefined;
  }
}
