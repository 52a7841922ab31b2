/**
 * The shared-state contract: every store behaves the same in memory and in Redis (the machine's Redis, a random
 * key prefix per test so runs never meet). "Two instances" are two sets of stores on the same backend.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logger.js';
import { has, REDIS_URL } from '../support/externals.js';
import { MemoryCallDirectory, MemoryDirectoryHub, type CallDirectory } from '../../src/shared/call-directory.js';
import { MemoryConsoleSessionState } from '../../src/shared/console-state.js';
import { MemoryMessageBus } from '../../src/shared/message-bus.js';
import { createSharedState, type SharedState } from '../../src/shared/shared-state.js';
import { MemorySlidingWindow, type SlidingWindow } from '../../src/shared/sliding-window.js';
import { MemoryTicketStore } from '../../src/shared/ticket-store.js';
import { MemoryTokenLedger } from '../../src/shared/token-ledger.js';

type Instance = Pick<SharedState, 'tokens' | 'tickets' | 'consoleSessions' | 'calls' | 'bus' | 'window'>;

interface Backend {
  instance(id: string): Promise<Instance>;
  close(): Promise<void>;
}

const clock = { now: 1_000_000_000_000 };
const now = () => clock.now;
const OWNER_TTL_MS = 400;

function memoryBackend(): Backend {
  const bus = new MemoryMessageBus();
  const hub = new MemoryDirectoryHub();
  const tokens = new MemoryTokenLedger(now);
  const tickets = new MemoryTicketStore(now);
  const consoleSessions = new MemoryConsoleSessionState();
  const windows = new Map<string, SlidingWindow>();
  const directories: CallDirectory[] = [];
  return {
    async instance(id) {
      const calls = new MemoryCallDirectory(hub, bus, { instanceId: id, ttlMs: OWNER_TTL_MS, holdMs: 60_000, log: silentLogger });
      directories.push(calls);
      const window = (name: string, limit: number, ms: number): SlidingWindow => {
        const w = windows.get(name) ?? new MemorySlidingWindow(limit, ms);
        windows.set(name, w);
        return w;
      };
      return { tokens, tickets, consoleSessions, calls, bus, window };
    },
    async close() {},
  };
}

function redisBackend(): Backend {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const states: SharedState[] = [];
  return {
    async instance(id) {
      const state = await createSharedState({ redisUrl: REDIS_URL, prefix, instanceId: id, log: silentLogger, ownerTtlMs: OWNER_TTL_MS, now });
      states.push(state);
      return state;
    },
    async close() {
      await Promise.all(states.map((s) => s.close()));
    },
  };
}

const received = (bus: Instance['bus'], channel: string) => {
  const got: unknown[] = [];
  return { got, ready: bus.subscribe(channel, (m) => got.push(m)) };
};

async function until(check: () => boolean, what: string): Promise<void> {
  const limit = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > limit) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const [kind, make] of [
  ['memory', memoryBackend],
  ['redis', redisBackend],
] as const) {
  describe.skipIf(kind === 'redis' && !has('redis'))(`shared stores (${kind})`, () => {
    let backend: Backend;
    afterEach(async () => backend?.close());

    it('stream tokens: single use across instances; the issuer sees its token leave "on their way" wherever it was used', async () => {
      backend = make();
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      const expiresAt = clock.now + 30_000;
      await a.tokens.issue('tok1', expiresAt);
      await a.tokens.issue('tok2', expiresAt + 1000);
      expect(await a.tokens.pending()).toEqual({ count: 2, nextExpiry: expiresAt });
      expect(await b.tokens.redeem('tok1', expiresAt)).toBe('first');
      expect(await a.tokens.redeem('tok1', expiresAt)).toBe('reused');
      expect(await b.tokens.redeem('tok1', expiresAt)).toBe('reused');
      expect(await a.tokens.pending()).toEqual({ count: 1, nextExpiry: expiresAt + 1000 });
      clock.now += 31_000;
      expect(await a.tokens.pending()).toEqual({ count: 0, nextExpiry: null });
      clock.now -= 31_000;
    });

    it('softphone tickets: minted on one instance, taken once on another; expired and unknown said so', async () => {
      backend = make();
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      await a.tickets.put('t1', 'CA1', clock.now + 30_000);
      await a.tickets.put('t2', 'CA2', clock.now - 1);
      expect(await b.tickets.take('t1')).toEqual({ ok: true, callSid: 'CA1' });
      expect(await a.tickets.take('t1')).toEqual({ ok: false, reason: 'ticket-reused' });
      expect(await b.tickets.take('t2')).toEqual({ ok: false, reason: 'ticket-expired' });
      expect(await b.tickets.take('nope')).toEqual({ ok: false, reason: 'ticket-unknown' });
    });

    it('sliding windows: the limit holds across instances, slides, and is forgotten on success', async () => {
      backend = make();
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      const wa = a.window('login', 3, 60_000);
      const wb = b.window('login', 3, 60_000);
      const t = clock.now;
      expect(await wa.take('1.2.3.4', t)).toBe(true);
      expect(await wb.take('1.2.3.4', t + 1)).toBe(true);
      await wa.record('1.2.3.4', t + 2);
      expect(await wb.take('1.2.3.4', t + 3)).toBe(false);
      expect(await wa.retryAfterMs('1.2.3.4', t + 10)).toBe(60_000 - 10);
      expect(await wb.count('1.2.3.4', t + 10)).toBe(3); // what both instances counted
      expect(await wb.count('5.6.7.8', t + 10)).toBe(0);
      expect(await wb.retryAfterMs('5.6.7.8', t + 10)).toBe(0);
      expect(await wb.take('1.2.3.4', t + 60_000)).toBe(true); // the first left the window
      await wa.forget('1.2.3.4');
      expect(await wb.retryAfterMs('1.2.3.4', t + 60_001)).toBe(0);
    });

    it('console sessions: one secret for all instances; a revocation seen by all', async () => {
      backend = make();
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      const secret = await a.consoleSessions.sessionSecret();
      expect(secret.length).toBe(32);
      expect((await b.consoleSessions.sessionSecret()).equals(secret)).toBe(true);
      const before = await b.consoleSessions.revocation();
      expect(await a.consoleSessions.revokeAll()).toBe(before + 1);
      expect(await b.consoleSessions.revocation()).toBe(before + 1);
    });

    it('call directory: a command for a call not started is held and handed to whoever claims it; then sent to the owner; ended after release', async () => {
      backend = make();
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      const atA: Array<[string, unknown]> = [];
      await a.calls.onCommand((sid, cmd) => atA.push([sid, cmd]));
      expect(await b.calls.route('CA1', { type: 'early' })).toBe('held');
      expect(await a.calls.claim('CA1')).toEqual([{ type: 'early' }]);
      expect(await b.calls.owners(['CA1', 'CA2'])).toEqual(['A', null]);
      expect(await b.calls.route('CA1', { type: 'late' })).toBe('sent');
      await until(() => atA.length === 1, 'the owner got the command');
      expect(atA).toEqual([['CA1', { type: 'late' }]]);
      await a.calls.release('CA1');
      expect(await b.calls.route('CA1', { type: 'after' })).toBe('ended');
      expect(await b.calls.owners(['CA1'])).toEqual([null]);
    });

    it('message bus: every subscriber gets a copy; none after unsubscribing', async () => {
      backend = make();
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      const one = received(a.bus, 'feed');
      const two = received(b.bus, 'feed');
      await Promise.all([one.ready, two.ready]);
      expect(await b.bus.publish('feed', { n: 1 })).toBe(2);
      await until(() => one.got.length === 1 && two.got.length === 1, 'both got it');
      expect(one.got).toEqual([{ n: 1 }]);
    });
  });
}

describe.skipIf(!has('redis'))('call ownership in Redis', () => {
  it("lasts while its instance heartbeats and expires within the TTL once it stops (a dead instance's calls are nobody's)", async () => {
    const backend = redisBackend();
    try {
      const [a, b] = [await backend.instance('A'), await backend.instance('B')];
      await a.calls.claim('CA9');
      await new Promise((r) => setTimeout(r, OWNER_TTL_MS * 2.5));
      expect(await b.calls.owners(['CA9'])).toEqual(['A']); // the heartbeat kept it
      a.calls.close(); // the heartbeat stops, as when the process dies
      await new Promise((r) => setTimeout(r, OWNER_TTL_MS + 100));
      expect(await b.calls.owners(['CA9'])).toEqual([null]);
      expect(await b.calls.route('CA9', { type: 'x' })).toBe('held');
    } finally {
      await backend.close();
    }
  });
});
