/**
 * /metrics is unauthenticated and keeps every series for the life of the process: no label may be a value the model
 * or a caller chooses. A model naming tools that do not exist is counted under `unknown`.
 */
import { describe, expect, it } from 'vitest';
import { call, startStack } from './harness.js';
import { defineAgent, tool } from '../../src/agent/agent.js';
import { z } from 'zod';

describe('metric labels', () => {
  it('tool metrics label only the agent\'s tools and the built-ins; invented names become "unknown"', async () => {
    const invented = Array.from({ length: 12 }, (_, i) => ({ name: `invented_tool_${i}`, args: {} }));
    const stack = await startStack({
      agent: defineAgent({
        systemPrompt: 'Help.',
        greeting: 'Hello!',
        tools: { check_stock: tool({ description: 'Stock of an item', parameters: z.object({}), execute: async () => ({ inStock: 3 }) }) },
      }),
      simulators: {
        llm: { script: [{ when: 'please check', toolCalls: [...invented, { name: 'check_stock', args: {} }], once: true }] },
      },
    });
    try {
      await call(stack, [{ waitForAgent: 'reply' }, { say: 'please check everything' }, { waitForAgent: 'reply' }, { hangup: true }]);
      const text = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
      expect(text).not.toContain('invented_tool_');
      expect(text).toMatch(/voice_tool_calls_total\{tool="unknown",outcome="error"\} 12/);
      expect(text).toMatch(/voice_tool_calls_total\{tool="check_stock",outcome="ok"\} 1/);
      const labels = [...text.matchAll(/\btool="([^"]*)"/g)].map((m) => m[1]);
      expect(new Set(labels)).toEqual(new Set(['unknown', 'check_stock']));
    } finally {
      await stack.close();
    }
  });
});
