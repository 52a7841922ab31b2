/** The live feed's diffs (LiveCallView) and its delivery (LiveFeed): nothing followed without clients, backpressure. */
import { describe, expect, it } from 'vitest';
import { initialContext, type AgentSpeech, type CallContext } from '../../machines/context.js';
import { defaultCallOptions } from '../../machines/options.js';
import type { CallEmitted } from '../../machines/emitted.js';
import { silentLogger } from '../../lib/logger.js';
import type { CallWatcher } from '../../src/console/live-call-view.js';
import type { FeedMessage } from '../../src/console/feed-types.js';
import { cutOf, LiveCallView, stateLabel, type CallSnapshotLike } from '../../src/console/live-call-view.js';
import { LiveFeed, type FeedClient } from '../../src/console/live-feed.js';

const base = initialContext({ options: defaultCallOptions });
const started: CallContext = { ...base, call: { callSid: 'CA1', streamSid: 'MZ1', from: '+1555', to: '+1666', direction: 'inbound', customParameters: {} } };
const live = (leaf: object | string): CallSnapshotLike['value'] => ({ live: leaf } as CallSnapshotLike['value']);
const speech = (kind: AgentSpeech['kind'], segments: Array<[string, string, boolean | null]>): AgentSpeech => ({
  kind,
  segments: segments.map(([name, text, heard]) => ({ name, text, heard })),
  buffer: '',
  open: '',
  complete: true,
});
const noTimes = { userSpeechEndAt: null, llmFirstTextAt: null, ttsFirstAudioAt: null, firstAudioToTwilioAt: null };

function view(): { v: LiveCallView; sent: FeedMessage[] } {
  const sent: FeedMessage[] = [];
  return { v: new LiveCallView('front-desk', (m) => sent.push(m), () => 1000), sent };
}

describe('LiveCallView', () => {
  it('shows nothing before the stream started, then the call, and only changes after', () => {
    const { v, sent } = view();
    v.snapshot({ value: 'connecting', context: base });
    expect(sent).toEqual([]);
    v.snapshot({ value: live('greeting'), context: started });
    expect(sent).toEqual([{ type: 'call', call: expect.objectContaining({ callSid: 'CA1', from: '+1555', agent: 'front-desk', state: 'greeting', lines: [] }) }]);
    v.snapshot({ value: live('greeting'), context: started }); // nothing new
    expect(sent).toHaveLength(1);
  });

  it('grows a line as its segments are heard, takes a phrase from history, and strikes a reply cut by a barge-in', () => {
    const { v, sent } = view();
    v.snapshot({ value: live('greeting'), context: started });
    const greeting = speech('greeting', [['greeting-1', 'Hello!', null]]);
    v.snapshot({ value: live('greeting'), context: { ...started, speech: greeting } });
    // The greeting's mark and its commit come in one step: its text arrives with history.
    const afterGreeting = { ...started, history: [{ role: 'assistant' as const, content: 'Hello!' }] };
    v.snapshot({ value: live('listening'), context: afterGreeting });
    v.emitted({ type: 'call.userUtterance', turn: 1, text: 'Tell me a story', at: 1 });
    v.snapshot({ value: live({ respond: { round: 'thinking' } }), context: { ...afterGreeting, turn: { ...started.turn, number: 1 } } });
    const reply1 = speech('reply', [['t1-s1', 'Once upon a time.', true], ['t1-s2', 'There was a call.', null]]);
    v.snapshot({ value: live({ respond: { round: 'speaking' } }), context: { ...afterGreeting, turn: { ...started.turn, number: 1 }, speech: reply1 } });
    v.emitted({ type: 'call.turn', turn: 1, userText: 'Tell me a story', assistantText: 'Once upon a time.', generatedText: 'Once upon a time. There was a call.', interrupted: true, timestamps: { userSpeechEndAt: 100, llmFirstTextAt: 300, ttsFirstAudioAt: 350, firstAudioToTwilioAt: 351 } });
    v.snapshot({ value: live('interrupted'), context: { ...afterGreeting, turn: { ...started.turn, number: 1 } } });
    expect(sent.slice(1)).toEqual([
      { type: 'state', callSid: 'CA1', state: 'listening' },
      { type: 'lines', callSid: 'CA1', from: 0, lines: [{ role: 'agent', text: 'Hello!' }] },
      { type: 'lines', callSid: 'CA1', from: 1, lines: [{ role: 'caller', text: 'Tell me a story' }] },
      { type: 'state', callSid: 'CA1', state: 'thinking' },
      { type: 'state', callSid: 'CA1', state: 'speaking' },
      { type: 'lines', callSid: 'CA1', from: 2, lines: [{ role: 'agent', text: 'Once upon a time.' }] },
      { type: 'lines', callSid: 'CA1', from: 2, lines: [{ role: 'agent', text: 'Once upon a time.', cut: 'There was a call.' }] },
      { type: 'latency', callSid: 'CA1', latency: { turn: 1, llmMs: 200, ttsMs: 50, transportMs: 1, totalMs: 251, interrupted: true } },
      { type: 'state', callSid: 'CA1', state: 'interrupted' },
    ]);
  });

  it('sends tools as they start and finish, and the end once', () => {
    const { v, sent } = view();
    v.snapshot({ value: live('listening'), context: started });
    const tool = { turn: 1, round: 1, id: 'c1', name: 'lookup_order', args: { order_number: '42' } };
    v.emitted({ type: 'call.toolStarted', ...tool, at: 10 });
    v.emitted({ type: 'call.toolFinished', ...tool, outcome: 'ok', content: 'x'.repeat(1000), startedAt: 10, at: 15.04 });
    v.emitted({ type: 'call.ended', reason: 'end_call' });
    v.end('ended');
    v.emitted({ type: 'call.userUtterance', turn: 2, text: 'late', at: 20 } satisfies CallEmitted);
    expect(sent.slice(1).map((m) => m.type)).toEqual(['tool', 'tool', 'ended']);
    expect(sent[1]).toMatchObject({ tool: { id: 'c1', status: 'running' } });
    const done = sent[2];
    expect(done?.type === 'tool' && done.tool).toMatchObject({ status: 'ok', durationMs: 5 });
    expect(done?.type === 'tool' && done.tool.result?.length).toBe(300);
    expect(sent[3]).toEqual({ type: 'ended', callSid: 'CA1', reason: 'end_call' });
    expect(v.current()).toBeNull();
  });

  it('joins a call in progress from its history', () => {
    const { v, sent } = view();
    const history = [
      { role: 'assistant' as const, content: 'Hello!' },
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'How can I help?' },
    ];
    v.snapshot({ value: live({ respond: { round: 'thinking' } }), context: { ...started, history, turn: { ...started.turn, userText: 'Where is my order?' } } });
    expect(sent[0]?.type === 'call' && sent[0].call.lines.map((l) => l.text)).toEqual(['Hello!', 'Hi', 'How can I help?', 'Where is my order?']);
  });

  it('keeps the tools of turns already over when it joins a call (a console reconnecting)', () => {
    const { v, sent } = view();
    const history = [
      { role: 'user' as const, content: 'Where is order 4271?' },
      { role: 'assistant' as const, content: 'Let me check.', toolCalls: [{ id: 'c1', name: 'lookup_order', args: { order_number: '4271' } }] },
      { role: 'tool' as const, toolCallId: 'c1', name: 'lookup_order', content: '{"status":"shipped"}', isError: false },
      { role: 'assistant' as const, content: 'It has shipped.' },
    ];
    v.snapshot({ value: live('listening'), context: { ...started, history } });
    expect(sent[0]?.type === 'call' && sent[0].call.tools).toEqual([
      { id: 'c1', name: 'lookup_order', args: { order_number: '4271' }, status: 'ok', result: '{"status":"shipped"}' },
    ]);
    // The same call's later result for that id updates the line instead of adding one.
    v.emitted({ type: 'call.toolFinished', turn: 1, round: 1, id: 'c1', name: 'lookup_order', args: { order_number: '4271' }, outcome: 'ok', content: 'x', startedAt: 1, at: 2 });
    expect(sent[1]?.type === 'tool' && sent[1].tool.id).toBe('c1');
  });

  it("shows the flow's step, and marks each step change in the transcript where it happens (one small diff each)", () => {
    const { v, sent } = view();
    const inFlow: CallContext = { ...started, flow: { step: 'identify', instructions: '', tools: [], summary: '' } };
    v.snapshot({ value: live('listening'), context: inFlow });
    expect(sent[0]?.type === 'call' && sent[0].call.step).toBe('identify');
    v.emitted({ type: 'call.userUtterance', turn: 1, text: 'Lovelace', at: 1 });
    v.emitted({ type: 'call.flowStep', step: 'booking', from: 'identify', event: 'VERIFIED', turn: 1, at: 2 });
    expect(sent.slice(1)).toEqual([
      { type: 'lines', callSid: 'CA1', from: 0, lines: [{ role: 'caller', text: 'Lovelace' }] },
      { type: 'step', callSid: 'CA1', step: 'booking' },
      { type: 'lines', callSid: 'CA1', from: 1, lines: [{ role: 'step', text: 'booking', event: 'VERIFIED' }] },
    ]);
    expect(v.current()?.step).toBe('booking');
    // Without a flow, the call has no step at all.
    const plain = view();
    plain.v.snapshot({ value: live('listening'), context: started });
    expect(plain.sent[0]?.type === 'call' && plain.sent[0].call).not.toHaveProperty('step');
  });

  it('labels states as a person reads them', () => {
    expect(stateLabel('connecting')).toBe('connecting');
    expect(stateLabel({ live: 'listening' })).toBe('listening');
    expect(stateLabel({ live: { respond: { round: 'speaking' } } })).toBe('speaking');
    expect(stateLabel({ live: { respond: 'tooling' } })).toBe('tool');
    expect(cutOf('Hello there.  How are you?', 'Hello there.')).toBe('How are you?');
    expect(cutOf('Hello there.', 'Something else')).toBe('');
  });
});

/** A call the feed can watch; counts its watchers. */
function fakeCall() {
  const watchers = new Set<CallWatcher>();
  return {
    watchers,
    watch(w: CallWatcher) {
      watchers.add(w);
      w.snapshot({ value: live('listening'), context: started });
      return () => watchers.delete(w);
    },
    emit(e: CallEmitted) {
      for (const w of watchers) w.emitted(e);
    },
  };
}

function client(queued = () => 0): FeedClient & { chunks: string[]; closed: boolean } {
  const c = { chunks: [] as string[], closed: false, write: (s: string) => void c.chunks.push(s), queuedBytes: queued, close: () => void (c.closed = true) };
  return c;
}

describe('LiveFeed', () => {
  it('follows calls only while a client is connected; a client gets a snapshot, then diffs', () => {
    const feed = new LiveFeed({ log: silentLogger });
    const call = fakeCall();
    feed.track(call, 'front-desk');
    expect(call.watchers.size).toBe(0); // nobody looks: nothing subscribed
    const a = client();
    const disconnect = feed.connect(a);
    expect(call.watchers.size).toBe(1);
    expect(JSON.parse(a.chunks[0]?.slice('data: '.length) ?? '')).toMatchObject({ type: 'snapshot', calls: [{ callSid: 'CA1' }] });
    call.emit({ type: 'call.userUtterance', turn: 1, text: 'Hi', at: 1 });
    expect(a.chunks[1]).toBe(`data: ${JSON.stringify({ type: 'lines', callSid: 'CA1', from: 0, lines: [{ role: 'caller', text: 'Hi' }] })}\n\n`);
    disconnect();
    expect(call.watchers.size).toBe(0);
    feed.untrack(call);
  });

  it('drops a client with more than 1 MiB queued, and keeps serving the others', () => {
    const feed = new LiveFeed({ log: silentLogger });
    const call = fakeCall();
    feed.track(call, null);
    let backlog = 0;
    const slow = client(() => backlog);
    const fast = client();
    feed.connect(slow);
    feed.connect(fast);
    backlog = 1024 * 1024 + 1;
    call.emit({ type: 'call.userUtterance', turn: 1, text: 'Hi', at: 1 });
    expect(slow.closed).toBe(true);
    expect(slow.chunks).toHaveLength(1); // the snapshot only
    expect(fast.chunks).toHaveLength(2);
    expect(feed.clientCount).toBe(1);
    expect(feed.stats.dropped).toBe(1);
  });
});
