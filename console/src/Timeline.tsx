/**
 * Per turn, a waterfall of the reply's latency parts (end of speech → LLM request → first text → first TTS audio →
 * first audio at the caller), the turn's tool calls on the same scale, and its barge-ins. With a conversation flow,
 * each turn is labelled with the step its reply spoke from, and a turn in which the flow moved says so.
 */
import type { CallSummary, StepEntry, ToolEntry, TurnLatency } from '../../src/records/summary-types.ts';
import { ms } from './format.ts';

const PARTS: ReadonlyArray<{ key: keyof TurnLatency; label: string; cls: string }> = [
  { key: 'endOfSpeechToLlmRequestMs', label: 'end of speech → LLM request', cls: 'p-request' },
  { key: 'llmRequestToFirstTextMs', label: 'LLM request → first text', cls: 'p-llm' },
  { key: 'firstTextToTtsAudioMs', label: 'first text → first TTS audio', cls: 'p-tts' },
  { key: 'ttsAudioToTwilioMs', label: 'TTS audio → caller', cls: 'p-transport' },
];

export function Timeline({ call }: { call: CallSummary }) {
  const callerAt = new Map<number, number>();
  for (const e of call.conversation) if (e.kind === 'caller') callerAt.set(e.turn, e.atMs);
  const toolsOf = (turn: number): ToolEntry[] => call.conversation.filter((e): e is ToolEntry => e.kind === 'tool' && e.turn === turn);
  const stepChangesOf = (turn: number): StepEntry[] => call.conversation.filter((e): e is StepEntry => e.kind === 'step' && e.from !== null && e.turn === turn);
  const toolEnd = (t: ToolEntry): number => Math.max(0, t.atMs - (callerAt.get(t.turn) ?? t.atMs)) + (t.durationMs ?? 0);
  const scale = Math.max(1, ...call.turns.map((t) => t.latency.totalMs ?? sum(t.latency)), ...call.conversation.filter((e): e is ToolEntry => e.kind === 'tool').map(toolEnd));
  const pct = (v: number): string => `${Math.min(100, (v / scale) * 100).toFixed(2)}%`;
  if (call.turns.length === 0) return <p class="muted">No turn in this call.</p>;
  return (
    <div class="timeline">
      <ul class="legend">
        {PARTS.map((p) => (
          <li key={p.key}>
            <span class={`swatch ${p.cls}`} /> {p.label}
          </li>
        ))}
        <li>
          <span class="swatch p-tool" /> tool call
        </li>
      </ul>
      {call.turns.map((turn) => {
        let offset = 0;
        const bargeIns = call.bargeIns.filter((b) => b.turn === turn.turn);
        const stepChanges = stepChangesOf(turn.turn);
        return (
          <div class={stepChanges.length > 0 ? 'turn step-changed' : 'turn'} key={turn.turn} data-turn={turn.turn}>
            <div class="turn-label">
              <strong>Turn {turn.turn}</strong> <span class="muted">{ms(turn.latency.totalMs)}</span>
              {turn.step !== undefined && (
                <span class="turn-step" data-step={turn.step} title="the flow step the reply spoke from">
                  {turn.step}
                </span>
              )}
              <div class="turn-text" title={turn.userText}>
                “{turn.userText}”
              </div>
            </div>
            <div class="lanes">
              <div class="lane">
                {PARTS.map((p) => {
                  const v = turn.latency[p.key];
                  if (v === null) return null;
                  const bar = (
                    <span key={p.key} class={`bar ${p.cls}`} style={{ left: pct(offset), width: pct(v) }} title={`${p.label}: ${ms(v)}`} />
                  );
                  offset += v;
                  return bar;
                })}
              </div>
              {toolsOf(turn.turn).map((t) => {
                const start = Math.max(0, t.atMs - (callerAt.get(t.turn) ?? t.atMs));
                return (
                  <div class="lane" key={t.id}>
                    <span
                      class={`bar p-tool tool-${t.outcome}`}
                      style={{ left: pct(start), width: pct(t.durationMs ?? 0) }}
                      title={`${t.name}: ${t.outcome} in ${ms(t.durationMs)}`}
                    />
                    <span class="lane-label">
                      {t.name} {ms(t.durationMs)}
                    </span>
                  </div>
                );
              })}
              {stepChanges.map((c, i) => (
                <div class="step-change" key={`step-${i}`} data-step={c.step}>
                  → step {c.step} (from {c.from}{c.event === null ? '' : `, ${c.event}`})
                </div>
              ))}
              {bargeIns.map((b, i) => (
                <div class="barge-in" key={i}>
                  ✂ barge-in during {b.during}: “{b.callerText}” — clear sent {ms(b.clearSentMs)}, TTS cleared {ms(b.ttsClearedMs)}
                </div>
              ))}
            </div>
          </div>
        );
      })}
    </div>
  );
}

function sum(l: TurnLatency): number {
  return (l.endOfSpeechToLlmRequestMs ?? 0) + (l.llmRequestToFirstTextMs ?? 0) + (l.firstTextToTtsAudioMs ?? 0) + (l.ttsAudioToTwilioMs ?? 0);
}
