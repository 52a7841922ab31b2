/**
 * Reads the V8 CPU profiles (`.cpuprofile`) the server wrote under `--cpu-prof` and prints where its time went:
 * the top functions by self time, and self time per source area (our code by directory, dependencies by package).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export function summarizeProfiles(dir: string, top = 30): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    // Newest first; of one run (same pid), the main thread's profile (thread 0) rather than the loader's.
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs || statSync(y).size - statSync(x).size);
  const latest = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (!latest) return `no .cpuprofile in ${dir}`;
  return `## Server CPU profile ${path.relative(process.cwd(), latest)}\n\n${summarizeProfile(JSON.parse(readFileSync(latest, 'utf8')) as CpuProfile, top)}`;
}

export function summarizeProfile(profile: CpuProfile, top = 30): string {
  // Self time per node from the sample timeline (timeDeltas[i] is the time before sample i).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const total = [...selfUs.values()].reduce((s, v) => s + v, 0) || 1;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`;
    const fn = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1)}%`;
  const inclusive = inclusiveTimes(profile, selfUs);
  const idle = byFunction.get('(idle)') ?? 0;
  const lines = [`total sampled ${(total / 1e6).toFixed(1)} s, busy ${((total - idle) / 1e6).toFixed(1)} s`, '', 'self time by area:'];
  for (const [area, us] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 20)) lines.push(`  ${pct(us).padStart(6)}  ${area}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [fn, us] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${pct(us).padStart(6)}  ${fn}`);
  lines.push('', `top ${top} of our functions by inclusive time (self + callees):`);
  const ours = [...inclusive].filter(([fn]) => /(machines|actors|src)\//.test(fn) && !fn.includes('node_modules'));
  for (const [fn, us] of ours.sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${pct(us).padStart(6)}  ${fn}`);
  return lines.join('\n');
}

/** Time each function was on the stack (counted once per sample even when recursive). */
function inclusiveTimes(profile: CpuProfile, selfUs: Map<number, number>): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const { functionName, url, lineNumber } = node.callFrame;
      const key = `${functionName || '(anonymous)'}${url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.set(key, (out.get(key) ?? 0) + us);
    }
  }
  return out;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const m = /\/(machines|actors|src|bench)\/.*$/.exec(url);
  return m ? m[0].slice(1) : url.replace(/^file:\/\//, '');
}

function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `dep ${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '')}`;
  }
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0] ?? ''}`;
  const m = /\/(machines|actors|src\/simulators|src\/audio|src|bench)\/([^/]+)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}
