/**
 * The one private XState field the model test relies on: the transitions taken in each `@xstate.microstep`
 * inspection event (`_transitions`), which live transition coverage needs and no public API gives. If an XState
 * upgrade renames or reshapes it, this fails with a message saying what to fix, instead of coverage silently
 * dropping to zero.
 */
import { describe, expect, it } from 'vitest';
import { createActor, setup, type InspectionEvent } from 'xstate';

describe('XState internals the model test depends on', () => {
  it('microstep inspection events carry the transitions taken (_transitions), with their source and event type', () => {
    const machine = setup({}).createMachine({ id: 'm', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { always: 'c' }, c: {} } });
    const seen: Array<{ source: string; eventType: string }> = [];
    const actor = createActor(machine, {
      inspect: (event: InspectionEvent) => {
        if (event.type !== '@xstate.microstep') return;
        const transitions = (event as { _transitions?: unknown })._transitions;
        expect(Array.isArray(transitions), 'XState changed @xstate.microstep._transitions: update test/machine/harness.ts').toBe(true);
        for (const t of transitions as Array<{ source: { id: string }; eventType: string }>) seen.push({ source: t.source.id, eventType: t.eventType });
      },
    });
    actor.start();
    actor.send({ type: 'GO' });
    expect(seen).toEqual([
      { source: 'm.a', eventType: 'GO' },
      { source: 'm.b', eventType: '' },
    ]);
    actor.stop();
  });
});
