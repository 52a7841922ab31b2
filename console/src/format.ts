export function ms(value: number | null): string {
  return value === null ? '—' : `${Math.round(value)} ms`;
}

export function duration(msValue: number | null): string {
  if (msValue === null) return '—';
  const s = Math.round(msValue / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function when(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/**
 * A value as one line of JSON with a space after each `:` and `,` (`{ "order_number": "4271" }`), so a narrow column
 * wraps it between tokens instead of inside a key or a value.
 */
export function json(value: unknown): string {
  const text = JSON.stringify(value, null, 1) ?? String(value);
  return text.replace(/\n\s*/g, ' ');
}

/** A tool result as the model saw it: JSON spaced as `json` does; any other text as it is. */
export function resultText(content: string): string {
  try {
    return json(JSON.parse(content) as unknown);
  } catch {
    return content;
  }
}
