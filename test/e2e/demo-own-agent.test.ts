/**
 * The demo with a developer's own agent: with a scenario file it plays *their* script (their tool runs), without one
 * a plain caller meets the generic offline model — never the example shop's orders — and "as scripted" is claimed
 * only for the example's own call. Lines are printed as they happen, before the call ends.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function runDemo(args: string[]): Promise<{ code: number | null; out: string; firstLineBeforeEnd: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--agent', 'test/e2e/agents/dentist-agent.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', CALL_RECORDS: 'off' },
  });
  let out = '';
  let firstLineBeforeEnd = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    // The greeting is printed while the call is still going: the closing line has not come yet.
    if (out.includes('agent   Bright Smile Dental') && !out.includes('Call completed') && !out.includes('went wrong')) firstLineBeforeEnd = true;
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, firstLineBeforeEnd })));
}

describe('npm run demo -- --agent <yours>', () => {
  it('with --script: their caller, their model, their tool; the closing line tells what happened', { timeout: 60_000 }, async () => {
    const { code, out, firstLineBeforeEnd } = await runDemo(['--script', 'test/e2e/agents/dentist-scenario.json']);
    expect(out).toContain('caller  I would like an appointment on Monday');
    expect(out).toContain('agent   Let me book that. You are booked for Monday.');
    expect(out).toMatch(/tool book_appointment\(\{"day":"Monday"\}\) → ok/);
    expect(out).toContain('Call completed: ');
    expect(out).not.toContain('as scripted');
    expect(firstLineBeforeEnd).toBe(true);
    expect(code).toBe(0);
  });

  // Two spoken turns and a goodbye at real-time pace on a busy 2-core machine.
  it("without a script: the generic model names the agent's tools and never speaks of orders", { timeout: 60_000 }, async () => {
    const { code, out } = await runDemo([]);
    expect(out).toContain('no script given');
    expect(out).toContain('Not scripted; your tools: book_appointment.');
    expect(out).not.toMatch(/order|pasta/i);
    expect(out).not.toContain('as scripted');
    expect(code).toBe(0);
  });
});
