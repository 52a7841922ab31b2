/**
 * A cluster as in production, for the cluster tests: N instances as separate OS processes running the built JS
 * (`node dist/src/cli/main.js`), behind nginx started here with a generated config on free ports, sharing one Redis
 * (a random key prefix) and one set of provider simulators (in this process; the instances use real provider
 * clients pointed at them, as the bench does).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startOfflineSimulators } from '../../src/harness/offline-simulators.js';
import { NGINX_PATH, REDIS_URL } from '../support/externals.js';

const root = path.resolve(import.meta.dirname, '../..');
export const CLUSTER_AUTH_TOKEN = 'cluster-test-auth-token';

export interface Instance {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  process: ChildProcess;
  logs: string[];
}

export interface Cluster {
  /** nginx: where Twilio (the simulated caller) and consoles reach the service. */
  readonly url: string;
  readonly instances: Instance[];
  readonly prefix: string;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Compiles the production build (incremental) so the instances run today's code. */
export function buildServer(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

function nginxConfig(dir: string, port: number, upstreams: readonly number[]): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream voice { ${upstreams.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(' ')} }
  server {
    listen 127.0.0.1:${port};
    location /media {
      proxy_pass http://voice;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Twilio-Signature $http_x_twilio_signature;
      proxy_read_timeout 3600s;
      proxy_buffering off;
    }
    location / {
      proxy_pass http://voice;
      proxy_http_version 1.1;
      proxy_set_header Connection '';
      proxy_buffering off;
      proxy_next_upstream error timeout http_503 non_idempotent;
    }
  }
}
`;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startCluster(n: number, env: Record<string, string> = {}): Promise<Cluster> {
  const sims = await startOfflineSimulators();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'voice-cluster-'));
  const prefix = `cluster:${randomBytes(6).toString('hex')}:`;
  const nginxPort = await freePort();
  const url = `http://127.0.0.1:${nginxPort}`;
  const instances: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const id = `inst-${i + 1}`;
    const child = spawn(process.execPath, ['dist/src/cli/main.js'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
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
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance: Instance = { id, port, url: `http://127.0.0.1:${port}`, process: child, logs: [] };
    child.stdout?.on('data', (d: Buffer) => instance.logs.push(...d.toString('utf8').split('\n').filter(Boolean)));
    child.stderr?.on('data', (d: Buffer) => instance.logs.push(...d.toString('utf8').split('\n').filter(Boolean)));
    instances.push(instance);
  }
  await Promise.all(instances.map((i) => waitFor(async () => (await fetch(`${i.url}/readyz`)).status === 200, `${i.id} ready`)));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, instances.map((i) => i.port)));
  const nginx = spawn(NGINX_PATH, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 'nginx');
  return {
    url,
    instances,
    prefix,
    async close() {
      nginx.kill('SIGTERM');
      await Promise.all(
        instances.map(
          (i) =>
            new Promise<void>((resolve) => {
              if (i.process.exitCode !== null || i.process.signalCode !== null) return resolve();
              i.process.once('exit', () => resolve());
              i.process.kill('SIGKILL');
            }),
        ),
      );
      await Promise.all([sims.deepgram.close(), sims.llm.close(), sims.orders.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
