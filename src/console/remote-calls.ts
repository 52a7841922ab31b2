/**
 * The live calls of the other instances, as this instance's consoles see them: built from the feed messages those
 * instances publish (the same diffs a console gets), so a console connecting here gets them in its snapshot. A call
 * whose owner stopped heartbeating (the instance died) is dropped by `sweep`.
 */
import type { FeedMessage, LiveCall } from './feed-types.js';

interface RemoteCall {
  instance: string;
  call: LiveCall;
}

export class RemoteCalls {
  private readonly calls = new Map<string, RemoteCall>();

  get size(): number {
    return this.calls.size;
  }

  list(): LiveCall[] {
    return [...this.calls.values()].map((c) => c.call);
  }

  entries(): Array<{ callSid: string; instance: string }> {
    return [...this.calls].map(([callSid, c]) => ({ callSid, instance: c.instance }));
  }

  /** Folds a message from `instance` in (what the page does with the same message). */
  apply(instance: string, m: FeedMessage): void {
    if (m.type === 'snapshot') return;
    if (m.type === 'call') {
      this.calls.set(m.call.callSid, { instance, call: m.call });
      return;
    }
    if (m.type === 'ended') {
      this.calls.delete(m.callSid);
      return;
    }
    const c = this.calls.get(m.callSid)?.call;
    if (c === undefined) return;
    if (m.type === 'state') c.state = m.state;
    else if (m.type === 'step') c.step = m.step;
    else if (m.type === 'lines') c.lines = [...c.lines.slice(0, m.from), ...m.lines];
    else if (m.type === 'latency') c.latency = m.latency;
    else if (m.type === 'tool') {
      const at = c.tools.findIndex((t) => t.id === m.tool.id);
      if (at < 0) c.tools.push(m.tool);
      else c.tools[at] = m.tool;
    }
  }

  /** Forgets the calls of `instance` (it said it is gone). */
  dropInstance(instance: string): string[] {
    const gone = [...this.calls].filter(([, c]) => c.instance === instance).map(([sid]) => sid);
    gone.forEach((sid) => this.calls.delete(sid));
    return gone;
  }

  delete(callSid: string): void {
    this.calls.delete(callSid);
  }
}
