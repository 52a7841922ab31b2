/** Human-readable lines for event-log entries: divergence reports and the state timeline of a replay. */
import type { StateValue } from 'xstate';
import type { LogEntry } from '../records/event-log.js';

/** `respond.thinking`, `transferring.dialing`: the state's path without the wrappers `live` and `round`. */
export function stateName(value: StateValue): string {
  return fullName(value)
    .split('.')
    .filter((part) => part !== 'live' && part !== 'round')
    .join('.');
}

function fullName(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) => (child === undefined ? key : `${key}.${fullName(child)}`))
    .join(',');
}

export function describeEntry(entry: LogEntry | undefined): string {
  if (entry === undefined) return 'nothing';
  if ('in' in entry) return `event ${entry.in.type}${detail(entry.in)}`;
  if ('state' in entry) return `state ${stateName(entry.state)}`;
  if ('cmd' in entry) return `command ${entry.cmd.type}${detail(entry.cmd)} to ${entry.to}`;
  if ('start' in entry) return `start ${entry.start}${entry.input === undefined ? '' : ` (input #${entry.input})`}`;
  if ('stop' in entry) return `stop ${entry.stop}`;
  if ('action' in entry) return `action ${entry.action} ${short(JSON.stringify(entry.params) ?? '')}`;
  return `emit ${entry.emit.type} ${short(JSON.stringify({ ...entry.emit, type: undefined }))}`;
}

/** The distinctive field of an event, if any (its text, mark name, segment…). */
function detail(event: object): string {
  const fields = event as Record<string, unknown>;
  for (const key of ['text', 'name', 'segment', 'reason', 'message', 'digit']) {
    const value = fields[key];
    if (typeof value === 'string') return ` ${JSON.stringify(short(value, 60))}`;
  }
  return '';
}

function short(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function seconds(t: number): string {
  return `+${(t / 1000).toFixed(3)}s`;
}

/**
 * The state timeline: each state entered, with the event that caused it, plus the commands that matter when reading
 * a call (Twilio clear, TTS Clear, hang-up, LLM started/stopped, side-effect actions, errors).
 */
export function timeline(entries: readonly LogEntry[]): string[] {
  const lines: string[] = [];
  let cause = '';
  for (const entry of entries) {
    if ('in' in entry) cause = entry.in.type.startsWith('xstate.after.') ? `timer ${entry.in.type.split('.')[2] ?? ''}` : entry.in.type;
    else if ('state' in entry) lines.push(`${seconds(entry.t).padStart(10)}  ${stateName(entry.state).padEnd(22)} ${cause ? `← ${cause}` : ''}`);
    else if ('cmd' in entry && /CLEAR|HANGUP/.test(entry.cmd.type)) lines.push(`${seconds(entry.t).padStart(10)}    · ${entry.cmd.type} → ${entry.to}`);
    else if ('start' in entry && entry.start === 'llm') lines.push(`${seconds(entry.t).padStart(10)}    · LLM request`);
    else if ('stop' in entry && entry.stop === 'llm') lines.push(`${seconds(entry.t).padStart(10)}    · LLM stopped`);
    else if ('action' in entry) lines.push(`${seconds(entry.t).padStart(10)}    · ${describeEntry(entry)}`);
    else if ('emit' in entry && (entry.emit.type === 'call.error' || entry.emit.type === 'call.ended' || entry.emit.type.startsWith('call.tool'))) {
      lines.push(`${seconds(entry.t).padStart(10)}    · ${describeEntry(entry)}`);
    }
  }
  return lines;
}
