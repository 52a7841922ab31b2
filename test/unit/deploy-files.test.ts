/**
 * deploy/: no Docker engine or cluster runs here, so the compose file and the Kubernetes manifests are parsed and held
 * against the code: ports, probes, variable names and grace periods must agree with what src/server/config.ts reads
 * and its defaults (loadConfig with the file's own literal values, so a value set in the file counts over a default).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/server/config.js';
import { createMetrics } from '../../src/server/metrics.js';

const root = path.resolve(import.meta.dirname, '../..');
const deploy = path.join(root, 'deploy');
const read = (file: string): string => fs.readFileSync(path.join(deploy, file), 'utf8');

/** What a proxy may need after the drain: the test's floor for every "drain + goodbye + margin" period. */
const MIN_MARGIN_S = 5;

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
function node(v: unknown, what: string): Node {
  if (!isNode(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}
function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}

/** YAML documents of a file, failing on any parse error or warning. */
function yamlDocs(file: string, opts: { merge?: boolean } = {}): Node[] {
  const docs = parseAllDocuments(read(file), { merge: opts.merge ?? false, uniqueKeys: true });
  return docs.map((doc) => {
    expect([...doc.errors, ...doc.warnings].map((e) => e.message), file).toEqual([]);
    return node(doc.toJS(), file);
  });
}

/** The config an instance gets from the file's literal values (unset = the default of src/server/config.ts). */
function effectiveConfig(env: Record<string, string>): Record<string, unknown> {
  return loadConfig(env) as unknown as Record<string, unknown>;
}
function numberSetting(config: Record<string, unknown>, name: string): number {
  const value = config[name];
  if (typeof value !== 'number') throw new Error(`src/server/config.ts has no numeric ${name} (got ${JSON.stringify(value)})`);
  return value;
}
const drainSeconds = (config: Record<string, unknown>): number =>
  (numberSetting(config, 'DRAIN_TIMEOUT_MS') + numberSetting(config, 'DRAIN_GOODBYE_MS')) / 1000;

/** Compose durations: `45s`, `1m30s`, `500ms`. */
function composeSeconds(value: unknown): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(String(value));
  if (m === null || String(value) === '') throw new Error(`not a compose duration: ${String(value)}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) + Number(m[4] ?? 0) / 1000;
}

/** `KEY: value` or `[KEY=value]` compose environment → literal string values. */
function composeEnv(service: Node): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e) => String(e).split(/=(.*)/s).slice(0, 2) as [string, string]));
  return Object.fromEntries(Object.entries(node(env, 'environment')).map(([k, v]) => [k, String(v)]));
}

/** The `listen` port of deploy/nginx.conf and the `server host:port` lines of nginx-instances.conf. */
const nginxConf = read('nginx.conf');
const nginxListenPort = Number(/^\s*listen\s+(\d+)\s*;/m.exec(nginxConf)?.[1]);
const nginxInstances = [...read('nginx-instances.conf').matchAll(/^\s*server\s+([\w.-]+):(\d+)\b/gm)].map((m) => ({ host: m[1] ?? '', port: Number(m[2]) }));

/** A directive's value inside `location = <path> { … }` of nginx.conf (no nested blocks in ours). */
function locationDirective(location: string, directive: string): string | undefined {
  const block = new RegExp(`location\\s*=\\s*${location.replace('/', '\\/')}\\s*\\{([^}]*)\\}`).exec(nginxConf)?.[1] ?? '';
  return new RegExp(`^\\s*${directive}\\s+([^;]+);`, 'm').exec(block)?.[1]?.trim();
}
/** nginx time: `3600s`, `1h`, `90m`, `30` (seconds). */
function nginxSeconds(value: string | undefined): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value ?? '');
  if (m === null) throw new Error(`not an nginx time: ${String(value)}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1);
}

describe('deploy/nginx.conf', () => {
  it('listens on one port and lists the instances in nginx-instances.conf', () => {
    expect(nginxListenPort).toBeGreaterThan(0);
    expect(nginxInstances.length).toBeGreaterThanOrEqual(2);
    expect(nginxConf).toMatch(/upstream\s+voice_instances\s*\{[^}]*include\s+nginx-instances\.conf;/);
  });

  it('keeps a media stream open at least as long as the longest call', () => {
    const longest = numberSetting(effectiveConfig({}), 'MAX_CALL_DURATION_MS') / 1000;
    expect(nginxSeconds(locationDirective('/media', 'proxy_read_timeout'))).toBeGreaterThanOrEqual(longest);
    expect(nginxSeconds(locationDirective('/media', 'proxy_send_timeout'))).toBeGreaterThanOrEqual(longest);
  });
});

describe('deploy/docker-compose.yml', () => {
  const [compose] = yamlDocs('docker-compose.yml', { merge: true });
  const services = node(compose?.services, 'services');
  const instances = Object.entries(services)
    .filter(([, s]) => isNode(s) && isNode(s.build))
    .map(([name, s]) => ({ name, service: node(s, name), env: composeEnv(node(s, name)) }));

  it('runs nginx, PostgreSQL, Redis and three instances built from the repository', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['nginx', 'postgres', 'redis']));
    expect(instances).toHaveLength(3);
    for (const { service } of instances) {
      const build = node(service.build, 'build');
      expect(fs.existsSync(path.join(deploy, String(build.context), String(build.dockerfile ?? 'Dockerfile')))).toBe(true);
    }
  });

  it('gives every instance only variables the configuration reads, valid as given', () => {
    for (const { name, env } of instances) {
      expect(Object.keys(env).filter((v) => !CONFIG_VARIABLES.includes(v)), name).toEqual([]);
      expect(() => loadConfig(env), name).not.toThrow();
    }
    const ids = instances.map((i) => i.env.INSTANCE_ID);
    expect(new Set(ids).size).toBe(instances.length);
  });

  it('points the instances at the compose PostgreSQL and Redis', () => {
    for (const { env } of instances) {
      expect(Object.keys(services)).toContain(new URL(env.DATABASE_URL ?? '').hostname);
      expect(Object.keys(services)).toContain(new URL(env.REDIS_URL ?? '').hostname);
    }
  });

  it('puts exactly the instances behind nginx, each at the port it listens on', () => {
    const expected = instances.map(({ name, env }) => ({ host: name, port: numberSetting(effectiveConfig(env), 'PORT') }));
    expect([...nginxInstances].sort((x, y) => x.host.localeCompare(y.host))).toEqual(expected.sort((x, y) => x.host.localeCompare(y.host)));
  });

  it('publishes nginx on its listen port, with nginx.conf and its instance list side by side', () => {
    const nginx = node(services.nginx, 'nginx');
    expect(list(nginx.ports, 'ports').map((p) => Number(String(p).split(':').at(-1)))).toContain(nginxListenPort);
    const mounts = list(nginx.volumes, 'volumes').map((v) => String(v).split(':'));
    const target = (file: string) => mounts.find(([source]) => source === `./${file}`)?.[1];
    expect(target('nginx.conf')).toBe('/etc/nginx/nginx.conf');
    // `include nginx-instances.conf` is relative to the directory of nginx.conf.
    expect(target('nginx-instances.conf')).toBe('/etc/nginx/nginx-instances.conf');
  });

  it('lets an instance drain before docker kills it', () => {
    for (const { name, service, env } of instances) {
      expect(composeSeconds(service.stop_grace_period), name).toBeGreaterThanOrEqual(drainSeconds(effectiveConfig(env)) + MIN_MARGIN_S);
    }
  });

  it('checks liveness on /healthz at the instance port, not readiness', () => {
    for (const { name, service, env } of instances) {
      const test = list(node(service.healthcheck, 'healthcheck').test, 'test').join(' ');
      expect(test, name).toContain(`:${numberSetting(effectiveConfig(env), 'PORT')}/healthz`);
    }
  });
});

describe('deploy/k8s', () => {
  const docs = fs
    .readdirSync(path.join(deploy, 'k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => yamlDocs(path.join('k8s', f)));
  const ofKind = (kind: string): Node => {
    const found = docs.filter((d) => d.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as Node;
  };
  const deployment = ofKind('Deployment');
  const podTemplate = node(node(deployment.spec, 'spec').template, 'template');
  const podSpec = node(podTemplate.spec, 'pod spec');
  const podLabels = node(node(podTemplate.metadata, 'metadata').labels, 'labels');
  const [container] = list(podSpec.containers, 'containers').map((c) => node(c, 'container'));
  const envList = list(container?.env, 'env').map((e) => node(e, 'env entry'));
  const literalEnv = Object.fromEntries(envList.filter((e) => typeof e.value === 'string').map((e) => [String(e.name), String(e.value)]));
  const config = effectiveConfig(literalEnv);
  const ports = list(container?.ports, 'ports').map((p) => node(p, 'port'));
  const portNumber = (port: unknown): number | undefined =>
    typeof port === 'number' ? port : (ports.find((p) => p.name === port)?.containerPort as number | undefined);

  it('exposes the port the server listens on', () => {
    expect(ports.map((p) => p.containerPort)).toContain(numberSetting(config, 'PORT'));
  });

  it('sets only variables the configuration reads, valid as given', () => {
    expect(envList.map((e) => String(e.name)).filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
    expect(() => loadConfig(literalEnv)).not.toThrow();
  });

  it('probes readiness on /readyz and liveness on /healthz, at the server port', () => {
    const probe = (name: string) => node(node(container?.[name], name).httpGet, `${name}.httpGet`);
    expect(probe('readinessProbe').path).toBe('/readyz');
    expect(probe('livenessProbe').path).toBe('/healthz');
    for (const name of ['readinessProbe', 'livenessProbe', 'startupProbe'])
      expect(portNumber(probe(name).port), name).toBe(numberSetting(config, 'PORT'));
  });

  it('gives preStop and the drain (timeout + goodbye) their time, and a margin, before SIGKILL', () => {
    const preStop = list(node(node(node(container?.lifecycle, 'lifecycle').preStop, 'preStop').exec, 'exec').command, 'command');
    expect(preStop[0]).toBe('sleep');
    const preStopSeconds = Number(preStop[1]);
    expect(preStopSeconds).toBeGreaterThan(0);
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopSeconds + drainSeconds(config) + MIN_MARGIN_S);
  });

  it('routes the Service to the pods’ port, and the budget and autoscaler to the Deployment', () => {
    const service = node(ofKind('Service').spec, 'Service spec');
    expect(service.selector).toEqual(podLabels);
    for (const p of list(service.ports, 'Service ports')) expect(portNumber(node(p, 'Service port').targetPort)).toBe(numberSetting(config, 'PORT'));
    const pdb = node(ofKind('PodDisruptionBudget').spec, 'PDB spec');
    expect(node(pdb.selector, 'PDB selector').matchLabels).toEqual(podLabels);
    const hpa = node(ofKind('HorizontalPodAutoscaler').spec, 'HPA spec');
    expect(node(hpa.scaleTargetRef, 'scaleTargetRef')).toMatchObject({ kind: 'Deployment', name: node(deployment.metadata, 'metadata').name });
  });

  it('autoscales on the active-calls gauge of /metrics, below the per-pod capacity', async () => {
    const hpa = node(ofKind('HorizontalPodAutoscaler').spec, 'HPA spec');
    const pods = list(hpa.metrics, 'metrics').map((m) => node(m, 'metric')).find((m) => m.type === 'Pods');
    const metric = node(node(pods?.pods, 'pods').metric, 'pods.metric');
    expect(metric.name).toBe((await createMetrics({ defaultMetrics: false }).activeCalls.get()).name);
    const target = Number(node(node(pods?.pods, 'pods').target, 'target').averageValue);
    expect(target).toBeGreaterThan(0);
    expect(target).toBeLessThan(numberSetting(config, 'MAX_CONCURRENT_CALLS'));
  });
});

describe('Dockerfile', () => {
  it('exposes the default port', () => {
    const expose = /^EXPOSE\s+(\d+)/m.exec(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
    expect(Number(expose)).toBe(numberSetting(effectiveConfig({}), 'PORT'));
  });
});
