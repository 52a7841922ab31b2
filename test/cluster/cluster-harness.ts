/**
 * A cluster as in production, for the cluster tests: N instances as separate OS processes running the built JS
 * (`node dist/src/cli/main.js`), behind nginx running the committed deploy/nginx.conf (test/support/nginx.ts: free
 * ports, the instance list rewritten), sharing one Redis (a random key prefix), optionally one fresh PostgreSQL
 * database, and one set of provider simulators in this process at the tests' speed (the instances use real provider
 * clients pointed at them, as the bench does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startOfflineSimulators } from '../../src/harness/offline-simulators.js';
import { REDIS_URL } from '../support/externals.js';
import { freePort, startNginx, type RunningNginx } from '../support/nginx.js';
import type { SimulatorOptions } from '../../src/server/providers.js';

const root = path.resolve(import.meta.dirname, '../..');
export const CLUSTER_AUTH_TOKEN = 'cluster-test-auth-token';
export { freePort };

export interface Instance {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** stdout + stderr lines (LOG_FORMAT=json). */
  readonly logs: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

export interface Cluster {
  /** nginx: where Twilio (the simulated caller) and consoles reach the service. */
  readonly url: string;
  /** The instances now behind nginx, by slot (a restart replaces a slot's instance on the same port). */
  readonly instances: Instance[];
  readonly prefix: string;
  readonly nginx: RunningNginx;
  /** Starts a new instance on slot `slot`'s port (the old one must have exited); resolves when its /readyz is 200. */
  restart(slot: number): Promise<Instance>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Environment of every instance, over the harness's. */
  env?: Record<string, string>;
  simulators?: SimulatorOptions;
}

export async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON log lines of an instance (LOG_FORMAT=json), parsed; lines that are not JSON are skipped. */
export function logLines(instance: Instance): { message?: string; callSid?: string; [k: string]: unknown }[] {
  return instance.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as { message?: string }];
    } catch {
      return [];
    }
  });
}

export async function metric(instance: Instance, name: string): Promise<number> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

export async function startCluster(n: number, opts: ClusterOptions = {}): Promise<Cluster> {
  const sims = await startOfflineSimulators(opts.simulators);
  const prefix = `cluster:${randomBytes(6).toString('hex')}:`;
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  // nginx first: its port is every instance's PUBLIC_URL (Twilio's signatures are over the public address).
  const nginx = await startNginx(ports);
  let generation = 0;
  const launch = async (port: number): Promise<Instance> => {
    generation++;
    const id = `inst-${generation}`;
    const child = spawn(process.execPath, ['dist/src/cli/main.js'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: nginx.url,
        TRUST_PROXY: '1',
        TWILIO_AUTH_TOKEN: CLUSTER_AUTH_TOKEN,
        DEEPGRAM_API_KEY: 'cluster-deepgram-key',
        DEEPGRAM_BASE_URL: sims.deepgram.url,
        OPENAI_API_KEY: 'cluster-openai-key',
        OPENAI_BASE_URL: sims.llm.openaiBaseUrl,
        ORDERS_API_URL: sims.orders.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        INSTANCE_ID: id,
        CALL_RECORDS: 'off',
        LOG_FORMAT: 'json',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: string[] = [];
    const keep = (d: Buffer) => logs.push(...d.toString('utf8').split('\n').filter(Boolean));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const instance: Instance = { id, port, url: `http://127.0.0.1:${port}`, process: child, logs, exited };
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(async () => {
      if (gone) throw new Error(`${id} exited at start:\n${logs.slice(-20).join('\n')}`);
      return (await fetch(`${instance.url}/readyz`)).status === 200;
    }, `${id} ready`, 30_000).catch((err: unknown) => {
      if (gone) throw new Error(`${id} exited at start:\n${logs.slice(-20).join('\n')}`);
      throw err;
    });
    return instance;
  };
  const instances: Instance[] = [];
  try {
    // One at a time: N processes compiling their agent with tsx together only slow each other down.
    for (const port of ports) instances.push(await launch(port));
  } catch (err) {
    for (const i of instances) i.process.kill('SIGKILL');
    await nginx.stop();
    throw err;
  }
  return {
    url: nginx.url,
    instances,
    prefix,
    nginx,
    async restart(slot) {
      const old = instances[slot];
      if (old === undefined) throw new Error(`no slot ${slot}`);
      if (old.process.exitCode === null && old.process.signalCode === null) throw new Error(`${old.id} is still running`);
      const fresh = await launch(old.port);
      instances[slot] = fresh;
      return fresh;
    },
    async close() {
      await nginx.stop();
      await Promise.all(
        instances.map(async (i) => {
          if (i.process.exitCode === null && i.process.signalCode === null) i.process.kill('SIGKILL');
          await i.exited;
        }),
      );
      await Promise.all([sims.deepgram.close(), sims.llm.close(), sims.orders.close()]);
    },
  };
}
