/** The drain's decisions with fake calls and fake timers: whom it waits for, when it says goodbye, what it reports. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import winston from 'winston';
import { drainCalls, type DrainableCall, type DrainSources } from '../../src/server/drain.js';

class FakeCall implements DrainableCall {
  readonly hangups: { reason: string; polite?: boolean }[] = [];
  private resolve: () => void = () => {};
  readonly done = new Promise<void>((r) => (this.resolve = r));
  constructor(private readonly world: World, readonly endsOnHangupAfterMs: number | null = null) {}
  hangup(reason: string, opts: { polite?: boolean } = {}): void {
    this.hangups.push({ reason, polite: opts.polite });
    if (this.endsOnHangupAfterMs !== null) setTimeout(() => this.end(), this.endsOnHangupAfterMs);
  }
  end(): void {
    this.world.calls.delete(this);
    this.resolve();
  }
}

class World {
  readonly calls = new Set<FakeCall>();
  /** Expiry of tokens issued and not redeemed. */
  pendingExpiries: number[] = [];
  stopped = false;
  private notify: () => void = () => {};
  readonly lines: Record<string, unknown>[] = [];

  sources(): DrainSources<FakeCall> {
    const stream = new Writable({
      objectMode: true,
      write: (info: Record<string, unknown>, _e, done) => {
        this.lines.push(info);
        done();
      },
    });
    return {
      calls: () => this.calls,
      pending: () => {
        this.pendingExpiries = this.pendingExpiries.filter((e) => e > Date.now());
        return { count: this.pendingExpiries.length, nextExpiry: this.pendingExpiries[0] ?? null };
      },
      changed: () => new Promise((r) => (this.notify = r)),
      stopAccepting: () => (this.stopped = true),
      log: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }),
    };
  }

  connect(call: FakeCall): FakeCall {
    this.pendingExpiries.shift();
    this.calls.add(call);
    this.notify();
    return call;
  }

  messages(): string[] {
    return this.lines.map((l) => String(l.message));
  }
}

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

describe('drainCalls', () => {
  it('waits for a call whose TwiML was issued before the drain, then for its end; no timeout is reported', async () => {
    const world = new World();
    const up = new FakeCall(world);
    world.calls.add(up);
    world.pendingExpiries = [Date.now() + 30_000]; // TwiML issued, stream not connected yet
    const drained = drainCalls(world.sources(), 60_000, 10_000);
    await vi.advanceTimersByTimeAsync(2000);
    up.end(); // the call that was up finishes first…
    await vi.advanceTimersByTimeAsync(1000);
    const late = world.connect(new FakeCall(world)); // …then the call on its way connects
    await vi.advanceTimersByTimeAsync(20_000);
    expect(world.stopped).toBe(false);
    late.end();
    const result = await drained;
    expect(result).toEqual({ finished: 2, saidGoodbye: 0, cut: 0, neverConnected: 0, timedOut: false });
    expect(late.hangups).toEqual([]);
    expect(world.messages()).toEqual(['draining', 'drain complete']);
    expect(world.lines[1]).toMatchObject({ tookMs: 23_000 });
  });

  it('stops waiting for a stream that never comes when its token expires', async () => {
    const world = new World();
    world.pendingExpiries = [Date.now() + 15_000];
    const drained = drainCalls(world.sources(), 60_000, 10_000);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await drained).toEqual({ finished: 0, saidGoodbye: 0, cut: 0, neverConnected: 0, timedOut: false });
  });

  it('at the timeout, hangs up the calls still up politely and gives them the grace period; cuts only the rest', async () => {
    const world = new World();
    const polite = new FakeCall(world, 3000); // says goodbye in 3 s
    const stuck = new FakeCall(world, null); // never ends by itself
    const finishes = new FakeCall(world);
    for (const c of [polite, stuck, finishes]) world.calls.add(c);
    const drained = drainCalls(world.sources(), 30_000, 10_000);
    await vi.advanceTimersByTimeAsync(5000);
    finishes.end();
    await vi.advanceTimersByTimeAsync(24_999);
    expect(polite.hangups).toEqual([]); // not before the timeout
    await vi.advanceTimersByTimeAsync(1);
    expect(polite.hangups).toEqual([{ reason: 'drain timeout', polite: true }]);
    expect(stuck.hangups).toEqual([{ reason: 'drain timeout', polite: true }]);
    expect(world.stopped).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await drained).toEqual({ finished: 1, saidGoodbye: 1, cut: 1, neverConnected: 0, timedOut: true });
    expect(world.messages()).toEqual(['draining', 'drain timeout: saying goodbye to calls still up', 'drain complete']);
  });

  it('with nothing up and nothing on its way, returns at once', async () => {
    const world = new World();
    expect(await drainCalls(world.sources(), 30_000, 10_000)).toEqual({ finished: 0, saidGoodbye: 0, cut: 0, neverConnected: 0, timedOut: false });
  });
});
