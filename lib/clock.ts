/** Epoch milliseconds with sub-millisecond precision: the `at` of every call event. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
