/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, that any CI can read, and that cannot say
 * "0 failed" about a run that went wrong anywhere. Besides the tests that failed (a test that timed out is one),
 * each of these counts as failed:
 * - a file that fails to load (syntax error, missing import): one failure, it has no tests to count;
 * - a `beforeAll`/`afterAll` (or a describe body) that throws: every test it kept from running counts as failed,
 *   not skipped; when it kept none from running (an `afterAll` after passing tests), the hook is one failure;
 * - an unhandled error or rejection (vitest reports them apart from any test): one failure each;
 * - a run vitest itself ends as failed or interrupted with no failure counted otherwise (a globalSetup that throws:
 *   no file ran at all): one failure.
 * test/unit/summary-reporter.test.ts runs broken fixture files through this reporter to prove each case.
 */
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';
import type { SerializedError } from 'vitest';

export interface SummaryCounts {
  passed: number;
  failed: number;
  skipped: number;
}

type Container = TestModule | TestSuite;

/** The module or suite (innermost first) holding `test`, up to its module. */
function ancestors(test: TestCase): Container[] {
  const chain: Container[] = [];
  let parent: Container = test.parent;
  for (;;) {
    chain.push(parent);
    if (parent.type === 'module') return chain;
    parent = parent.parent;
  }
}

function containers(mod: TestModule): Container[] {
  return [mod, ...mod.children.allSuites()];
}

export function countRun(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<SerializedError>,
  reason: string,
): SummaryCounts {
  const counts: SummaryCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const mod of testModules) {
    const failedBefore = counts.failed;
    /** Containers whose own error already made at least one of their tests count as failed. */
    const accounted = new Set<Container>();
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed++;
      else if (state === 'failed') counts.failed++;
      else {
        const broken = ancestors(test).find((c) => c.errors().length > 0);
        if (broken === undefined) counts.skipped++;
        else {
          counts.failed++; // it did not run because its set-up threw: that is not a skip someone chose
          accounted.add(broken);
        }
      }
    }
    for (const container of containers(mod)) {
      if (container.errors().length > 0 && !accounted.has(container)) counts.failed++;
    }
    // A module vitest itself calls failed with nothing counted against it yet (belt and braces for new cases).
    if (mod.state() === 'failed' && counts.failed === failedBefore) counts.failed++;
  }
  counts.failed += unhandledErrors.length;
  if (reason !== 'passed' && counts.failed === 0) counts.failed++;
  return counts;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: string): void {
    const counts = countRun(testModules, unhandledErrors, reason);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
