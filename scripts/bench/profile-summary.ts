/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --cpu-prof DIR`): self time by function
 * and by package / source file, so RESULTS.md can say where a worker's time goes.
 * Usage: node bin/tsx.mjs scripts/bench/profile-summary.ts DIR_OR_FILES... [--top N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const paths = args.filter((a, i) => a !== '--top' && (topAt < 0 || i !== topAt + 1));
const files = paths.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(p, f))
    : [p],
);

const byFn = new Map<string, number>();
/** Inclusive time: each function once per sample in which it is on the stack. */
const inclusive = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes as (Node & { children?: number[] })[])
    for (const c of n.children ?? []) parent.set(c, n.id);
  for (let i = 0; i < prof.samples.length; i++) {
    const n = nodes.get(prof.samples[i]!);
    const dt = prof.timeDeltas[i] ?? 0;
    if (!n) continue;
    total += dt;
    const { functionName, url } = n.callFrame;
    const fn = name(n.callFrame);
    byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
    byArea.set(area(url, functionName), (byArea.get(area(url, functionName)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const f = nodes.get(id)!.callFrame;
      if (!f.url.includes('/src/') && !f.url.includes('node_modules/pino') && !f.url.includes('ioredis'))
        continue;
      seen.add(name(f));
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
  }
}

function name({ functionName, url, lineNumber }: Node['callFrame']): string {
  const short = url.replace(/^file:\/\/.*?\/(node_modules\/|src\/|scripts\/)/, '$1').replace(/\?.*$/, '');
  return `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/V8)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  const src = url.match(/\/(src\/.*?|scripts\/.*?)(\?|$)/);
  return src ? src[1]! : url;
}

const show = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`${files.length} profiles, ${(total / 1e6).toFixed(2)} s sampled`);
show('self time by area', byArea, top);
show('self time by function', byFn, top);
show('inclusive time (our code, pino, ioredis)', inclusive, top);
