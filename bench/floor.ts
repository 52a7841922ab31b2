/**
 * Two floors the server is measured against:
 *
 * - `npm run bench -- --floor` runs `bench/floor.ts --serve`: the bare orchestrator (floor-orchestrator.ts), the same
 *   turn with no framework, through the same bench as the server, in the same run.
 * - `npx tsx bench/floor.ts [calls]` — the CPU floor of the server's per-frame work on this machine: a bare process
 * that receives N Twilio-like media streams (50 JSON text frames per second each, on `ws`, phases spread like the
 * bench's callers) and forwards each decoded payload as a binary `ws` frame to a sink — what any Twilio→Deepgram
 * relay in Node must do, with no call logic at all. Compare its ms per call-second with the bench's.
 *
 * Modes, for the breakdown: receive and drop · receive + JSON.parse + base64 decode · all that + forward.
 */
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FRAME_BYTES, FRAME_MS } from '../lib/mulaw.js';
import { startFloor } from './floor-orchestrator.js';

type Mode = 'drop' | 'parse' | 'forward';
const MODES: Mode[] = ['drop', 'parse', 'forward'];

async function relay(sinkPort: number, mode: Mode): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    const out = new WebSocket(`ws://127.0.0.1:${sinkPort}`, { perMessageDeflate: false });
    out.on('error', () => undefined);
    ws.on('message', (data: RawData) => {
      if (mode === 'drop') return;
      const msg = JSON.parse(data.toString()) as { media?: { payload?: string } };
      const audio = Buffer.from(msg.media?.payload ?? '', 'base64');
      if (mode === 'forward' && out.readyState === WebSocket.OPEN) out.send(audio);
    });
  });
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send?.({ cpuUs: u.user + u.system, port: (wss.address() as AddressInfo).port });
  });
  process.send?.({ cpuUs: 0, port: (wss.address() as AddressInfo).port });
}

async function measure(calls: number, mode: Mode, seconds: number): Promise<number> {
  const sink = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => sink.once('listening', () => r()));
  sink.on('connection', (ws) => ws.on('message', () => undefined));
  const child = fork(fileURLToPath(import.meta.url), ['--relay', String((sink.address() as AddressInfo).port), mode], { execArgv: ['--import', 'tsx'] });
  const ask = (): Promise<{ cpuUs: number; port: number }> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as { cpuUs: number; port: number }));
      child.send('cpu');
    });
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number })));
  const clients: WebSocket[] = [];
  for (let i = 0; i < calls; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    clients.push(ws);
  }
  const payload = Buffer.alloc(FRAME_BYTES, 0xff).toString('base64');
  const phases = 10;
  const timers: NodeJS.Timeout[] = [];
  let seq = 0;
  for (let p = 0; p < phases; p++) {
    await new Promise((r) => setTimeout(r, FRAME_MS / phases));
    timers.push(
      setInterval(() => {
        for (let i = p; i < calls; i += phases) {
          seq++;
          clients[i]?.send(
            `{"event":"media","sequenceNumber":"${seq}","media":{"track":"inbound","chunk":"${seq}","timestamp":"${seq * FRAME_MS}","payload":"${payload}"},"streamSid":"MZ0123456789abcdef0123456789abcdef"}`,
          );
        }
      }, FRAME_MS),
    );
  }
  await new Promise((r) => setTimeout(r, 2000));
  const a = await ask();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = await ask();
  const callSeconds = (calls * (performance.now() - t0)) / 1000;
  for (const t of timers) clearInterval(t);
  for (const c of clients) c.terminate();
  child.kill();
  sink.close();
  return (b.cpuUs - a.cpuUs) / 1000 / callSeconds;
}

if (process.argv[2] === '--serve') {
  startFloor();
} else if (process.argv[2] === '--relay') {
  void relay(Number(process.argv[3]), (process.argv[4] ?? 'forward') as Mode);
} else {
  const calls = Number(process.argv[2] ?? 150);
  for (const mode of MODES) {
    const ms = await measure(calls, mode, 5);
    process.stdout.write(`${mode.padEnd(8)} ${calls} streams: ${ms.toFixed(2)} ms CPU per call-second (${((ms * 1000) / (1000 / FRAME_MS)).toFixed(1)} µs per frame)\n`);
  }
  process.exit(0);
}
