/**
 * INSPECT: every live call machine and its children reach the Stately inspector's bridge — a flow agent's flow child
 * too, drawn with its steps, its snapshot following the step — and only a viewer holding the token, from the bridge's
 * own page or a non-browser client, on loopback, gets to see them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { call, eventually, startStack, type E2eStack } from './harness.js';
import { startInspector, type CallInspector } from '../../src/server/inspector.js';
import { silentLogger } from '../../lib/logger.js';
import { has } from '../support/externals.js';
import { launchChromium } from '../console/browser.js';
import { freePort } from '../../bench/server-process.js';
import dentalFlow from '../../agents/dental-flow.js';
import { dentalFlowModel } from '../../src/harness/dental-flow-call.js';

type Message = {
  type?: string;
  event?: { type?: string };
  actorRef?: { id?: string };
  name?: string;
  sessionId?: string;
  parentId?: string;
  rootId?: string;
  definition?: string;
  snapshot?: { value?: unknown };
};

/** A WebSocket to the relay; resolves with it open and collecting, or with the handshake's HTTP status. */
function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number; messages: Message[] }> {
  return new Promise((resolve) => {
    const messages: Message[] = [];
    const ws = new WebSocket(url, { headers });
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode, messages }));
    ws.once('error', () => resolve({ status: -1, messages }));
  });
}

/** GET with headers fetch would not send (Host). */
function statusOf(url: string, headers: Record<string, string>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).once('error', reject);
  });
}

const wsUrl = (inspector: CallInspector, token?: string): string => {
  const url = new URL(inspector.url.replace(/^http/, 'ws'));
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
};

describe('Stately inspector', () => {
  let stack: E2eStack | undefined;
  let inspector: CallInspector | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.close();
    await stack?.close();
    stack = undefined;
    inspector?.stop();
    inspector = undefined;
  });

  it('receives the call machine, its children and its events', async () => {
    inspector = await startInspector({ host: '127.0.0.1', port: await freePort(), log: silentLogger });
    // A viewer, as the bridge page would be: the relay forwards what this process's inspector publishes.
    const viewer = await connect(wsUrl(inspector));
    expect(viewer.ws).toBeDefined();
    sockets.push(viewer.ws as WebSocket);
    stack = await startStack({ inspector });
    await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    const messages = viewer.messages;
    await eventually(() => messages.some((m) => m.type === '@xstate.event' && m.event?.type === 'TRANSPORT.STOP'), 'call events relayed');
    const types = new Set(messages.map((m) => m.type));
    expect(types).toContain('@xstate.actor');
    expect(types).toContain('@xstate.snapshot');
    const events = new Set(messages.filter((m) => m.type === '@xstate.event').map((m) => m.event?.type));
    for (const type of ['TRANSPORT.START', 'STT.FINAL', 'LLM.TEXT', 'LLM.DONE', 'TRANSPORT.MARK']) expect(events).toContain(type);
    // Audio never goes through XState, so no per-frame events flood the inspector.
    expect(messages.length).toBeLessThan(1000);
    // A late viewer gets the last messages at once (with the token).
    const late = await connect(wsUrl(inspector));
    sockets.push(late.ws as WebSocket);
    await eventually(() => late.messages.length > 0, 'buffered messages for a late viewer');
  });

  it('binds loopback; refuses a missing or wrong token, a foreign Origin, a rebound Host; relays nothing a viewer sends', async () => {
    const port = await freePort();
    inspector = await startInspector({ host: '127.0.0.1', port, log: silentLogger });
    expect(inspector.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?token=[\\w-]{43}$`));
    // Another loopback address reaches a server bound to all interfaces, not one bound to 127.0.0.1.
    const other = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.2', port }, () => resolve('connected'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      socket.unref();
    });
    expect(other).toBe('ECONNREFUSED');

    const token = new URL(inspector.url).searchParams.get('token') ?? '';
    expect((await connect(wsUrl(inspector, ''))).status).toBe(403);
    expect((await connect(`ws://127.0.0.1:${port}/`)).status).toBe(403);
    expect((await connect(wsUrl(inspector, token.slice(1) + 'x'))).status).toBe(403);
    expect((await connect(wsUrl(inspector), { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await connect(wsUrl(inspector), { Origin: `http://evil.example:${port}`, Host: `evil.example:${port}` })).status).toBe(403);
    // The page needs the token too (a rebound page could otherwise read it there).
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(403);
    expect(await statusOf(inspector.url, { Host: `evil.example:${port}` })).toBe(403);
    const page = await fetch(inspector.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");

    // The page's own origin is welcome; what any viewer sends reaches no one.
    const a = await connect(wsUrl(inspector), { Origin: `http://127.0.0.1:${port}` });
    const b = await connect(wsUrl(inspector));
    expect(a.ws && b.ws).toBeDefined();
    sockets.push(a.ws as WebSocket, b.ws as WebSocket);
    a.ws?.send(JSON.stringify({ type: '@xstate.event', event: { type: 'FORGED' } }));
    stack = await startStack({ inspector });
    await call(stack, [{ waitForAgent: 'reply' }, { hangup: true }]);
    await eventually(() => b.messages.some((m) => m.type === '@xstate.actor'), 'the call published');
    expect(b.messages.filter((m) => m.event?.type === 'FORGED')).toEqual([]);
  });

  it.skipIf(!has('chromium'))('the bridge page opened from its URL connects in Chromium and receives the call', async () => {
    inspector = await startInspector({ host: '127.0.0.1', port: await freePort(), log: silentLogger });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const frames: string[] = [];
      page.on('websocket', (ws) => ws.on('framereceived', (frame) => frames.push(String(frame.payload))));
      // stately.ai is out of reach here: the iframe fails, the page's socket does not.
      await page.goto(inspector.url, { waitUntil: 'domcontentloaded' });
      stack = await startStack({ inspector });
      await call(stack, [{ waitForAgent: 'reply' }, { hangup: true }]);
      await eventually(() => frames.some((f) => f.includes('"@xstate.actor"')), 'the page received the call', 10_000);
    } finally {
      await browser.close();
    }
  });
});

describe('Stately inspector, a flow agent\'s call', () => {
  let stack: E2eStack | undefined;
  let inspector: CallInspector | undefined;
  let viewer: WebSocket | undefined;
  let messages: Message[] = [];
  beforeAll(async () => {
    inspector = await startInspector({ host: '127.0.0.1', port: await freePort(), log: silentLogger });
    const connected = await connect(wsUrl(inspector));
    viewer = connected.ws;
    messages = connected.messages;
    stack = await startStack({
      inspector,
      agent: dentalFlow,
      simulators: { llm: { script: dentalFlowModel } },
    });
    await call(stack, [{ waitForAgent: 'reply' }, { say: 'Lovelace, born 1815-12-10.' }, { waitForAgent: 'reply' }, { hangup: true }]);
    await eventually(() => messages.some((m) => m.type === '@xstate.event' && m.event?.type === 'TRANSPORT.STOP'), 'call events relayed');
  });
  afterAll(async () => {
    viewer?.close();
    await stack?.close();
    inspector?.stop();
  });

  const flowActor = (): Message | undefined => messages.find((m) => m.type === '@xstate.actor' && m.name === 'flow');

  it('registers the flow child under the call, drawn with its steps, in its initial step', () => {
    const callActor = messages.find((m) => m.type === '@xstate.actor' && m.sessionId !== undefined && m.sessionId === m.rootId);
    const flow = flowActor();
    expect(callActor).toBeDefined();
    expect(flow).toBeDefined();
    expect(flow?.parentId).toBe(callActor?.sessionId);
    expect(flow?.rootId).toBe(callActor?.sessionId);
    // The inspector draws the child from its definition: the flow's own steps, not an empty box.
    const definition = JSON.parse(flow?.definition ?? '{}') as { id?: string; initial?: string; states?: Record<string, unknown> };
    expect(definition).toMatchObject({ id: 'flow', initial: 'identify' });
    expect(Object.keys(definition.states ?? {}).sort()).toEqual(['booking', 'done', 'identify', 'transfer']);
    expect(flow?.snapshot?.value).toBe('identify');
  });

  it('shows the step change as a snapshot update of the flow child', () => {
    const flow = flowActor();
    const updates = messages.filter((m) => m.type === '@xstate.snapshot' && m.sessionId === flow?.sessionId);
    expect(updates.map((m) => [m.event?.type, m.snapshot?.value])).toContainEqual(['VERIFIED', 'booking']);
    // and the call machine heard of it from its child
    const reported = messages.find((m) => m.type === '@xstate.event' && m.event?.type === 'FLOW.STEP' && (m as { sourceId?: string }).sourceId === flow?.sessionId);
    expect(reported).toBeDefined();
  });
});
