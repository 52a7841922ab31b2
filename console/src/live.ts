/** The live feed in the page: an EventSource on /console/api/live folded into the list of live calls. */
import { useEffect, useState } from 'preact/hooks';
import type { FeedMessage, LiveCall } from '../../src/console/feed-types.ts';
import { applyFeed } from '../../src/console/feed-fold.ts';

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
