/** The README's "Flows" diagram is generated from the example flow (`npm run diagram`); this fails when it is stale. */
import fs from 'node:fs';
import path from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import agent from '../../agents/dental-flow.js';
import { compileFlow } from '../../src/agent/flow.js';
import { FLOW_DIAGRAM_MARKERS, machineDiagram, withDiagram } from '../../src/cli/machine-diagram.js';

describe('the example flow diagram', () => {
  it('is current in the README (run `npm run diagram` after changing agents/dental-flow.ts)', () => {
    if (agent.flow === undefined) throw new Error('agents/dental-flow.ts has no flow');
    const diagram = machineDiagram(compileFlow(agent.flow, Object.keys(agent.tools ?? {})) as unknown as AnyStateMachine);
    expect(diagram).toContain('identify --> booking: VERIFIED');
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../..', 'README.md'), 'utf8');
    expect(withDiagram(readme, diagram, FLOW_DIAGRAM_MARKERS) === readme, 'README.md flow diagram is stale: run npm run diagram').toBe(true);
  });
});
