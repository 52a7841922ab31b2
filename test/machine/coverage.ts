/**
 * Transition coverage computed from the machine definition: every `on`, `after`, `always`, `onDone` and `onError`
 * transition of every state node, keyed `source.id|eventType|index` (`always` for eventless transitions).
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { getStateNodes } from 'xstate/graph';

function allNodes(machine: AnyStateMachine): AnyStateNode[] {
  return [machine.root, ...getStateNodes(machine.root)];
}

export function transitionKey(transition: AnyTransitionDefinition): string {
  const source = transition.source;
  if (transition.eventType === '') return `${source.id}|always|${(source.always ?? []).indexOf(transition)}`;
  const siblings = source.transitions.get(transition.eventType) ?? [];
  return `${source.id}|${transition.eventType}|${siblings.indexOf(transition)}`;
}

export function allTransitionKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  for (const node of allNodes(machine)) {
    for (const transitions of node.transitions.values()) keys.push(...transitions.map(transitionKey));
    keys.push(...(node.always ?? []).map(transitionKey));
  }
  return keys;
}

export class TransitionCoverage {
  readonly all: readonly string[];
  readonly walked = new Set<string>();

  constructor(machine: AnyStateMachine) {
    this.all = allTransitionKeys(machine);
  }

  mark = (transition: AnyTransitionDefinition): void => {
    const key = transitionKey(transition);
    if (key.includes('|-1')) throw new Error(`walked a transition that is not in the definition: ${key}`);
    this.walked.add(key);
  };

  missing(): string[] {
    return this.all.filter((key) => !this.walked.has(key));
  }

  summary(): string {
    return `transition coverage: ${this.all.filter((key) => this.walked.has(key)).length}/${this.all.length}`;
  }
}
