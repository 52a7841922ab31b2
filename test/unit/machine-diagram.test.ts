/**
 * The README's "States" diagram and docs/call-machine.md are generated from the machine definition (`npm run diagram`);
 * this fails when either no longer matches the machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { callMachine } from '../../machines/call.machine.js';
import { diagramPage, DIAGRAM_BEGIN, DIAGRAM_END, machineDiagram, withDiagram } from '../../src/cli/machine-diagram.js';

const root = path.resolve(import.meta.dirname, '../..');
const diagram = machineDiagram(callMachine);

describe('the generated call machine diagram', () => {
  it('is current in the README (run `npm run diagram` after changing the machine)', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain(DIAGRAM_BEGIN);
    expect(readme).toContain(DIAGRAM_END);
    expect(withDiagram(readme, diagram) === readme, 'README.md diagram is stale: run npm run diagram').toBe(true);
  });

  it('is current in docs/call-machine.md', () => {
    const page = fs.readFileSync(path.join(root, 'docs', 'call-machine.md'), 'utf8');
    expect(page === diagramPage(diagram), 'docs/call-machine.md is stale: run npm run diagram').toBe(true);
  });

  it('shows a barge-in, a tool round and a speculative reply with their events and guards', () => {
    expect(diagram).toContain('round_speaking --> interrupted: STT.INTERIM [isInterruption');
    expect(diagram).toContain('interrupted --> listening: TTS.CLEARED');
    expect(diagram).toContain('round_thinking --> tooling: LLM.DONE [needsToolRound]');
    expect(diagram).toContain('tooling --> round: always [toolResultsIn]');
    expect(diagram).toContain('listening --> speculating: STT.EAGER_END [hasEagerText]');
    expect(diagram).toContain('speculating_speaking --> round_speaking: STT.FINAL [confirmsEager]');
    expect(diagram).toContain('speculating --> listening: STT.TURN_RESUMED');
    expect(diagram).toContain('round_speaking --> replied: SPEECH.PLAYED_OUT');
  });
});
