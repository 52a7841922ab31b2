/** Transcripts are personal data: what was said reaches the log lines only with LOG_TRANSCRIPTS=true. */
import { describe, expect, it } from 'vitest';
import { call, captureLogger, startStack, type LogLine } from './harness.js';

const SAID = 'what are your opening hours';

async function callAndLog(env: NodeJS.ProcessEnv): Promise<{ lines: LogLine[]; agentText: string }> {
  const lines: LogLine[] = [];
  const stack = await startStack({ env, log: captureLogger(lines) });
  try {
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: SAID }, { waitForAgent: 'reply' }, { dtmf: '4321' }, { pause: 300 }, { hangup: true }]);
    const agentText = record.transcript.filter((t) => t.role === 'agent').at(-1)?.text ?? '';
    return { lines, agentText };
  } finally {
    await stack.close();
  }
}

describe('transcripts in the log', () => {
  it('by default: the lines are there (turn, lengths, latency) but no caller text, agent text or keys', async () => {
    const { lines, agentText } = await callAndLog({});
    expect(agentText.length).toBeGreaterThan(10);
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(SAID);
    expect(everything).not.toContain(agentText);
    expect(everything).not.toContain('4321');
    expect(lines.find((l) => l.message === 'caller said')).toMatchObject({ turn: 1, chars: SAID.length });
    expect(lines.find((l) => l.message === 'caller said')).not.toHaveProperty('text');
    expect(lines.find((l) => l.message === 'agent turn')).not.toHaveProperty('text');
  });

  it('LOG_TRANSCRIPTS=true: the text is in the lines', async () => {
    const { lines } = await callAndLog({ LOG_TRANSCRIPTS: 'true' });
    expect(lines.find((l) => l.message === 'caller said')).toMatchObject({ text: SAID });
    expect(lines.find((l) => l.message === 'agent turn')).toHaveProperty('text');
  });
});
