/** The silent-socket watchdog's timing on fake timers: when an answer is due, what counts as one, one timer at a time. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SilenceWatchdog } from '../../actors/silence-watchdog.js';

describe('SilenceWatchdog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const make = (timeoutMs = 5000) => {
    const fired: number[] = [];
    const dog = new SilenceWatchdog(timeoutMs, (ms) => fired.push(ms), () => Date.now());
    return { dog, fired };
  };

  it('fires once when an answer has been due for the whole period, counted from the oldest expectation', () => {
    const { dog, fired } = make();
    dog.expect();
    vi.advanceTimersByTime(3000);
    dog.expect(); // more speech: the wait still counts from the first
    vi.advanceTimersByTime(1999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([5000]);
    expect(dog.waiting).toBe(false);
    vi.advanceTimersByTime(20_000);
    expect(fired).toHaveLength(1);
  });

  it('an answer resets the wait; with more still due the period restarts from the answer', () => {
    const { dog, fired } = make();
    dog.expect();
    vi.advanceTimersByTime(4000);
    dog.answered();
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([]);

    dog.expect();
    vi.advanceTimersByTime(4000);
    dog.answered(true); // e.g. one Flushed came, another flush is still pending
    vi.advanceTimersByTime(4999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([5000]);
  });

  it('keeps a single timer however often it is fed, and does nothing when off, cancelled or stopped', () => {
    const { dog, fired } = make();
    for (let i = 0; i < 1000; i++) {
      dog.expect();
      dog.answered();
      vi.advanceTimersByTime(20);
    }
    expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    expect(fired).toEqual([]);
    dog.expect();
    dog.cancel();
    vi.advanceTimersByTime(10_000);
    dog.expect();
    dog.stop();
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);

    const off = make(0);
    off.dog.expect();
    expect(off.dog.waiting).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(off.fired).toEqual([]);
  });
});
