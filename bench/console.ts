/**
 * `npm run bench:console` — what an open console costs the calls. 50 concurrent simulated calls (3 turns each) on the
 * offline stack in one process, with no console client and with one connected to the live feed, alternating
 * (A B A B …) so drift hits both alike. Reports the server's turn latency (end of the caller's speech → first reply
 * audio sent) p50/p95, process CPU per turn (server and simulators: only the difference means something), and the
 * feed's message sizes (median/p99/max of the diffs, the snapshot).
 *
 *   npm run bench:console -- [--calls 50] [--rounds 2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOfflineStack, type OfflineStack } from '../src/harness/offline-stack.js';
import { placeSimulatedCall } from '../offline/twilio-caller.js';
import type { ScriptStep } from '../offline/twilio-caller-types.js';
import type { CallEmitted } from '../machines/emitted.js';
import { loadAgent } from '../src/agent/agent-loader.js';
import { percentileSorted, summarize } from './stats.js';

const PASSWORD = 'bench-console-password-of-32-chars';
const SCRIPT: readonly ScriptStep[] = [
  { waitForAgent: 'reply' },
  { say: 'Hi, what are your opening hours?' },
  { waitForAgent: 'reply' },
  { say: 'Where is my order 4271?' },
  { waitForAgent: 'reply' },
  { say: 'Thanks, bye!' },
  { waitForAgent: 'reply' },
];

interface RunResult {
  console: boolean;
  turnsMs: number[];
  cpuMsPerTurn: number;
  frameSizes: number[];
  /** The snapshot a console joining mid-run got (every call in progress). */
  snapshotBytes: number | null;
  failed: number;
}

function argNumber(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const v = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** An SSE reader on /console/api/live: the size of every frame, the first being the snapshot. */
async function openConsole(url: string): Promise<{ frames: number[]; close: () => void }> {
  const login = await fetch(`${url}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const abort = new AbortController();
  const res = await fetch(`${url}/console/api/live`, { headers: { Cookie: cookie }, signal: abort.signal });
  const frames: number[] = [];
  const body = res.body;
  if (body === null) throw new Error('no live stream');
  void (async () => {
    let pending = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        pending += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const frame = pending.slice(0, end + 2);
          pending = pending.slice(end + 2);
          if (frame.startsWith('data: ')) frames.push(Buffer.byteLength(frame));
        }
      }
    } catch {
      // aborted at the end of the run
    }
  })();
  return { frames, close: () => abort.abort() };
}

async function runOnce(stack: OfflineStack, turns: number[], calls: number, withConsole: boolean): Promise<RunResult> {
  const reader = withConsole ? await openConsole(stack.server.localUrl) : undefined;
  const first = turns.length;
  const cpu = process.cpuUsage();
  const placed = Array.from({ length: calls }, (_, i) =>
    new Promise<void>((r) => setTimeout(r, (i * 2000) / calls)).then(
      () =>
        placeSimulatedCall({
          serverUrl: stack.server.localUrl,
          authToken: stack.config.twilioAuthToken,
          from: `+1555020${String(1000 + i)}`,
          script: SCRIPT,
          maxDurationMs: 60_000,
        }).done,
    ),
  );
  // A second console joining mid-run: the snapshot of every call in progress.
  const joined = withConsole
    ? new Promise<number | null>((resolve) =>
        setTimeout(async () => {
          const late = await openConsole(stack.server.localUrl);
          setTimeout(() => {
            late.close();
            resolve(late.frames[0] ?? null);
          }, 200);
        }, 4000),
      )
    : Promise.resolve(null);
  const records = await Promise.all(placed);
  const midRunSnapshot = await joined;
  const used = process.cpuUsage(cpu);
  reader?.close();
  const turnsMs = turns.slice(first);
  return {
    console: withConsole,
    turnsMs,
    cpuMsPerTurn: (used.user + used.system) / 1000 / Math.max(1, turnsMs.length),
    frameSizes: reader?.frames.slice(1) ?? [],
    snapshotBytes: midRunSnapshot,
    failed: records.filter((r) => r.endedBy !== 'server' || r.errors.length > 0).length,
  };
}

async function main(): Promise<void> {
  const calls = argNumber('--calls', 50);
  const rounds = argNumber('--rounds', 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-console-'));
  const turns: number[] = [];
  const onCallEvent = (e: CallEmitted): void => {
    if (e.type !== 'call.turn' || e.interrupted) return;
    const t = e.timestamps;
    if (t.userSpeechEndAt !== null && t.firstAudioToTwilioAt !== null) turns.push(t.firstAudioToTwilioAt - t.userSpeechEndAt);
  };
  const stack = await startOfflineStack({
    env: { CONSOLE_PASSWORD: PASSWORD, CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, 'calls.db'), LOG_LEVEL: 'error' },
    agent: await loadAgent(),
    onCallEvent,
  });
  const results: RunResult[] = [];
  try {
    console.log(`warm-up: ${Math.min(10, calls)} calls`);
    await runOnce(stack, turns, Math.min(10, calls), false);
    for (let round = 0; round < rounds; round++) {
      for (const withConsole of [false, true]) {
        const r = await runOnce(stack, turns, calls, withConsole);
        results.push(r);
        console.log(`round ${round + 1}, console ${withConsole ? 'open' : 'closed'}: ${r.turnsMs.length} turns, failed calls ${r.failed}`);
      }
    }
  } finally {
    await stack.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report(calls, results);
}

function report(calls: number, results: RunResult[]): void {
  const pick = (open: boolean) => results.filter((r) => r.console === open);
  const row = (open: boolean): string => {
    const rs = pick(open);
    const lat = summarize(rs.flatMap((r) => r.turnsMs));
    const cpu = rs.reduce((a, r) => a + r.cpuMsPerTurn, 0) / Math.max(1, rs.length);
    const failed = rs.reduce((a, r) => a + r.failed, 0);
    return `| ${open ? 'one console open' : 'no console'} | ${lat.n} | ${lat.p50?.toFixed(1)} | ${lat.p95?.toFixed(1)} | ${cpu.toFixed(2)} | ${failed} |`;
  };
  console.log(`\n${calls} concurrent calls, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`);
  console.log('| | turns | turn latency p50 (ms) | p95 (ms) | CPU per turn (ms, whole process) | failed calls |');
  console.log('|---|---|---|---|---|---|');
  console.log(row(false));
  console.log(row(true));
  const sizes = pick(true).flatMap((r) => r.frameSizes).sort((a, b) => a - b);
  const snapshot = Math.max(0, ...pick(true).map((r) => r.snapshotBytes ?? 0));
  const perCall = sizes.length / Math.max(1, pick(true).length * calls);
  console.log(
    `\nFeed: ${sizes.length} updates (${perCall.toFixed(1)} per call), size median ${percentileSorted(sizes, 50)} B, ` +
      `p99 ${percentileSorted(sizes, 99)} B, max ${sizes.at(-1)} B; snapshot for a console joining mid-run ${snapshot} B.`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
