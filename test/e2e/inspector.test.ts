/** INSPECT: every live call machine and its children reach the Stately inspector's local relay. */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { WebSocket } from 'ws';
import { call, eventually, startStack, type E2eStack } from './harness.js';
import { startInspector, type CallInspector } from '../../src/server/inspector.js';
import { silentLogger } from '../../lib/logger.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('Stately inspector', () => {
  let stack: E2eStack | undefined;
  let inspector: CallInspector | undefined;
  let viewer: WebSocket | undefined;
  afterEach(async () => {
    viewer?.close();
    await stack?.close();
    inspector?.stop();
  });

  it('receives the call machine, its children and its events', async () => {
    const port = await freePort();
    inspector = startInspector(port, silentLogger);
    // A viewer, as the browser page would be: the relay forwards what the app's WebSocket inspector sends.
    const messages: Array<{ type?: string; event?: { type?: string }; actorRef?: { id?: string } }> = [];
    await eventually(() => {
      if (viewer === undefined || viewer.readyState === WebSocket.CLOSED) {
        viewer = new WebSocket(`ws://127.0.0.1:${port}`);
        viewer.on('error', () => undefined);
        viewer.on('message', (data) => messages.push(JSON.parse(String(data)) as (typeof messages)[number]));
      }
      return viewer.readyState === WebSocket.OPEN;
    }, 'inspector relay up');
    stack = await startStack({ inspector });
    await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    await eventually(() => messages.some((m) => m.type === '@xstate.event' && m.event?.type === 'TRANSPORT.STOP'), 'call events relayed');
    const types = new Set(messages.map((m) => m.type));
    expect(types).toContain('@xstate.actor');
    expect(types).toContain('@xstate.snapshot');
    const events = new Set(messages.filter((m) => m.type === '@xstate.event').map((m) => m.event?.type));
    for (const type of ['TRANSPORT.START', 'STT.FINAL', 'LLM.TEXT', 'LLM.DONE', 'TRANSPORT.MARK']) expect(events).toContain(type);
    // Audio never goes through XState, so no per-frame events flood the inspector.
    expect(messages.length).toBeLessThan(1000);
  });
});
