/**
 * A minimal OTLP/HTTP trace receiver on loopback (`POST /v1/traces`): keeps what JSON exports carry (span names,
 * attributes and events, resource service names), answers protobuf exports with an empty success. Tests use it as the
 * collector; `npx tsx test/support/otlp-receiver.ts [port]` runs it on its own (the tracing overhead bench points
 * OTEL_EXPORTER_OTLP_ENDPOINT at it) and prints the spans received per second.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value: AnyValue };
type JsonSpan = { name: string; attributes?: KeyValue[]; events?: Array<{ name: string; attributes?: KeyValue[] }> };
type ExportRequest = { resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: JsonSpan[] }> }> };

export interface ReceivedSpan {
  name: string;
  attributes: Record<string, unknown>;
  /** The span's events, in the order the span had them. */
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
}

export interface OtlpReceiver {
  /** The base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly url: string;
  spans(): ReceivedSpan[];
  serviceNames(): string[];
  contentTypes(): string[];
  /** Spans in protobuf exports are counted by request only. */
  requests(): number;
  close(): Promise<void>;
}

function valueOf(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

const toRecord = (kvs: KeyValue[] = []): Record<string, unknown> => Object.fromEntries(kvs.map((kv) => [kv.key, valueOf(kv.value)]));

export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const services = new Set<string>();
  const types = new Set<string>();
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      requests++;
      const type = (req.headers['content-type'] ?? '').split(';')[0] ?? '';
      types.add(type);
      if (type === 'application/json') {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
          for (const rs of body.resourceSpans ?? []) {
            const name = toRecord(rs.resource?.attributes)['service.name'];
            if (typeof name === 'string') services.add(name);
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? []) {
                const events = (s.events ?? []).map((e) => ({ name: e.name, attributes: toRecord(e.attributes) }));
                spans.push({ name: s.name, attributes: toRecord(s.attributes), events });
              }
            }
          }
        } catch {
          return void res.writeHead(400).end();
        }
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(); // an empty ExportTraceServiceResponse
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => [...spans],
    serviceNames: () => [...services],
    contentTypes: () => [...types],
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const receiver = await startOtlpReceiver(Number(process.argv[2] ?? 4318));
  process.stdout.write(`OTLP/HTTP receiver on ${receiver.url} (OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url})\n`);
  let last = 0;
  setInterval(() => {
    const n = receiver.requests();
    if (n !== last) process.stdout.write(`${n} export requests\n`);
    last = n;
  }, 5000).unref();
  process.on('SIGINT', () => void receiver.close().then(() => process.exit(0)));
}
