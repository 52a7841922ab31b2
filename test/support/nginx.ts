/**
 * Runs the reference deploy/nginx.conf for tests: unprivileged-style (its own prefix directory, pid and logs in it),
 * on a free port, in front of instances on loopback ports. The proxy logic is the committed file's, unchanged; only
 * the listen port and the instance list (nginx-instances.conf, same server parameters) are the test's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../bench/server-process.js';

export { freePort };

/** Debian's nginx (here, not in externals.ts, so that the bench can start nginx outside vitest). */
export const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const DEPLOY_DIR = path.resolve(import.meta.dirname, '../../deploy');
export const NGINX_CONF = path.join(DEPLOY_DIR, 'nginx.conf');
export const NGINX_INSTANCES_CONF = path.join(DEPLOY_DIR, 'nginx-instances.conf');
/** The port deploy/nginx.conf listens on (docker-compose publishes it). */
export const NGINX_LISTEN_PORT = 8080;

/** The `server` parameters of the committed instance list (max_fails=… fail_timeout=…), kept for the test's list. */
function serverParameters(): string {
  const line = fs
    .readFileSync(NGINX_INSTANCES_CONF, 'utf8')
    .split('\n')
    .find((l) => /^\s*server\s/.test(l));
  const m = line === undefined ? null : /^\s*server\s+\S+\s*(.*?);/.exec(line);
  if (m === null) throw new Error(`no server line in ${NGINX_INSTANCES_CONF}`);
  return m[1] ?? '';
}

/** Writes nginx.conf (listening on `listenPort`) and nginx-instances.conf (127.0.0.1:port each) into `dir`. */
export function writeNginxConf(dir: string, listenPort: number, instancePorts: readonly number[]): string {
  const conf = fs.readFileSync(NGINX_CONF, 'utf8');
  const listen = `listen ${NGINX_LISTEN_PORT};`;
  if (conf.split(listen).length !== 2) throw new Error(`expected exactly one "${listen}" in ${NGINX_CONF}`);
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf.replace(listen, `listen 127.0.0.1:${listenPort};`));
  const params = serverParameters();
  const servers = instancePorts.map((port) => `server 127.0.0.1:${port} ${params};\n`).join('');
  fs.writeFileSync(path.join(dir, 'nginx-instances.conf'), servers);
  return file;
}

/** Main-context directives for an nginx that runs in the foreground with everything under `dir`. */
function globalDirectives(dir: string): string {
  return `daemon off; pid ${path.join(dir, 'nginx.pid')}; error_log ${path.join(dir, 'error.log')} warn;`;
}

function makePrefix(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-test-'));
  // Run as root, nginx's workers drop to `nobody`: they must be able to reach the temp directories under the prefix.
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** `nginx -t` on the deploy configuration rendered for these ports; resolves with nginx's output, rejects on error. */
export async function testNginxConf(instancePorts: readonly number[]): Promise<string> {
  const dir = makePrefix();
  try {
    const conf = writeNginxConf(dir, await freePort(), instancePorts);
    // nginx opens the access log (/dev/stdout) even for -t: give it a file, as a container runtime gives it a pipe.
    const out = fs.openSync(path.join(dir, 'access.log'), 'a');
    const child = spawn(NGINX_PATH, ['-t', '-p', `${dir}/`, '-c', conf, '-g', globalDirectives(dir)], { stdio: ['ignore', out, 'pipe'] });
    fs.closeSync(out);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`nginx -t failed (${code}): ${stderr.trim()}`);
    return stderr;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunningNginx {
  readonly port: number;
  readonly url: string;
  /** The prefix directory (nginx.conf, nginx-instances.conf, error.log, access.log). */
  readonly dir: string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, errorLog: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${readIfExists(errorLog)}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${readIfExists(errorLog)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readIfExists(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '(no error log)';
}

/** Starts nginx with deploy/nginx.conf in front of the instances on `instancePorts`. */
export async function startNginx(instancePorts: readonly number[]): Promise<RunningNginx> {
  const dir = makePrefix();
  const port = await freePort();
  const conf = writeNginxConf(dir, port, instancePorts);
  // The access log goes to nginx's stdout (/dev/stdout), which must be a file or a pipe: Node's 'pipe' is a socket,
  // which /dev/stdout cannot be opened on. <dir>/access.log it is.
  const out = fs.openSync(path.join(dir, 'access.log'), 'a');
  const child = spawn(NGINX_PATH, ['-p', `${dir}/`, '-c', conf, '-g', globalDirectives(dir)], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, path.join(dir, 'error.log'));
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    async stop() {
      // SIGTERM = nginx's fast shutdown: open WebSockets are closed, not waited for.
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
