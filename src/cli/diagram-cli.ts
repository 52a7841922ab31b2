/**
 * `npm run diagram`: writes the call machine's generated Mermaid diagram into README.md (between the markers of the
 * "States" section) and docs/call-machine.md, and the example flow's (agents/dental-flow.ts) into the "Flows"
 * section. `test/unit/machine-diagram.test.ts` and `test/unit/flow-diagram.test.ts` fail when one is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { callMachine } from '../../machines/call.machine.js';
import { loadAgent } from '../agent/agent-loader.js';
import { compileFlow } from '../agent/flow.js';
import { diagramPage, FLOW_DIAGRAM_MARKERS, machineDiagram, withDiagram } from './machine-diagram.js';

const root = path.resolve(import.meta.dirname, '../..');
const diagram = machineDiagram(callMachine);
const readmePath = path.join(root, 'README.md');
// The example agent is loaded as AGENT= would load it (src does not import agents/).
const example = await loadAgent(path.join(root, 'agents', 'dental-flow.ts'));
if (example.flow === undefined) throw new Error('agents/dental-flow.ts has no flow');
const flowDiagram = machineDiagram(compileFlow(example.flow, Object.keys(example.tools ?? {})) as unknown as AnyStateMachine);
const readme = withDiagram(fs.readFileSync(readmePath, 'utf8'), diagram);
fs.writeFileSync(readmePath, withDiagram(readme, flowDiagram, FLOW_DIAGRAM_MARKERS));
fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
fs.writeFileSync(path.join(root, 'docs', 'call-machine.md'), diagramPage(diagram));
process.stdout.write('wrote the call machine diagram to README.md and docs/call-machine.md, and the example flow\'s to README.md\n');
