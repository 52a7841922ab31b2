/**
 * A fresh PostgreSQL database per test file on the machine's server (`POSTGRES_URL`): `CREATE DATABASE
 * vco_test_<random>`, dropped (connections forced off) when the file is done.
 */
import net from 'node:net';
import pg from 'pg';
import { freePort } from '../../bench/server-process.js';
import { POSTGRES_URL } from './externals.js';
import { createScratchDatabase } from './scratch-database.js';

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs SQL as the superuser against the test database. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const db = await createScratchDatabase(POSTGRES_URL, 'vco_test');
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', () => undefined);
  return {
    url: db.url,
    name: db.name,
    query: (sql, params) => pool.query(sql, params),
    async drop() {
      await pool.end();
      await db.drop();
    },
  };
}

export { freePort };

/** A TCP forwarder on `port` to the real server: before it starts the port is closed (connection refused). */
export function startProxy(port: number, targetPort: number): Promise<net.Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

