/**
 * A small local orders API for the example front-desk agent (`agents/front-desk.ts`): `GET /orders/:number` answers
 * the order as JSON, or 404. It stands in for a business's own backend in the offline world.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Order = { number: string; item: string; status: string; eta: string | null };

export const SAMPLE_ORDERS: readonly Order[] = [
  { number: '4271', item: 'a pasta maker', status: 'on its way', eta: 'Thursday' },
  { number: '1234', item: 'two espresso cups', status: 'being packed', eta: 'next Monday' },
  { number: '9876', item: 'a chef knife', status: 'already delivered', eta: null },
];

export interface OrdersApi {
  readonly url: string;
  /** Requests answered so far (tests check the tool really called it). */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startOrdersApi(opts: { port?: number; delayMs?: number } = {}): Promise<OrdersApi> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const match = /^\/orders\/([^/?]+)$/.exec(req.url ?? '');
    requests.push(req.url ?? '');
    const answer = (): void => {
      const order = match ? SAMPLE_ORDERS.find((o) => o.number === decodeURIComponent(match[1] ?? '')) : undefined;
      res.writeHead(order ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(order ?? { error: 'no such order' }));
    };
    if (opts.delayMs) setTimeout(answer, opts.delayMs);
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
