/**
 * vitest's own order (files that failed last time first, then the longest by the timings it cached), except that
 * the demo starts first: it plays a whole call at the README demo's real pace (~40 s, on purpose) and, started last,
 * it would be the run's tail. On a fresh clone there is no cache yet, so this is what keeps the first run short.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const START_FIRST = ['/test/e2e/demo.test.ts'];

export class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (spec: TestSpecification): boolean => START_FIRST.some((suffix) => spec.moduleId.endsWith(suffix));
    return [...sorted.filter(first), ...sorted.filter((spec) => !first(spec))];
  }
}
