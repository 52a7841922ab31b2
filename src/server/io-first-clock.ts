/**
 * The clock of every call's actor system (XState's `clock` option): a delayed event (the machine's `after`
 * timeouts: idle re-prompt, LLM timeout, the clear's safety timeout…) is delivered only once the I/O that was
 * already waiting when it fell due has been handled.
 *
 * Why: Node runs due timers before it reads sockets. When the event loop was busy (CPU starvation under load, a long
 * GC), a timeout and the answer that should have cancelled it become ready together, and the timeout wins although
 * the answer came first: the caller's words are in the socket but the idle timer re-prompts, the Cleared is in the
 * socket but the safety timeout moves on. Firing through `setImmediate` puts the timeout after the poll phase, so the
 * events that arrived in time are handled first and cancel it as they would have without the stall. Costs one
 * immediate per fired timeout (a few per turn), nothing per frame.
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

interface Pending {
  timer: NodeJS.Timeout;
  immediate: NodeJS.Immediate | undefined;
}

export const ioFirstClock: Clock = {
  setTimeout(fn: () => void, ms: number): Pending {
    const pending: Pending = {
      timer: setTimeout(() => {
        pending.immediate = setImmediate(fn);
      }, ms),
      immediate: undefined,
    };
    return pending;
  },
  clearTimeout(pending: Pending): void {
    clearTimeout(pending.timer);
    if (pending.immediate !== undefined) clearImmediate(pending.immediate);
  },
};
