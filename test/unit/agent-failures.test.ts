/**
 * An agent's own failures are visible to the operator: a tool that throws logs `tool failed` with the tool, the call
 * and the error (stack at debug); a throwing onCallStart is an agent hook error that says the call went on.
 */
import { createActor } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { callLogger } from '../../lib/logger.js';
import { defineAgent, tool } from '../../src/api/index.js';
import { createConfigureActor, createToolRunner } from '../../src/agent/agent-runtime.js';
import type { CallOptions } from '../../machines/options.js';
import { captureLogger, type LogLine } from '../e2e/harness.js';

const info = { callSid: 'CA_tools', from: '+15550001111', to: '+15550002222', direction: 'inbound' as const, customParameters: {} };

const agent = defineAgent({
  systemPrompt: 'You are a test.',
  greeting: 'Hello.',
  tools: {
    book: tool({
      description: 'Books a slot.',
      parameters: z.object({ slot: z.string() }),
      async execute() {
        throw new Error('calendar API answered 500');
      },
    }),
  },
  onCallStart() {
    throw new Error('CRM lookup failed');
  },
});

describe('agent failures in the log', () => {
  it('a tool that throws: one warn line `tool failed` with the tool, the callSid and the message; the stack at debug', async () => {
    const lines: LogLine[] = [];
    const base = captureLogger(lines);
    base.level = 'debug';
    const runner = createActor(createToolRunner(agent, () => info, callLogger(base, info.callSid)), {
      input: { calls: [{ id: 'call_1', name: 'book', args: { slot: 'mon 9' } }] },
    });
    runner.start();
    await vi.waitFor(() => expect(lines.some((l) => l.message === 'tool failed: stack')).toBe(true));
    const failed = lines.find((l) => l.message === 'tool failed');
    expect(failed).toMatchObject({ level: 'warn', tool: 'book', callSid: 'CA_tools', error: 'calendar API answered 500' });
    expect(lines.find((l) => l.message === 'tool failed: stack')?.['stack']).toMatch(/calendar API answered 500\n\s+at /);
    expect(lines.some((l) => l.message === 'tool finished')).toBe(false);
    runner.stop();
  });

  it('a throwing onCallStart is an agent hook error (not a provider error) and says what the call did', async () => {
    const lines: LogLine[] = [];
    const configure = createActor(createConfigureActor(agent, captureLogger(lines)), {
      input: { call: { ...info, streamSid: 'MZ_tools' }, options: {} as CallOptions },
    });
    configure.subscribe({ error: () => {} });
    configure.start();
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
    expect(lines[0]).toMatchObject({
      level: 'warn',
      message: 'agent hook failed',
      hook: 'onCallStart',
      error: 'CRM lookup failed',
      effect: "the call went on with the agent's defaults",
    });
  });
});
