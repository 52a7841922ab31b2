/**
 * Commands for a live call from outside its conversation — Twilio's AMD verdict, a hangup or a transfer asked through
 * the calls API — delivered on whichever instance owns the call. In one process (no REDIS_URL) that is LiveCalls
 * alone, as before; with shared state the call's stream registers its ownership in the call directory, a command for
 * a call live elsewhere goes to its owner over pub/sub, and one for a call not started yet is held in Redis and handed
 * over when it starts (wherever its stream lands).
 */
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { SharedState } from '../shared/shared-state.js';
import { isServerToCallEvent, type CallMailbox, type LiveCalls, type ServerToCallEvent } from './live-calls.js';
import type { Metrics } from './metrics.js';

export type CommandResult = 'delivered' | 'held' | 'ended' | 'sent' | 'undelivered' | 'failed';

export class CallCommands {
  private readonly routed: boolean;

  constructor(
    private readonly live: LiveCalls,
    private readonly shared: SharedState,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.routed = shared.kind !== 'memory';
  }

  /** Starts listening for commands sent to this instance's calls. */
  async listen(): Promise<void> {
    if (!this.routed) return;
    await this.shared.calls.onCommand((callSid, command) => {
      if (!isServerToCallEvent(command)) {
        this.log.warn('call command ignored: not a command', { callSid });
        return;
      }
      // Sent here because this instance owned the call when it was sent; it may have ended since.
      const result = this.live.isLive(callSid) ? this.live.deliver(callSid, command) : 'ended';
      this.count(command, result);
      this.log.info('call command from another instance', { callSid, command: command.type, result });
    });
  }

  /** The call's stream started here: its commands come here, starting with any held for it. */
  async register(callSid: string, call: CallMailbox): Promise<void> {
    this.live.register(callSid, call);
    if (!this.routed) return;
    try {
      const held = await this.shared.calls.claim(callSid);
      for (const command of held) {
        if (!isServerToCallEvent(command) || !this.live.isLive(callSid)) continue;
        this.count(command, this.live.deliver(callSid, command));
      }
    } catch (err) {
      // The heartbeat claims it again once Redis answers.
      this.log.warn('call ownership not registered (shared state unreachable); retried by the heartbeat', { callSid, error: errorText(err) });
    }
  }

  unregister(callSid: string, call: CallMailbox): void {
    this.live.unregister(callSid, call);
    if (!this.routed) return;
    this.shared.calls.release(callSid).catch((err: unknown) => this.log.debug('call ownership not released', { callSid, error: errorText(err) }));
  }

  /** Delivers `command` to the call, wherever it is live (or held until it starts). */
  async deliver(callSid: string, command: ServerToCallEvent): Promise<CommandResult> {
    let result: CommandResult;
    if (!this.routed || this.live.isLive(callSid)) result = this.live.deliver(callSid, command);
    else {
      try {
        result = await this.shared.calls.route(callSid, command);
      } catch (err) {
        this.log.warn('call command not delivered (shared state unreachable)', { callSid, command: command.type, error: errorText(err) });
        result = 'failed';
      }
    }
    this.count(command, result);
    return result;
  }

  private count(command: ServerToCallEvent, result: CommandResult): void {
    this.metrics.callCommands.inc({ command: command.type, result });
  }
}

function errorText(err: unknown): string {
  return errorMessage(err);
}
