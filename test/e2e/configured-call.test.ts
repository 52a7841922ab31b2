/** The offline stack honours the configuration `npm start` reads: what the agent says, the prompt, Deepgram's options. */
import { afterEach, describe, expect, it } from 'vitest';
import { agentTurns, call, sims, startStack, type E2eStack } from './harness.js';

describe('a call through a configured offline stack', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('greets with GREETING, prompts with SYSTEM_PROMPT and asks Deepgram for STT_LANGUAGE', async () => {
    stack = await startStack({
      env: { GREETING: 'Ahoy, this is the harbour office.', SYSTEM_PROMPT: 'You are the harbour master.', STT_LANGUAGE: 'es' },
    });
    const listenParams: Array<Record<string, string>> = [];
    sims(stack).deepgram.observer.on('listen.open', (e) => listenParams.push(e.params));
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    expect(record.errors).toEqual([]);
    expect(agentTurns(record)[0]?.text.trim()).toBe('Ahoy, this is the harbour office.');
    expect(sims(stack).llm.requests[0]?.system).toBe('You are the harbour master.');
    expect(listenParams[0]).toMatchObject({ language: 'es', model: 'nova-3' });
  });
});
