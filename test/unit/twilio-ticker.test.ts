import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameTicker } from '../../offline/twilio-ticker.js';

describe('FrameTicker (one shared drift-corrected 20 ms clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ticks 50 times a second for every subscriber with a single timer', () => {
    const ticker = new FrameTicker();
    const counts = Array.from({ length: 200 }, () => 0);
    const unsubscribe = counts.map((_, i) => ticker.subscribe(() => counts[i]!++));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(new Set(counts)).toEqual(new Set([50]));
    expect(vi.getTimerCount()).toBe(1);
    unsubscribe.forEach((u) => u());
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not drift when timers fire late, and catches up missed ticks after a stall', () => {
    let stalled = 0;
    const ticker = new FrameTicker(20, 10, () => performance.now() + stalled);
    const ticks: number[] = [];
    ticker.subscribe((at) => ticks.push(at));
    vi.advanceTimersByTime(100);
    expect(ticks).toHaveLength(5);
    // Stall the "event loop" for 90 ms: the clock moves but no timer runs; the next wake-up owes 5 ticks.
    stalled = 90;
    vi.advanceTimersByTime(20);
    expect(ticks).toHaveLength(10); // 100 + 90 + 20 = 210 ms elapsed → 10 ticks, not 6
    vi.advanceTimersByTime(790); // 1000 ms of monotonic time in all
    expect(ticks).toHaveLength(50);
  });

  it('skips beyond maxCatchUp after a long stall, and keeps other subscribers going when one throws', () => {
    let stalled = 0;
    const ticker = new FrameTicker(20, 3, () => performance.now() + stalled);
    let good = 0;
    ticker.subscribe(() => {
      throw new Error('buggy call');
    });
    ticker.subscribe(() => good++);
    vi.advanceTimersByTime(20);
    expect(good).toBe(1);
    stalled = 1000;
    vi.advanceTimersByTime(20);
    expect(good).toBe(4); // 1 + at most 3 caught up
    expect(ticker.skippedTicks).toBeGreaterThan(40);
  });
});
