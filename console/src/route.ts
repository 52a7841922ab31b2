/** Hash routes (`#/live`, `#/calls`, `#/calls/<sid>`): the server only has to serve one page. */
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'live' } | { page: 'calls' } | { page: 'call'; callSid: string };

export function parseRoute(hash: string): Route {
  const call = /^#\/calls\/([\w-]+)$/.exec(hash);
  if (call?.[1] !== undefined) return { page: 'call', callSid: call[1] };
  if (hash.startsWith('#/calls')) return { page: 'calls' };
  return { page: 'live' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
