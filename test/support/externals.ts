/**
 * What some tests need from outside npm (Debian's Chromium and nginx, a PostgreSQL and a Redis server on loopback),
 * probed once per run in globalSetup and handed to the test files with vitest's provide/inject.
 *
 * On a machine without one, the tests that need it skip, and the run prints ONE line naming what is missing and how
 * to get it. In CI (`CI=true`) nothing may be silently untested: a missing external fails the run at setup.
 */
import fs from 'node:fs';
import net from 'node:net';
import { inject } from 'vitest';
import { NGINX_PATH } from './nginx.js';

export type ExternalName = 'chromium' | 'nginx' | 'postgres' | 'redis';
export type Externals = Record<ExternalName, boolean>;

declare module 'vitest' {
  export interface ProvidedContext {
    externals: Externals;
  }
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export { NGINX_PATH };
/** The machine's services (tests create their own databases / key prefixes on them). */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const HOW_TO_GET: Record<ExternalName, string> = {
  chromium: 'apt-get install chromium',
  nginx: 'apt-get install nginx',
  postgres: 'a PostgreSQL server on 127.0.0.1:5432 (apt-get install postgresql), or TEST_POSTGRES_URL',
  redis: 'a Redis server on 127.0.0.1:6379 (apt-get install redis-server), or TEST_REDIS_URL',
};

function portOpen(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function probeExternals(): Promise<Externals> {
  const [postgres, redis] = await Promise.all([portOpen(POSTGRES_URL, 5432), portOpen(REDIS_URL, 6379)]);
  return { chromium: fs.existsSync(CHROMIUM_PATH), nginx: fs.existsSync(NGINX_PATH), postgres, redis };
}

/** The one notice line (undefined when everything is there). */
export function missingNotice(found: Externals): string | undefined {
  const missing = (Object.keys(found) as ExternalName[]).filter((name) => !found[name]);
  if (missing.length === 0) return undefined;
  return `skipping the tests that need ${missing.map((name) => `${name} (${HOW_TO_GET[name]})`).join(', ')}`;
}

/** In a test file: `describe.skipIf(!has('redis'))(…)`. */
export function has(name: ExternalName): boolean {
  return inject('externals')[name];
}
