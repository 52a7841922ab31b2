/**
 * The closing `N passed, N failed, N skipped` line cannot lie: each deliberately broken fixture file
 * (test/fixtures/summary/*.fixture.ts, outside the project's `include`) is run through vitest with the project's
 * reporter, and each kind of breakage shows up as failed — and vitest itself exits non-zero for it.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

function runFixture(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ line: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/summary/vitest.fixture.config.ts'],
      { cwd: root, env: { ...process.env, SUMMARY_FIXTURE: file, CI: '', ...env } },
      (err, stdout) => {
        const lines = stdout.trim().split('\n');
        resolve({ line: lines[lines.length - 1] ?? '', code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 });
      },
    );
  });
}

describe('summary reporter', () => {
  it.each([
    ['passing.fixture.ts', 'a passing and a skipped test', '1 passed, 0 failed, 1 skipped', 0],
    ['load-error.fixture.ts', 'a file that fails to load', '0 passed, 1 failed, 0 skipped', 1],
    ['before-all.fixture.ts', 'a beforeAll that throws (its two tests never ran)', '0 passed, 2 failed, 0 skipped', 1],
    ['after-all.fixture.ts', 'an afterAll that throws after a passing test', '1 passed, 1 failed, 0 skipped', 1],
    ['unhandled.fixture.ts', 'an unhandled error thrown while the tests pass', '2 passed, 1 failed, 0 skipped', 1],
    ['timeout.fixture.ts', 'a test that times out', '0 passed, 1 failed, 0 skipped', 1],
  ] as const)('%s — %s: %s', async (file, _what, line, code) => {
    const run = await runFixture(file);
    expect(run.line).toBe(line);
    expect(run.code === 0 ? 0 : 1).toBe(code);
  }, 30000);

  it('a globalSetup that throws (no file runs at all) is a failure, not an empty success', async () => {
    const run = await runFixture('passing.fixture.ts', { SUMMARY_GLOBAL_SETUP_THROWS: '1' });
    expect(run.line).toBe('0 passed, 1 failed, 0 skipped');
    expect(run.code).not.toBe(0);
  }, 30000);

  it('all of them in one run add up', async () => {
    const run = await runFixture('*.fixture.ts');
    expect(run.line).toBe('4 passed, 6 failed, 1 skipped');
  }, 30000);
});
