/** The live feed in the page: an EventSource on /console/api/live folded into the list of live calls. */
import { useEffect, useState } from 'preact/hooks';
import type { FeedMessage, LiveCall } from '../../src/console/feed-types.ts';

/** Applies one feed message to the calls (pure: returns a new array when something changed). */
export function applyFeed(calls: readonly LiveCall[], m: FeedMessage): LiveCall[] {
  if (m.type === 'snapshot') return m.calls;
  if (m.type === 'call') return [...calls.filter((c) => c.callSid !== m.call.callSid), m.call];
  if (m.type === 'ended') return calls.filter((c) => c.callSid !== m.callSid);
  return calls.map((c) => {
    if (c.callSid !== m.callSid) return c;
    switch (m.type) {
      case 'state':
        return { ...c, state: m.state };
      case 'step':
        return { ...c, step: m.step };
      case 'lines':
        return { ...c, lines: [...c.lines.slice(0, m.from), ...m.lines] };
      case 'tool': {
        const at = c.tools.findIndex((t) => t.id === m.tool.id);
        return { ...c, tools: at < 0 ? [...c.tools, m.tool] : c.tools.map((t, i) => (i === at ? m.tool : t)) };
      }
      case 'latency':
        return { ...c, latency: m.latency };
    }
  });
}

export type FeedStatus = 'connecting' | 'live' | 'lost';

export function useLiveCalls(onLoggedOut: () => void): { calls: LiveCall[]; status: FeedStatus } {
  const [calls, setCalls] = useState<LiveCall[]>([]);
  const [status, setStatus] = useState<FeedStatus>('connecting');
  useEffect(() => {
    const source = new EventSource('/console/api/live');
    source.onopen = () => setStatus('live');
    source.onmessage = (e: MessageEvent<string>) => {
      const message = JSON.parse(e.data) as FeedMessage;
      setCalls((current) => applyFeed(current, message));
    };
    source.onerror = () => {
      setStatus('lost');
      // A 401 (session expired) closes the source for good: ask whether we are still logged in.
      if (source.readyState === EventSource.CLOSED) {
        void fetch('/console/api/session').then((res) => {
          if (res.status === 401) onLoggedOut();
        });
      }
    };
    return () => source.close();
  }, [onLoggedOut]);
  return { calls, status };
}
