/**
 * A call's transfers, folded from what the call machine emits: the transfer_call the model made (target name and
 * number), then whether Twilio took the call (`transferred`), refused it (`error`, with Twilio's reason), or the call
 * ended first (`pending`). One fold for the call record and for `simulateCall`'s result.
 */
import type { CallEmitted } from '../../machines/emitted.js';

export interface TransferRecord {
  /** The target's name from the agent's `transferTargets` (as the model named it). */
  target: string;
  /** The number dialled; null when the model named a target that is not in the allowlist. */
  number: string | null;
  /** `pending`: the call ended before the transfer happened (the caller hung up during the announcement). */
  outcome: 'transferred' | 'error' | 'pending';
  /** Why it failed (the tool's error result or Twilio's answer); null otherwise. */
  reason: string | null;
}

export class TransferTracker {
  private readonly transfers: TransferRecord[] = [];

  add(e: CallEmitted): void {
    const last = this.transfers.at(-1);
    if (e.type === 'call.toolFinished' && e.name === 'transfer_call' && e.outcome !== 'cancelled') {
      const target = typeof e.args['target'] === 'string' ? e.args['target'] : String(e.args['target']);
      const ok = e.outcome === 'ok';
      this.transfers.push({ target, number: e.transferNumber ?? null, outcome: ok ? 'pending' : 'error', reason: ok ? null : errorText(e.content) });
    } else if (e.type === 'call.error' && e.source === 'transfer' && last?.outcome === 'pending') {
      last.outcome = 'error';
      last.reason = e.message;
    } else if (e.type === 'call.ended' && e.reason === 'transferred' && last?.outcome === 'pending') {
      last.outcome = 'transferred';
    }
  }

  list(): TransferRecord[] {
    return this.transfers.map((t) => ({ ...t }));
  }
}

/** The message of a tool's `{"error": "…"}` result, or the result as it is. */
function errorText(content: string): string {
  try {
    const value: unknown = JSON.parse(content);
    if (typeof value === 'object' && value !== null && 'error' in value && typeof value.error === 'string') return value.error;
  } catch {
    // not JSON: the text itself
  }
  return content;
}

export function transfersOf(events: readonly CallEmitted[]): TransferRecord[] {
  const tracker = new TransferTracker();
  for (const e of events) tracker.add(e);
  return tracker.list();
}
