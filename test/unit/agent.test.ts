/** The agent API's checks and runtime: definitions, per-call overrides, the loader and the tool runner. */
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defaultCallOptions } from '../../machines/options.js';
import { defineAgent, tool, type CallInfo } from '../../src/agent/agent.js';
import { agentCallOptions, applyOverrides, Keypad, resultContent, runTool } from '../../src/agent/agent-runtime.js';
import { AgentLoadError, loadAgent } from '../../src/agent/agent-loader.js';

const info: CallInfo = { callSid: 'CA1', from: '+1555', to: '+1666', direction: 'inbound', customParameters: {} };
const lookup = tool({
  description: 'Look an order up.',
  parameters: z.object({ order: z.string().regex(/^\d+$/) }),
  execute: ({ order }) => ({ order, status: 'shipped' }),
});

describe('defineAgent and tool', () => {
  it('turns a zod schema into the JSON Schema the model gets, with control tools added', () => {
    const agent = defineAgent({ systemPrompt: 'Be nice.', greeting: 'Hi!', tools: { lookup }, transferTargets: { sales: '+15551230000' } });
    const options = agentCallOptions(agent, defaultCallOptions);
    expect(options.tools.map((t) => [t.name, t.kind])).toEqual([
      ['lookup', 'function'],
      ['end_call', 'end_call'],
      ['transfer_call', 'transfer_call'],
    ]);
    expect(options.tools[0]?.parameters).toMatchObject({
      type: 'object',
      properties: { order: { type: 'string', pattern: '^\\d+$' } },
      required: ['order'],
    });
    expect(options.tools[0]?.parameters).not.toHaveProperty('$schema');
    expect(options.tools[2]?.parameters).toMatchObject({ properties: { target: { enum: ['sales'] } } });
    expect(agentCallOptions(defineAgent({ systemPrompt: 'a', greeting: 'b' }), defaultCallOptions).tools.map((t) => t.name)).toEqual(['end_call']);
  });

  it('refuses bad definitions with one clear line', () => {
    expect(() => defineAgent({ systemPrompt: '', greeting: 'Hi' })).toThrow(/^defineAgent\(\): `systemPrompt` must be a non-empty string$/);
    expect(() => defineAgent({ systemPrompt: 'a', greeting: 'b', transferTargets: { boss: '555' } })).toThrow(/transferTargets\.boss must be an E\.164/);
    expect(() => defineAgent({ systemPrompt: 'a', greeting: 'b', tools: { end_call: lookup } })).toThrow(/built in/);
    expect(() => defineAgent({ systemPrompt: 'a', greeting: 'b', tools: { 'bad name': lookup } })).toThrow(/tool name/);
    expect(() => tool({ description: 'x', parameters: z.string() as never, execute: () => 1 })).toThrow(/zod object schema/);
  });

  it('applies per-call overrides; an unknown tool name is an error', () => {
    const options = agentCallOptions(defineAgent({ systemPrompt: 'a', greeting: 'b', tools: { lookup } }), defaultCallOptions);
    const call = applyOverrides(options, { greeting: 'Hola', language: 'es', tools: [] });
    expect(call).toMatchObject({ greeting: 'Hola', language: 'es' });
    expect(call.tools.map((t) => t.name)).toEqual(['end_call']);
    expect(() => applyOverrides(options, { tools: ['nope'] })).toThrow(/unknown tools "nope"/);
  });
});

describe('runTool', () => {
  const never = new AbortController().signal;

  it('validates arguments with the zod schema before execute runs', async () => {
    const execute = vi.fn(() => 'never');
    const guarded = tool({ description: 'x', parameters: z.object({ n: z.number().int() }), execute });
    const result = await runTool(guarded, { id: '1', name: 'x', args: { n: 'two' } }, info, never);
    expect(result.ok).toBe(false);
    expect(result.content).toMatch(/Invalid arguments: n: /);
    expect(execute).not.toHaveBeenCalled();
  });

  it('a throw, a timeout and an unknown tool are error results; values become JSON; big results are cut', async () => {
    const thrower = tool({ description: 'x', parameters: z.object({}), execute: () => { throw new Error('CRM down'); } });
    expect(await runTool(thrower, { id: '1', name: 'x', args: {} }, info, never)).toMatchObject({ ok: false, content: '{"error":"CRM down"}', error: 'CRM down', thrown: expect.any(Error) });
    vi.useFakeTimers();
    try {
      let aborted = false;
      const slow = tool({
        description: 'x',
        parameters: z.object({}),
        timeoutMs: 50,
        execute: (_args, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve('late')))),
      });
      const pending = runTool(slow, { id: '1', name: 'x', args: {} }, info, never);
      await vi.advanceTimersByTimeAsync(60);
      expect(await pending).toEqual({ ok: false, content: '{"error":"The tool did not answer within 50 ms."}', error: 'The tool did not answer within 50 ms.', thrown: undefined });
      expect(aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect(await runTool(undefined, { id: '1', name: 'ghost', args: {} }, info, never)).toMatchObject({ ok: false });
    expect(await runTool(lookup, { id: '1', name: 'lookup', args: { order: '42' } }, info, never)).toEqual({ ok: true, content: '{"order":"42","status":"shipped"}' });
    expect(resultContent('x'.repeat(20_000))).toMatch(/…\(cut: 20000 characters in all\)$/);
  });

  it('hands the call and an abort signal to execute; the signal fires when the round is cancelled', async () => {
    const controller = new AbortController();
    let seen: { call?: CallInfo; aborted?: boolean } = {};
    const waits = tool({
      description: 'x',
      parameters: z.object({}),
      execute: (_args, ctx) =>
        new Promise((_resolve, reject) => {
          seen = { call: ctx.call };
          ctx.signal.addEventListener('abort', () => ((seen.aborted = true), reject(new Error('cancelled'))));
        }),
    });
    const pending = runTool(waits, { id: '1', name: 'x', args: {} }, info, controller.signal);
    await Promise.resolve();
    controller.abort();
    expect((await pending).ok).toBe(false);
    expect(seen).toEqual({ call: info, aborted: true });
  });
});

describe('Keypad (ctx.waitForDigits)', () => {
  it('resolves on the terminator, on a count, or with what was typed when the caller stops', async () => {
    const signal = new AbortController().signal;
    const keypad = new Keypad();
    const wait = keypad.waitFor(signal);
    const hashed = wait();
    for (const d of '427#9') keypad.press(d);
    expect(await hashed).toBe('427');
    expect(await wait({ count: 1 })).toBe('9'); // pressed before anyone waited: kept
    vi.useFakeTimers();
    try {
      const partial = wait({ timeoutMs: 1000 });
      keypad.press('1');
      await vi.advanceTimersByTimeAsync(1001);
      expect(await partial).toBe('1');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('loadAgent', () => {
  it('loads a TypeScript agent module, and fails with one line naming the file otherwise', async () => {
    expect((await loadAgent('agents/front-desk.ts')).name).toBe('front-desk');
    await expect(loadAgent('nowhere.ts')).rejects.toThrow(/^AGENT=nowhere\.ts: no such file/);
    await expect(loadAgent('test/unit/agents/bad-export.ts')).rejects.toThrow(/^AGENT=test\/unit\/agents\/bad-export\.ts: the default export must be defineAgent/);
    const failing = loadAgent('test/unit/agents/bad-definition.ts');
    await expect(failing).rejects.toBeInstanceOf(AgentLoadError);
    await expect(failing).rejects.toThrow(/bad-definition\.ts: the module failed to load: defineAgent\(\): `greeting` must be a non-empty string/);
    // Where: the place in the agent's module that threw (vitest maps stacks its own way, so the line is not pinned here).
    await expect(failing).rejects.toThrow(/\(at test\/unit\/agents\/bad-definition\.ts:\d+:\d+\)$/);
  });

  it('a syntax error names the file, line and column and what the parser expected', async () => {
    const failing = loadAgent('test/unit/agents/broken-syntax.ts');
    await expect(failing).rejects.toThrow(/^AGENT=test\/unit\/agents\/broken-syntax\.ts: the module failed to load: Transform failed with 1 error:/);
    await expect(failing).rejects.toThrow(/test\/unit\/agents\/broken-syntax\.ts:7:1: ERROR: Expected "\)" but found ";"/);
  });
});
