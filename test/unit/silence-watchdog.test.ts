/** The silent-socket watchdog's timing on fake timers: when an answer is due, what counts as one, one timer at a time. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import { SilenceWatchdog } from '../../actors/silence-watchdog.js';

describe('SilenceWatchdog', () => {
  // setImmediate stays real: the verdict runs in one (after pending I/O); `verdict()` lets it run at the fake time.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());
  const verdict = (): Promise<void> => new Promise((r) => setImmediate(r));

  const make = (timeoutMs = 5000) => {
    const fired: number[] = [];
    const dog = new SilenceWatchdog(timeoutMs, (ms) => fired.push(ms), () => Date.now());
    return { dog, fired };
  };

  it('fires once when an answer has been due for the whole period, counted from the oldest expectation', async () => {
    const { dog, fired } = make();
    dog.expect();
    vi.advanceTimersByTime(3000);
    dog.expect(); // more speech: the wait still counts from the first
    vi.advanceTimersByTime(1999);
    await verdict();
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    await verdict();
    expect(fired).toEqual([5000]);
    expect(dog.waiting).toBe(false);
    vi.advanceTimersByTime(20_000);
    await verdict();
    expect(fired).toHaveLength(1);
  });

  it('an answer resets the wait; with more still due the period restarts from the answer', async () => {
    const { dog, fired } = make();
    dog.expect();
    vi.advanceTimersByTime(4000);
    dog.answered();
    vi.advanceTimersByTime(10_000);
    await verdict();
    expect(fired).toEqual([]);

    dog.expect();
    vi.advanceTimersByTime(4000);
    dog.answered(true); // e.g. one Flushed came, another flush is still pending
    vi.advanceTimersByTime(1000); // the first timer falls due: re-armed for the rest
    await verdict();
    vi.advanceTimersByTime(3999);
    await verdict();
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    await verdict();
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

describe('SilenceWatchdog after an event-loop stall (real timers, a loopback socket)', () => {
  it('an answer already in the socket when the timer falls due counts: no false "silent" verdict', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const provider = await accepted;
    try {
      const fired: number[] = [];
      const dog = new SilenceWatchdog(50, (ms) => fired.push(ms));
      client.on('data', () => dog.answered());
      dog.expect();
      // The provider answers at once; then the process stalls past the timeout before it reads its sockets.
      await new Promise<void>((r) => provider.write('Flushed', () => r()));
      const until = performance.now() + 120;
      while (performance.now() < until) {
        // busy: a starved event loop
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(fired).toEqual([]);
      expect(dog.waiting).toBe(false);
      dog.stop();
    } finally {
      client.destroy();
      provider.destroy();
      server.close();
    }
  });
});
