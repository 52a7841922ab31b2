/**
 * How a feed message changes the live calls: the one fold shared by the console page (its list of calls) and an
 * instance that keeps the other instances' calls (src/console/remote-calls.ts). Pure, no imports but types: the page
 * bundles it.
 */
import type { FeedMessage, LiveCall } from './feed-types.js';

/** A message about one call (not snapshot, call or ended). */
export type CallUpdate = Extract<FeedMessage, { type: 'state' | 'step' | 'lines' | 'tool' | 'latency' }>;

/** One call after `m` (a new object; the call passed in is left as it was). */
export function updateCall(c: LiveCall, m: CallUpdate): LiveCall {
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
}

/** The calls after `m` (a new array when something changed). */
export function applyFeed(calls: readonly LiveCall[], m: FeedMessage): LiveCall[] {
  if (m.type === 'snapshot') return m.calls;
  if (m.type === 'call') return [...calls.filter((c) => c.callSid !== m.call.callSid), m.call];
  if (m.type === 'ended') return calls.filter((c) => c.callSid !== m.callSid);
  return calls.map((c) => (c.callSid === m.callSid ? updateCall(c, m) : c));
}
