/**
 * A conversation: caller and agent lines; the part of an interrupted reply the caller never heard is struck through.
 * A `step` line marks where the conversation flow moved to another step (and the flow event that moved it).
 */
export interface TranscriptLine {
  role: 'caller' | 'agent' | 'step';
  text: string;
  cut?: string | undefined;
  note?: string | undefined;
  event?: string | undefined;
}

export function Transcript({ lines }: { lines: readonly TranscriptLine[] }) {
  if (lines.length === 0) return <p class="muted">Nothing said yet.</p>;
  return (
    <ol class="transcript">
      {lines.map((line, i) =>
        line.role === 'step' ? (
          <li key={i} class="step" data-step={line.text}>
            <span class="who">step</span>
            <span class="said">
              → {line.text}
              {line.event !== undefined && <span class="note"> ({line.event})</span>}
            </span>
          </li>
        ) : (
          <li key={i} class={line.role}>
            <span class="who">{line.role}</span>
            <span class="said">
              {line.text}
              {line.cut !== undefined && line.cut !== '' && (
                <>
                  {' '}
                  <del title="cut off: never heard by the caller">{line.cut}</del> <span class="cut-mark">✂ interrupted</span>
                </>
              )}
              {line.note !== undefined && <span class="note"> {line.note}</span>}
            </span>
          </li>
        ),
      )}
    </ol>
  );
}
