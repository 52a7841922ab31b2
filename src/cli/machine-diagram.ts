/**
 * The call machine as a Mermaid `stateDiagram-v2`, generated from the machine definition itself (states, initial
 * states, events and guard names on the edges), so the picture in the README cannot drift from the code.
 * Transitions that change state are edges; those handled in place (no target) are listed in one note per state.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

type GuardLike = string | { type?: unknown } | ((...args: never[]) => unknown) | undefined;

/** `and(['a', not('b')])` → `a && !b`; `stateIn('#call.live.goodbye')` → `in goodbye`. */
export function guardLabel(guard: GuardLike): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const composite = guard as unknown as { name: string; guards?: GuardLike[]; stateValue?: unknown };
    if (composite.name === 'stateIn') return `in ${String(composite.stateValue).split('.').pop() ?? ''}`;
    const parts = (composite.guards ?? []).map(guardLabel);
    if (composite.name === 'not') return `!${parts.length === 1 ? parts[0] : `(${parts.join(' && ')})`}`;
    const joined = parts.join(composite.name === 'or' ? ' || ' : ' && ');
    return joined;
  }
  return typeof guard.type === 'string' ? guard.type : '?';
}

/** `xstate.after.idleTimeout.call.live.listening` → `after idleTimeout`; `xstate.error.actor.llm` → `llm error`. */
export function eventLabel(transition: AnyTransitionDefinition): string {
  const type = transition.eventType;
  if (type === '') return 'always';
  const after = /^xstate\.after\.([^.]+)\./.exec(type);
  if (after) return `after ${after[1]}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  if (actor) return `${actor[2]} ${actor[1]}`;
  if (type.startsWith('xstate.done.state.')) return 'done';
  return type;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

function transitionsOf(node: AnyStateNode): AnyTransitionDefinition[] {
  return [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
}

export function machineDiagram(machine: AnyStateMachine): string {
  const nodes = allNodes(machine.root).slice(1);
  // Mermaid state ids are global: a state's own key when it is unique, else the shortest end of its path that is
  // (`round_thinking`, `speculating_thinking`).
  const suffix = (node: AnyStateNode, length: number) => node.path.slice(-length).join('_');
  const ids = new Map<AnyStateNode, string>();
  for (const node of nodes) {
    for (let length = 1; length <= node.path.length; length++) {
      const id = suffix(node, length);
      if (length === node.path.length || nodes.filter((other) => suffix(other, length) === id).length === 1) {
        ids.set(node, id);
        break;
      }
    }
  }
  const idOf = (node: AnyStateNode): string => (node === machine.root ? '[*]' : ids.get(node) ?? node.path.join('_'));

  const lines = ['stateDiagram-v2'];
  const describe = (node: AnyStateNode, depth: number): void => {
    const pad = '  '.repeat(depth);
    const children = Object.values(node.states);
    if (children.length === 0) return;
    if (node !== machine.root) lines.push(`${pad}state ${idOf(node)} {`);
    const inner = node === machine.root ? pad : `${pad}  `;
    const initial = node.initial?.target[0];
    if (initial !== undefined) lines.push(`${inner}[*] --> ${idOf(initial)}`);
    for (const child of children) {
      // A leaf is declared inside its parent, or Mermaid would place it where an edge first names it.
      if (Object.keys(child.states).length === 0) lines.push(`${inner}${idOf(child)}`);
      else describe(child, node === machine.root ? depth : depth + 1);
    }
    for (const child of children) if (child.type === 'final') lines.push(`${inner}${idOf(child)} --> [*]`);
    if (node !== machine.root) lines.push(`${pad}}`);
  };
  describe(machine.root, 1);

  const inPlace = new Map<AnyStateNode, Set<string>>();
  for (const node of nodes) {
    for (const transition of transitionsOf(node)) {
      const guard = guardLabel(transition.guard as GuardLike);
      const label = guard === '' ? eventLabel(transition) : `${eventLabel(transition)} [${guard}]`;
      const targets = transition.target ?? [];
      if (targets.length === 0) {
        const set = inPlace.get(node) ?? new Set<string>();
        set.add(eventLabel(transition));
        inPlace.set(node, set);
        continue;
      }
      for (const target of targets) lines.push(`  ${idOf(node)} --> ${idOf(target)}: ${label}`);
    }
  }
  for (const [node, events] of inPlace) lines.push(`  note right of ${idOf(node)}: in place: ${[...events].join(', ')}`);
  // The root's transitions apply in every state: one note rather than an edge from each.
  const anywhere = transitionsOf(machine.root).map((t) => {
    const target = t.target?.[0];
    return target === undefined ? `${eventLabel(t)} (in place)` : `${eventLabel(t)} → ${idOf(target)}`;
  });
  if (anywhere.length > 0) lines.push(`  note left of ${idOf(nodes[0] as AnyStateNode)}: from any state: ${[...new Set(anywhere)].join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export const DIAGRAM_BEGIN = '<!-- call-machine-diagram:begin (npm run diagram writes this) -->';
export const DIAGRAM_END = '<!-- call-machine-diagram:end -->';

/** Where the README holds the example flow's diagram (agents/dental-flow.ts, section "Flows"). */
export const FLOW_DIAGRAM_MARKERS = {
  begin: '<!-- flow-diagram:begin (npm run diagram writes this) -->',
  end: '<!-- flow-diagram:end -->',
} as const;

/** The README with the diagram between the markers replaced; throws when the markers are missing. */
export function withDiagram(readme: string, diagram: string, markers: { begin: string; end: string } = { begin: DIAGRAM_BEGIN, end: DIAGRAM_END }): string {
  const begin = readme.indexOf(markers.begin);
  const end = readme.indexOf(markers.end);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the diagram markers ${markers.begin} … ${markers.end}`);
  return `${readme.slice(0, begin + markers.begin.length)}\n\`\`\`mermaid\n${diagram}\`\`\`\n${readme.slice(end)}`;
}

/** docs/call-machine.md: the diagram on its own page. */
export function diagramPage(diagram: string): string {
  return [
    '# The call machine',
    '',
    'Generated from `machines/call.machine.ts` by `npm run diagram`; do not edit by hand. Edges carry the event and,',
    'in brackets, the guard names; events handled without a change of state are listed in a note per state.',
    '',
    '```mermaid',
    diagram.trimEnd(),
    '```',
    '',
  ].join('\n');
}
