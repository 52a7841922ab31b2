/**
 * What every call store must do (SQLite and PostgreSQL run the same cases): records written in chunks and read back,
 * keyset paging, search, pruning, and the webhook outbox's leased claims.
 */
import { describe, expect, it } from 'vitest';
import type { CallStore } from '../../src/records/store.js';
import type { CallSummary } from '../../src/records/summary-types.js';

export function summary(callSid: string, startedAt: number, status: CallSummary['status'] = 'ended'): CallSummary {
  return {
    version: 1, callSid, streamSid: null, accountSid: null, direction: '', from: '', to: '', customParameters: {}, agent: null, instance: 'test-1',
    status, startedAt: new Date(startedAt).toISOString(), answeredAt: null, endedAt: null, durationMs: null, endReason: null,
    answeredBy: null, conversation: [], turns: [], bargeIns: [], transfers: [], errors: [], eventLog: { entries: 0, truncated: false },
  };
}

/** `open` gives an empty store each time. */
export function storeContract(name: string, open: () => Promise<CallStore>): void {
  describe(`${name} call store (the shared contract)`, () => {
    it('appends event chunks, reads the record and log back, pages with a keyset cursor, prunes', async () => {
      const store = await open();
      const t = 1_800_000_000_000;
      await store.writeCall({ summary: summary('CA1', t, 'in-progress'), eventsJson: '[{"t":0,"state":"connecting"}]', eventCount: 1, input: { options: { x: 1 } } });
      await store.writeCall({ summary: summary('CA1', t), eventsJson: '[{"t":1,"state":"greeting"},{"t":2,"stop":"llm"}]', eventCount: 2 });
      await store.writeCall({ summary: summary('CA1', t), eventsJson: '', eventCount: 0 });
      const log = await store.getEventLog('CA1');
      expect(log).toMatchObject({ callSid: 'CA1', t0: t, input: { options: { x: 1 } }, truncated: false });
      expect(log?.entries).toEqual([{ t: 0, state: 'connecting' }, { t: 1, state: 'greeting' }, { t: 2, stop: 'llm' }]);
      const record = await store.getCall('CA1');
      expect(record?.status).toBe('ended');
      expect(Object.keys(record ?? {})).toEqual(Object.keys(summary('CA1', t))); // the JSON as written, key order kept
      expect(await store.getCall('CA9')).toBeUndefined();
      expect(await store.getEventLog('CA9')).toBeUndefined();

      // Two calls in the same millisecond: the cursor carries the callSid so paging neither skips nor repeats.
      await store.writeCall({ summary: summary('CA2', t + 5), eventsJson: '', eventCount: 0 });
      await store.writeCall({ summary: summary('CA3', t + 5), eventsJson: '', eventCount: 0 });
      await store.writeCall({ summary: summary('CAb', t + 5), eventsJson: '', eventCount: 0 }); // byte order: 'b' > '3'
      const first = await store.listCalls({ limit: 2 });
      expect(first.map((c) => c.callSid)).toEqual(['CAb', 'CA3']);
      const second = await store.listCalls({ limit: 2, before: { ms: t + 5, callSid: 'CA3' } });
      expect(second.map((c) => c.callSid)).toEqual(['CA2', 'CA1']);
      expect((await store.listCalls({ limit: 5, before: { ms: t + 5 } })).map((c) => c.callSid)).toEqual(['CA1']);

      expect(await store.pruneCalls(t + 1)).toBe(1);
      expect(await store.getEventLog('CA1')).toBeUndefined();
      expect(await store.getCall('CA1')).toBeUndefined();
      await store.close();
    });

    it('searches by callSid, number or transcript text (LIKE wildcards taken literally), with the cursor', async () => {
      const store = await open();
      const t = 1_800_000_000_000;
      const withTalk = (sid: string, at: number, from: string, said: string, heard: string): CallSummary => ({
        ...summary(sid, at),
        from,
        to: '+15557654321',
        conversation: [
          { kind: 'caller', turn: 1, text: said, atMs: 10 },
          { kind: 'agent', source: 'reply', turn: 1, heard, generated: heard, interrupted: false, atMs: 20 },
        ],
      });
      await store.writeCall({ summary: withTalk('CAaaa', t, '+15550001111', 'Where is my order 4271?', 'A pasta maker, 100% on time.'), eventsJson: '', eventCount: 0 });
      await store.writeCall({ summary: withTalk('CAbbb', t + 1, '+15550002222', 'What are your hours?', 'Eight to eight.'), eventsJson: '', eventCount: 0 });
      const sids = async (search: string, before?: { ms: number }) =>
        (await store.listCalls({ limit: 10, search, ...(before ? { before } : {}) })).map((c) => c.callSid);
      expect(await sids('')).toEqual(['CAbbb', 'CAaaa']);
      expect(await sids('CAaa')).toEqual(['CAaaa']);
      expect(await sids('0002222')).toEqual(['CAbbb']);
      expect(await sids('7654321')).toEqual(['CAbbb', 'CAaaa']);
      expect(await sids('ORDER 4271')).toEqual(['CAaaa']);
      expect(await sids('pasta')).toEqual(['CAaaa']);
      expect(await sids('100%')).toEqual(['CAaaa']);
      expect(await sids('1%0')).toEqual([]);
      expect(await sids('pasta_maker')).toEqual([]);
      expect(await sids('caller')).toEqual([]); // a JSON key, not something said
      expect(await sids('7654321', { ms: t + 1 })).toEqual(['CAaaa']);
      await store.close();
    });

    it('lists only calls of a status when asked (past calls: ended ones), with search and cursor', async () => {
      const store = await open();
      const t = 1_800_000_000_000;
      await store.writeCall({ summary: summary('CAend1', t), eventsJson: '', eventCount: 0 });
      await store.writeCall({ summary: { ...summary('CAlive', t + 1, 'in-progress'), from: '+15550003333' }, eventsJson: '', eventCount: 0 });
      await store.writeCall({ summary: { ...summary('CAend2', t + 2), from: '+15550003333' }, eventsJson: '', eventCount: 0 });
      const sids = async (query: Partial<Parameters<CallStore['listCalls']>[0]>) => (await store.listCalls({ limit: 10, ...query })).map((c) => c.callSid);
      expect(await sids({})).toEqual(['CAend2', 'CAlive', 'CAend1']);
      expect(await sids({ status: 'ended' })).toEqual(['CAend2', 'CAend1']);
      expect(await sids({ status: 'in-progress' })).toEqual(['CAlive']);
      expect(await sids({ status: 'ended', search: '0003333' })).toEqual(['CAend2']);
      expect(await sids({ status: 'ended', before: { ms: t + 2 } })).toEqual(['CAend1']);
      await store.close();
    });

    it('keeps the webhook outbox: claimed with a lease, invisible while claimed, retried later, delivered once', async () => {
      const store = await open();
      await store.writeCall({ summary: summary('CA1', Date.now()), eventsJson: '', eventCount: 0, webhook: { url: 'http://x/hook', body: '{"a":1}' } });
      expect(await store.pendingDeliveries()).toBe(1);
      const [item] = await store.claimDeliveries(Date.now(), 4, 60_000);
      if (item === undefined) throw new Error('nothing claimed');
      expect(item).toMatchObject({ callSid: 'CA1', url: 'http://x/hook', body: '{"a":1}', attempts: 0 });
      expect(await store.claimDeliveries(Date.now(), 4, 60_000)).toEqual([]); // claimed: invisible to others
      expect(await store.nextDeliveryAt()).toBeGreaterThan(Date.now() + 50_000); // not due again before the lease ends
      expect(await store.markAttemptFailed(item, 'HTTP 503', Date.now() + 60_000)).toBe(true);
      expect(await store.claimDeliveries(Date.now(), 4, 60_000)).toEqual([]);
      const [again] = await store.claimDeliveries(Date.now() + 61_000, 4, 60_000);
      if (again === undefined) throw new Error('not claimed after its retry time');
      expect(again.attempts).toBe(1);
      expect(await store.markDelivered(item, Date.now())).toBe(false); // the old claim is spent
      expect(await store.markDelivered(again, Date.now())).toBe(true);
      expect(await store.pendingDeliveries()).toBe(0);
      expect(await store.nextDeliveryAt()).toBeNull();
      await store.close();
    });

    it('a lease that ends gives the delivery to the next claimer; the first claim can then record nothing', async () => {
      const store = await open();
      await store.writeCall({ summary: summary('CA2', Date.now()), eventsJson: '', eventCount: 0, webhook: { url: 'http://x/hook', body: '{}' } });
      const now = Date.now();
      const [dead] = await store.claimDeliveries(now, 1, 1000); // a claimer that will die
      if (dead === undefined) throw new Error('nothing claimed');
      expect(await store.claimDeliveries(now + 500, 1, 1000)).toEqual([]);
      const [taker] = await store.claimDeliveries(now + 1001, 1, 1000);
      expect(taker?.id).toBe(dead.id);
      expect(await store.markDelivered(dead, now + 1100)).toBe(false);
      expect(await store.markAttemptFailed(dead, 'late', null)).toBe(false);
      if (taker === undefined) throw new Error('unreachable');
      expect(await store.releaseDelivery(taker, now + 1200)).toBe(true); // shutting down: due again at once
      const [third] = await store.claimDeliveries(now + 1200, 1, 1000);
      expect(third).toMatchObject({ id: dead.id, attempts: 0 });
      await store.close();
    });
  });
}
