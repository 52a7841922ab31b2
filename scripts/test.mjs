/**
 * `npm test`: the type-checks (the project, and the console page's own config) and the whole vitest run, at the same
 * time. The tests mostly wait on loopback sockets and child processes (the run used well under 2 cores on average),
 * so the ~30 s of CPU the compilers need fits beside them instead of before them. The compilers' output is held and
 * printed after the tests; the exit code fails when either failed, and the last line says which.
 * Arguments go to vitest (`npm test -- test/unit/`). Plain JavaScript: it runs before anything is compiled.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');

function run(args, { quiet }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', (err) => resolve({ code: 1, output: String(err) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

async function typecheck() {
  for (const [label, args] of [
    ['tsc --noEmit', [tsc, '--noEmit']],
    ['tsc --noEmit -p console', [tsc, '--noEmit', '-p', 'console']],
  ]) {
    const result = await run(args, { quiet: true });
    if (result.code !== 0) return { label, ...result };
  }
  return { code: 0, output: '' };
}

const [checked, tested] = await Promise.all([typecheck(), run([vitest, 'run', ...process.argv.slice(2)], { quiet: false })]);
if (checked.code !== 0) {
  process.stdout.write(`\n${checked.output.trimEnd()}\n`);
  const errors = (checked.output.match(/error TS\d+/g) ?? []).length;
  process.stdout.write(`typecheck failed: ${checked.label} reported ${errors || 'an'} error${errors === 1 ? '' : 's'} (above)\n`);
}
process.exitCode = checked.code !== 0 || tested.code !== 0 ? 1 : 0;
