/** defineFlow's load-time checks (each error names the step), the flow machine it compiles to, and ctx.flow. */
import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultCallOptions } from '../../machines/options.js';
import { enterStep, stepOptions, summarize, type FlowStepEvent } from '../../machines/flow-step.js';
import { AgentDefinitionError, defineAgent, tool } from '../../src/agent/agent.js';
import { agentCallOptions, agentPhrases } from '../../src/agent/agent-runtime.js';
import { compileFlow, defineFlow, toolFlow, type FlowDefinition } from '../../src/agent/flow.js';
import { callMachine } from '../../machines/call.machine.js';

const verify = tool({ description: 'Verify the patient.', parameters: z.object({ lastName: z.string() }), execute: () => ({ verified: true }) });
const book = tool({ description: 'Book a slot.', parameters: z.object({ slot: z.string() }), execute: () => 'booked' });

const good: FlowDefinition = {
  initial: 'identify',
  steps: {
    identify: { instructions: 'Verify the patient.', tools: { verify_patient: verify }, on: { VERIFIED: 'booking' } },
    booking: { instructions: 'Book a slot.', tools: { book }, on: { BOOKED: 'done', WANTS_HUMAN: 'transfer' } },
    done: { instructions: 'Say goodbye.', tools: {} },
    transfer: { instructions: 'Tell them you transfer them.', transferTo: 'front desk' },
  },
};

const withSteps = (steps: FlowDefinition['steps'], initial = 'a'): FlowDefinition => ({ initial, steps });

describe('defineFlow checks', () => {
  it('accepts the flow of the issue', () => {
    const flow = defineFlow(good);
    expect(flow.initial).toBe('identify');
    const agent = defineAgent({ systemPrompt: 'Dental office.', greeting: 'Hi', flow, transferTargets: { 'front desk': '+15551230000' } });
    expect(agent.flow).toBe(flow);
  });

  it('refuses an unknown initial step', () => {
    expect(() => defineFlow({ ...good, initial: 'start' })).toThrow(AgentDefinitionError);
    expect(() => defineFlow({ ...good, initial: 'start' })).toThrow(/`initial` "start" is not a step \(steps: identify, booking, done, transfer\)/);
  });

  it('refuses an unknown target, naming the step and the event', () => {
    const flow = withSteps({ a: { instructions: 'A', on: { NEXT: 'nowhere' } } });
    expect(() => defineFlow(flow)).toThrow(/step "a": on\.NEXT goes to unknown step "nowhere"/);
    const guarded = withSteps({ a: { instructions: 'A', on: { NEXT: { target: 'b2', guard: () => true } } }, b: { instructions: 'B' } });
    expect(() => defineFlow(guarded)).toThrow(/step "a": on\.NEXT goes to unknown step "b2"/);
  });

  it('refuses a step no transition reaches', () => {
    const flow = withSteps({ a: { instructions: 'A', on: { NEXT: 'b' } }, b: { instructions: 'B' }, orphan: { instructions: 'O', on: { BACK: 'a' } } });
    expect(() => defineFlow(flow)).toThrow(/step "orphan" cannot be reached from "a"/);
  });

  it('refuses a step without instructions', () => {
    expect(() => defineFlow(withSteps({ a: { instructions: '  ' } }))).toThrow(/step "a": `instructions` must be a non-empty string/);
    expect(() => defineFlow(withSteps({ a: {} as never }))).toThrow(/step "a": `instructions`/);
  });

  it('refuses one tool name given two different tools across steps, or across the agent and a step', () => {
    const other = tool({ description: 'Another verify.', parameters: z.object({}), execute: () => 1 });
    const clash = withSteps({ a: { instructions: 'A', tools: { verify_patient: verify }, on: { NEXT: 'b' } }, b: { instructions: 'B', tools: { verify_patient: other } } });
    expect(() => defineFlow(clash)).toThrow(/step "b": tool "verify_patient" is also defined, differently, in step "a"/);
    // The same tool in two steps is one tool.
    const shared = withSteps({ a: { instructions: 'A', tools: { verify_patient: verify }, on: { NEXT: 'b' } }, b: { instructions: 'B', tools: { verify_patient: verify } } });
    expect(() => defineFlow(shared)).not.toThrow();
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', tools: { verify_patient: other }, flow: defineFlow(shared) })).toThrow(
      /step "a": tool "verify_patient" is also one of the agent's `tools`, defined differently/,
    );
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', tools: { verify_patient: verify }, flow: defineFlow(shared) })).not.toThrow();
  });

  it('refuses a transferTo that is not one of the agent\'s transfer targets', () => {
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', flow: defineFlow(good) })).toThrow(/step "transfer": transferTo "front desk" is not one of `transferTargets` \(none defined\)/);
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', flow: defineFlow(good), transferTargets: { sales: '+15551230000' } })).toThrow(/\(sales\)/);
  });

  it('refuses bad step fields and tools that are not tools', () => {
    expect(() => defineFlow(withSteps({ a: { instructions: 'A', history: 'forget' as never } }))).toThrow(/step "a": `history` must be one of keep, reset, summary/);
    expect(() => defineFlow(withSteps({ a: { instructions: 'A', onEnter: { say: '' } } }))).toThrow(/step "a": `onEnter`/);
    expect(() => defineFlow(withSteps({ a: { instructions: 'A', on: { 'bad event': 'a' } } }))).toThrow(/step "a": event "bad event"/);
    expect(() => defineFlow(withSteps({ a: { instructions: 'A', on: { NEXT: { target: 'a', guard: 'yes' as never } } } }))).toThrow(/on\.NEXT\.guard must be a function/);
    expect(() => defineFlow({ initial: 'a', steps: {} })).toThrow(/at least one step/);
    const flow = defineFlow(withSteps({ a: { instructions: 'A', tools: { end_call: verify } } }));
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', flow })).toThrow(/step "a": "end_call" is built in/);
    const notTool = defineFlow(withSteps({ a: { instructions: 'A', tools: { x: { description: 'x' } as never } } }));
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', flow: notTool })).toThrow(/step "a": tools\.x must be made with tool/);
    expect(() => defineAgent({ systemPrompt: 'S', greeting: 'G', flow: good as never })).toThrow(/`flow` must be made with defineFlow/);
  });
});

describe('a flow agent\'s call options', () => {
  const agent = defineAgent({ systemPrompt: 'Dental office.', greeting: 'Hi', flow: defineFlow({ ...good, steps: { ...good.steps, done: { instructions: 'Bye.', onEnter: { say: 'All set.' } } } }), transferTargets: { 'front desk': '+15551230000' } });

  it('offers every step\'s tools once; each round narrows them to the active step\'s', () => {
    const options = agentCallOptions(agent, defaultCallOptions);
    expect(options.tools.map((t) => t.name)).toEqual(['verify_patient', 'book', 'end_call', 'transfer_call']);
    const booking = stepOptions(options, { step: 'booking', instructions: 'Book a slot.', tools: ['book'], summary: '' });
    expect(booking.tools.map((t) => t.name)).toEqual(['book', 'end_call', 'transfer_call']);
    expect(booking.systemPrompt).toBe('Dental office.\n\nBook a slot.');
    expect(stepOptions(options, null)).toBe(options);
    expect(agentPhrases(options, agent)).toContain('All set.');
  });
});

describe('history strategies', () => {
  const history = [
    { role: 'user' as const, content: 'I am Ada Lovelace' },
    { role: 'assistant' as const, content: '', toolCalls: [{ id: '1', name: 'verify_patient', args: {} }] },
    { role: 'tool' as const, toolCallId: '1', name: 'verify_patient', content: '{"verified":true}', isError: false },
    { role: 'assistant' as const, content: 'Thanks Ada.' },
  ];
  const event = (strategy: FlowStepEvent['history']): FlowStepEvent => ({
    type: 'FLOW.STEP', step: 'booking', cause: 'VERIFIED', instructions: 'Book.', tools: [], history: strategy, say: null, transferTo: null, context: {}, at: 0,
  });

  it('keep keeps, reset forgets, summary forgets and condenses into the prompt', () => {
    expect(enterStep(event('keep'), history, null).history).toBe(history);
    expect(enterStep(event('reset'), history, null)).toEqual({ history: [], flow: { step: 'booking', instructions: 'Book.', tools: [], summary: '' } });
    const summarized = enterStep(event('summary'), history, null);
    expect(summarized.history).toEqual([]);
    expect(summarized.flow.summary).toBe('Caller: I am Ada Lovelace\nverify_patient returned {"verified":true}\nYou: Thanks Ada.');
    expect(stepOptions(defaultCallOptions, summarized.flow).systemPrompt).toContain('Earlier in this call:\nCaller: I am Ada Lovelace');
    expect(summarize([{ role: 'user', content: 'x'.repeat(5000) }], '').length).toBeLessThanOrEqual(2001);
  });
});

describe('the compiled flow machine and ctx.flow', () => {
  const flow = defineFlow(withSteps({
    a: { instructions: 'A', on: { GO: 'b' } },
    b: { instructions: 'B', on: { BACK: { target: 'a', guard: (context, event) => context['patientId'] === 'p1' && event['ok'] === true }, BOOM: { target: 'a', guard: () => { throw new Error('bug'); } } } },
  }));

  it('moves on accepted events, merges their payloads, and refuses the others with an error naming the step', () => {
    const actor = createActor(callMachine.provide({ actors: { flow: compileFlow(flow, []) } }), { input: { options: defaultCallOptions } }).start();
    expect(actor.getSnapshot().context.flow?.step).toBe('a');
    const ctx = toolFlow(actor.system.get('flow'), new AbortController().signal, 'test');
    ctx.send({ type: 'GO', patientId: 'p1' });
    expect([ctx.step, ctx.context, actor.getSnapshot().context.flow?.instructions]).toEqual(['b', { patientId: 'p1' }, 'B']);
    expect(() => ctx.send({ type: 'GO' })).toThrow('The conversation is in step "b", which does not accept GO (it accepts BACK, BOOM).');
    expect(() => ctx.send({ type: 'BACK' })).toThrow(/does not accept BACK \(its guard refused it\)/);
    expect(() => ctx.send({ type: 'BOOM' })).toThrow(/its guard refused it/); // a throwing guard refuses; the flow lives on
    ctx.send({ type: 'BACK', ok: true });
    expect(ctx.step).toBe('a');
    actor.stop();
  });

  it('ignores a cancelled tool\'s events, and says so when the agent has no flow', () => {
    const actor = createActor(callMachine.provide({ actors: { flow: compileFlow(flow, []) } }), { input: { options: defaultCallOptions } }).start();
    const controller = new AbortController();
    const ctx = toolFlow(actor.system.get('flow'), controller.signal, 'test');
    controller.abort();
    ctx.send({ type: 'GO' });
    expect(ctx.step).toBe('a');
    expect(() => toolFlow(null, new AbortController().signal, 'test').send({ type: 'GO' })).toThrow(/this agent has no flow/);
    expect(toolFlow(null, new AbortController().signal, 'test').step).toBeNull();
    actor.stop();
  });
});
