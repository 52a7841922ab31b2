/**
 * The server under the per-call budget test, alone in its own process (`node --expose-gc --import tsx`): the real
 * server as `npm start` builds it (the bundled agent, call records on), its providers pointed at the simulators that
 * run in the test's process. So every timer, socket and byte of heap this process holds belongs to the server.
 * Answers the test's questions over IPC; see per-call.test.ts.
 */
import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { writeHeapSnapshot } from 'node:v8';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InspectionEvent } from 'xstate';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../lib/logger.js';
import { createMetrics } from '../../src/server/metrics.js';
import { createProviders } from '../../src/server/providers.js';
import { startServer } from '../../src/server/server.js';
import { loadAgent } from '../../src/agent/agent-loader.js';
import type { ProbeMemory, ProbeReply, ProbeRequest, ProbeSample } from './probe-protocol.js';

// Every ESM module loaded from here on is reported; CommonJS modules show up in the require cache.
const loaded: string[] = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url: string) => loaded.push(url));
port1.unref();
register('./module-hooks.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
const requireCache = createRequire(import.meta.url).cache;
let modulesMark = 0;
let cjsMark = new Set<string>();

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('the budget probe needs node --expose-gc');

// Events each call's root actor received, by the root's session id.
const rootEvents = new Map<string, number>();
const counter = {
  url: '',
  inspect: (e: InspectionEvent) => {
    if (e.type === '@xstate.event' && e.actorRef.sessionId === e.rootId && e.event.type !== 'xstate.init') {
      rootEvents.set(e.rootId, (rootEvents.get(e.rootId) ?? 0) + 1);
    }
  },
  stop: () => undefined,
};

const config = loadConfig(process.env);
const log = createLogger({ level: 'warn', format: 'json' });
const agent = await loadAgent(config.AGENT);
const metrics = createMetrics();
const providers = await createProviders(config, log, {}, metrics);
const server = await startServer({ config, log, metrics, providers, agent, inspector: counter });

/**
 * Bytes of the heap that hold data (objects, arrays, closures, strings…), from a heap snapshot: V8 keeps compiling
 * the call path for many calls (code, type feedback, inline caches), which heapUsed counts but is not per-call state.
 */
function dataHeapBytes(): number {
  const file = path.join(os.tmpdir(), `budget-probe-${process.pid}.heapsnapshot`);
  writeHeapSnapshot(file);
  try {
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
    const fields = snapshot.snapshot.meta.node_fields;
    const typeNames = snapshot.snapshot.meta.node_types[0] as string[];
    const typeAt = fields.indexOf('type');
    const sizeAt = fields.indexOf('self_size');
    let bytes = 0;
    const nameAt = fields.indexOf('name');
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      const type = typeNames[snapshot.nodes[i + typeAt] as number];
      if (type === undefined || !DATA_TYPES.has(type)) continue;
      // ArrayBuffers' backing stores (Buffers, audio) live outside the JS heap: counted in `external`, not here.
      if (type === 'native' && snapshot.strings[snapshot.nodes[i + nameAt] as number] === BACKING_STORE) continue;
      bytes += snapshot.nodes[i + sizeAt] as number;
    }
    return bytes;
  } finally {
    rmSync(file, { force: true });
  }
}

const BACKING_STORE = 'system / JSArrayBufferData';
const DATA_TYPES = new Set(['object', 'array', 'string', 'concatenated string', 'sliced string', 'closure', 'regexp', 'number', 'native', 'bigint', 'symbol']);

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

/** Two collections a turn apart: the second frees what the first made unreachable (weak refs, finalizers). */
async function collect(): Promise<void> {
  gc!();
  await new Promise((r) => setImmediate(r));
  gc!();
}

/** Memory outside the JS heap, after GC: cheap enough to sample while the calls are speaking. */
async function memory(): Promise<ProbeMemory> {
  await collect();
  const { external, arrayBuffers, rss } = process.memoryUsage();
  return { external, arrayBuffers, rss, activeCalls: server.activeCalls() };
}

async function sample(): Promise<ProbeSample> {
  await collect();
  const resources = process.getActiveResourcesInfo();
  const count = (kind: string): number => resources.filter((r) => r === kind).length;
  // Let the loader thread's reports arrive before reading them.
  await new Promise((r) => setTimeout(r, 50));
  const cjsNew = Object.keys(requireCache).filter((k) => !cjsMark.has(k));
  const usage = process.memoryUsage();
  return {
    heapUsed: usage.heapUsed,
    dataHeap: dataHeapBytes(),
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    rss: usage.rss,
    timers: count('Timeout'),
    sockets: count('TCPSocketWrap'),
    activeCalls: server.activeCalls(),
    modulesSinceMark: [...loaded.slice(modulesMark), ...cjsNew],
    rootEvents: [...rootEvents.values()],
  };
}

process.on('message', (request: ProbeRequest) => {
  void (async (): Promise<ProbeReply> => {
    switch (request.cmd) {
      case 'markModules':
        modulesMark = loaded.length;
        cjsMark = new Set(Object.keys(requireCache));
        rootEvents.clear();
        return { cmd: 'markModules' };
      case 'sample':
        return { cmd: 'sample', sample: await sample() };
      case 'memory':
        return { cmd: 'memory', memory: await memory() };
      case 'heapSnapshot':
        gc!();
        return { cmd: 'heapSnapshot', file: writeHeapSnapshot(request.file) };
      case 'stop':
        await server.drain(1000);
        await providers.close();
        return { cmd: 'stop' };
    }
  })().then((reply) => {
    process.send?.(reply);
    if (reply.cmd === 'stop') process.exit(0);
  });
});

process.send?.({ cmd: 'ready', url: server.localUrl, publicUrl: server.publicUrl } satisfies ProbeReply);
