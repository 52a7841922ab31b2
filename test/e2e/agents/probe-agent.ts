/**
 * An agent written for the end-to-end tests of the agent API: a tool whose value only its `execute` knows, a slow
 * tool that notices being aborted, a per-call greeting chosen by the number called, and one transfer target.
 * What the tools see is left on `globalThis.probeAgent` for the test to read.
 */
import { z } from 'zod';
import { defineAgent, tool } from 'voice-call-orchestrator';

export type ProbeState = { secrets: string[]; slowAborted: string[]; calls: string[] };
const g = globalThis as { probeAgent?: ProbeState };
const state = (): ProbeState => (g.probeAgent ??= { secrets: [], slowAborted: [], calls: [] });

export default defineAgent({
  name: 'probe',
  systemPrompt: 'You are a test agent.',
  greeting: 'Hello from the probe.',
  transferTargets: { desk: '+15550100999' },
  onCallStart(call) {
    state().calls.push(call.to);
    if (call.to === '+15557770001') return { greeting: 'Welcome to the north office.' };
    if (call.to === '+15557770002') return { greeting: 'Welcome to the south office.' };
    return undefined;
  },
  tools: {
    secret_code: tool({
      description: 'Returns a code only this tool knows.',
      parameters: z.object({}),
      execute() {
        const code = String(100000 + Math.floor(Math.random() * 900000));
        state().secrets.push(code);
        return { code };
      },
    }),
    slow_lookup: tool({
      description: 'Takes five seconds unless the caller interrupts.',
      parameters: z.object({ what: z.string() }),
      filler: false,
      async execute({ what }, { signal }) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 5000);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            state().slowAborted.push(what);
            reject(new Error('aborted'));
          });
        });
        return { what, found: true };
      },
    }),
  },
});
