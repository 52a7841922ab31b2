import { useEffect, useState } from 'preact/hooks';
import type { CallSummary, ToolEntry } from '../../src/records/summary-types.ts';
import { getJson } from './api.ts';
import { duration, json, ms, resultText, when } from './format.ts';
import { Replay } from './Replay.tsx';
import { Timeline } from './Timeline.tsx';
import { Transcript, type TranscriptLine } from './Transcript.tsx';

export function CallPage({ callSid, inspector, onError }: { callSid: string; inspector: boolean; onError: (err: unknown) => void }) {
  const [call, setCall] = useState<CallSummary | null>(null);
  useEffect(() => {
    getJson<CallSummary>(`/calls/${encodeURIComponent(callSid)}`).then(setCall, onError);
  }, [callSid]);
  if (call === null) return <p class="muted">Loading…</p>;
  const tools = call.conversation.filter((e): e is ToolEntry => e.kind === 'tool');
  return (
    <section class="call" data-call-sid={call.callSid}>
      <p>
        <a href="#/calls">← Past calls</a>
      </p>
      <h2 class="call-title">
        {call.from || 'unknown'} → {call.to || '?'}
      </h2>
      <p class="meta call-meta">
        {when(call.startedAt)} · {duration(call.durationMs)} · {call.agent ?? 'agent'} · {call.direction || 'inbound'} · ended:{' '}
        {call.endReason ?? call.status} · <code>{call.callSid}</code>
      </p>
      {call.flow !== undefined && (
        <p class="meta flow-path" title="the conversation flow's steps, in the order the call went through them">
          Flow: {call.flow.path.join(' → ')}
        </p>
      )}
      <div class="columns">
        <div>
          <h3>Transcript</h3>
          <Transcript lines={transcriptOf(call)} />
        </div>
        <div>
          <h3>Tool calls</h3>
          {tools.length === 0 ? <p class="muted">None.</p> : <ToolTable tools={tools} />}
          {call.transfers.length > 0 && (
            <ul class="transfers">
              {call.transfers.map((t, i) => (
                <li key={i} class={`transfer-${t.outcome}`}>
                  Transfer to {t.target} {t.number !== null && <code>{t.number}</code>}: <span class="outcome">{t.outcome}</span>
                  {t.reason !== null && <span class="muted"> — {t.reason}</span>}
                </li>
              ))}
            </ul>
          )}
          <Replay callSid={call.callSid} inspector={inspector} onError={onError} />
        </div>
      </div>
      <h3>Timeline</h3>
      <Timeline call={call} />
    </section>
  );
}

/** The conversation as the caller experienced it: what they said, what they heard, what was cut off; where the flow moved. */
function transcriptOf(call: CallSummary): TranscriptLine[] {
  const lines: TranscriptLine[] = [];
  for (const e of call.conversation) {
    if (e.kind === 'caller') lines.push({ role: 'caller', text: e.text });
    if (e.kind === 'dtmf') lines.push({ role: 'caller', text: `[keypad: ${e.digits}]` });
    // The initial step is no change: the flow path above names it.
    if (e.kind === 'step' && e.from !== null) lines.push({ role: 'step', text: e.step, event: e.event ?? undefined });
    if (e.kind === 'agent') {
      const cut = e.interrupted && e.generated.startsWith(e.heard) ? e.generated.slice(e.heard.length).trim() : undefined;
      lines.push({ role: 'agent', text: e.heard, cut, note: e.source === 'reply' ? undefined : `(${e.source})` });
    }
  }
  return lines;
}

function ToolTable({ tools }: { tools: readonly ToolEntry[] }) {
  return (
    <table class="tool-table">
      <thead>
        <tr>
          <th>Turn</th>
          <th>Tool</th>
          <th>Result</th>
          <th>Took</th>
        </tr>
      </thead>
      <tbody>
        {tools.map((t) => (
          <tr key={t.id} class={`tool-${t.outcome}`}>
            <td>{t.turn}</td>
            <td>
              <code class="json">
                {t.name}({json(t.args)})
              </code>
            </td>
            <td>
              <span class="outcome">{t.outcome}</span> <span class="json">{resultText(t.result)}</span>
            </td>
            <td>{ms(t.durationMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
