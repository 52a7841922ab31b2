/**
 * `npm run diagram`: writes the call machine's generated Mermaid diagram into README.md (between the markers of the
 * "States" section) and docs/call-machine.md. `test/unit/machine-diagram.test.ts` fails when either is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { callMachine } from '../../machines/call.machine.js';
import { diagramPage, machineDiagram, withDiagram } from './machine-diagram.js';

const root = path.resolve(import.meta.dirname, '../..');
const diagram = machineDiagram(callMachine);
const readmePath = path.join(root, 'README.md');
fs.writeFileSync(readmePath, withDiagram(fs.readFileSync(readmePath, 'utf8'), diagram));
fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
fs.writeFileSync(path.join(root, 'docs', 'call-machine.md'), diagramPage(diagram));
process.stdout.write('wrote the call machine diagram to README.md and docs/call-machine.md\n');
