/**
 * The live calls of the other instances, as this instance's consoles see them: built from the feed messages those
 * instances publish (the same diffs a console gets), so a console connecting here gets them in its snapshot. A call
 * whose owner stopped heartbeating (the instance died) is dropped by `sweep`.
 */
import type { FeedMessage, LiveCall } from './feed-types.js';
import { updateCall } from './feed-fold.js';

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
    const remote = this.calls.get(m.callSid);
    if (remote !== undefined) remote.call = updateCall(remote.call, m);
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
