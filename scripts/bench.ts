/**
 * `npm run bench`: resque-worker against node-resque, BullMQ and bee-queue, measured side by side.
 *
 * Duties:
 *  1. start a private redis-server (never 6379) and, per workload and round, run every system in
 *     turn, each round starting one further on (A B C D, B C D A, ...), with 2 worker processes
 *     each and no-op jobs
 *  2. workloads: throughput (jobs pre-enqueued), pickup latency at a fixed rate on idle workers,
 *     Redis commands per job and per idle second, worker RSS and CPU, enqueue (one at a time and
 *     bulk), our throughput with deep queues / many failure records, our RSS over a long run
 *  3. check every run: each job ran exactly once (per-job counters in the workers), the system
 *     counts no failure and leaves nothing queued; any miss fails the bench loudly
 *  4. write medians (min-max) and ratios to bench/RESULTS.md (between the bench markers, keeping
 *     the hand-written notes) and the raw numbers to bench/results.json
 * Run `npm run bench -- --help` for the knobs.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { workerNodeFlags } from '../src/worker/worker-process.ts';
import { TestRedis } from '../test/helpers/redis-server.ts';
import { ENQUEUE_FLOORS, type FloorName, floorFor, nodeRedisVersion } from './bench/enqueue-floors.ts';
import { type BenchProc, type Report, startWorkers } from './bench/procs.ts';
import { type Producer, producerFor, type SystemName } from './bench/producers.ts';
import { monoMs } from './bench/recorder.mjs';

const USAGE = `usage: npm run bench -- [options]
  --rounds N            rounds of every workload, systems interleaved (3)
  --systems a,b         ours,ours-warn,ours-p0,ours-c1,ours-tsx,bee-queue,bullmq,node-resque (all)
                        ours: our worker from the compiled dist/ on bare Node, as the daemon runs it
                        (dist/ is built first when src/ changed); ours-warn: ours at log level warn;
                        ours-p0: ours without prefetch (the config default); ours-c1: ours at
                        concurrency 1 and no prefetch (the config defaults, Resque semantics);
                        ours-tsx: ours from src/ through tsx (the daemon's fallback without a build),
                        to show what tsx costs in RSS and CPU; ours-base: see --baseline
  --workloads a,b       throughput,latency,enqueue,scale,long (all)
  --jobs N              jobs pre-enqueued for throughput (20000)
  --concurrency N       our in-process concurrency (50, as the peers; ours-c1 always runs 1)
  --prefetch N          jobs our workers reserve beyond concurrency (150; ours-c1 and ours-p0 run 0)
  --log-level L         our log level for 'ours' (info; the daemon's default)
  --rate N              latency: jobs/s (500)   --latency-jobs N (2500)
  --idle-seconds S      idle Redis commands/s window (20; ours polls every 5 s: 4 or 5 polls per worker)
  --idle-settle S       seconds between the workers' start and the idle window (15)
  --enqueue-one N       jobs enqueued one at a time, awaited (5000), in ~10 blocks interleaved with the other systems'
  --bulk N              jobs in the bulk enqueue (100000)
  --scale-jobs N        scale: jobs across --scale-queues queues (100000, 50); --failures N (10000)
  --long-jobs N         our long run for RSS (1000000, the issue's figure)
  --cpu-prof DIR        run our workers with --cpu-prof into DIR
  --latency-dump DIR    append each latency run's jobs to DIR/<system>.txt: round, seq, worker, ms
  --node-args 'A B'     extra node flags for our workers, e.g. '--max-semi-space-size=2'
  --baseline DIR        system ours-base: ours with the worker of another checkout (its built dist/;
                        jobs still enqueued by this checkout's client), to measure a change side
                        by side with what it changes, e.g. DIR from \`git worktree add DIR main\`
  --out FILE            (bench/RESULTS.md)   --json FILE (bench/results.json)
  --render JSON         only rewrite --out from a results JSON of an earlier run`;

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    systems: {
      type: 'string',
      default: 'ours,ours-warn,ours-p0,ours-c1,ours-tsx,bee-queue,bullmq,node-resque',
    },
    workloads: { type: 'string', default: 'throughput,latency,enqueue,scale,long' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    prefetch: { type: 'string', default: '150' },
    'log-level': { type: 'string', default: 'info' },
    rate: { type: 'string', default: '500' },
    'latency-jobs': { type: 'string', default: '2500' },
    'idle-seconds': { type: 'string', default: '20' },
    'idle-settle': { type: 'string', default: '15' },
    'enqueue-one': { type: 'string', default: '5000' },
    bulk: { type: 'string', default: '100000' },
    'scale-jobs': { type: 'string', default: '100000' },
    'scale-queues': { type: 'string', default: '50' },
    failures: { type: 'string', default: '10000' },
    'long-jobs': { type: 'string', default: '1000000' },
    'cpu-prof': { type: 'string' },
    'latency-dump': { type: 'string' },
    'node-args': { type: 'string', default: '' },
    baseline: { type: 'string' },
    out: { type: 'string', default: 'bench/RESULTS.md' },
    json: { type: 'string', default: 'bench/results.json' },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name: keyof typeof opt) => {
  const n = Number(opt[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${opt[name]}`);
  return n;
};
const ROUNDS = int('rounds');
const SYSTEMS = opt.systems.split(',') as SystemName[];
if (SYSTEMS.includes('ours-base') && !opt.baseline) throw new Error('ours-base needs --baseline DIR');
if (opt.baseline && !existsSync(join(opt.baseline, 'dist/worker/worker.js'))) {
  throw new Error(`--baseline ${opt.baseline}: no dist/ there (run npm run build in it)`);
}
/** The systems the latency workload runs: our variants that differ only in throughput knobs are left out. */
const LATENCY_SYSTEMS: SystemName[] = SYSTEMS.filter(
  (s) => s !== 'ours-warn' && s !== 'ours-c1' && s !== 'ours-p0',
);
const WORKLOADS = new Set(opt.workloads.split(','));
const JOBS = int('jobs');
const CONCURRENCY = int('concurrency');
const PREFETCH = int('prefetch');
const WORKERS = 2;
const QUEUE = 'bench';
/** About how many blocks the one-at-a-time enqueue is split into (a whole number of cycles). */
const ENQUEUE_BLOCKS = 10;
/** Untimed jobs before each timed enqueue block. */
const ENQUEUE_WARM_JOBS = 50;

type Metrics = Record<string, number>;
/** results[workload][system] = one Metrics per round */
const results: Record<string, Record<string, Metrics[]>> = {};
const extra: Record<string, unknown> = {};
const put = (workload: string, system: string, m: Metrics) => {
  results[workload] ??= {};
  results[workload][system] ??= [];
  results[workload][system].push(m);
};

interface Meta {
  date: string;
  command: string;
  minutes: number;
  load: [number, number];
  machine: {
    nproc: number;
    cpu: string;
    redis: string;
    node: string;
    packages: Record<string, string>;
  };
}

if (opt.render) {
  const saved = JSON.parse(readFileSync(opt.render, 'utf8')) as Meta & {
    results: typeof results;
    extra: typeof extra;
  };
  Object.assign(results, saved.results);
  Object.assign(extra, saved.extra);
  writeResults(opt.out, saved);
  process.exit(0);
}

// Our workers (but ours-tsx) run the compiled dist/, as the daemon does: bring it up to date first.
if (SYSTEMS.some((s) => s.startsWith('ours') && s !== 'ours-tsx' && s !== 'ours-base')) {
  execFileSync(process.execPath, [new URL('./build.mjs', import.meta.url).pathname, '--if-stale'], {
    stdio: 'inherit',
  });
}

if (opt.baseline) {
  let rev = 'not a git checkout';
  try {
    rev = execFileSync('git', ['-C', opt.baseline, 'rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {}
  extra.baseline = `${opt.baseline} at ${rev}`;
}

const redis = await TestRedis.start();
const admin: Redis = redis.client();
const tmp = join(tmpdir(), `rw-bench-${process.pid}`);
mkdirSync(tmp, { recursive: true });
const producers = new Map<SystemName, Producer>();
const floors = new Map<FloorName, Awaited<ReturnType<typeof floorFor>>>();
const enqueueFloor = async (name: FloorName) => {
  let f = floors.get(name);
  if (!f) {
    f = await floorFor(name, redis.url);
    floors.set(name, f);
  }
  return f;
};
const producer = async (s: SystemName) => {
  const base: SystemName = s.startsWith('ours') ? 'ours' : s;
  let p = producers.get(base);
  if (!p) {
    p = await producerFor(base, redis.url);
    producers.set(base, p);
  }
  return p;
};

function log(msg: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function fresh(): Promise<void> {
  await admin.flushall();
  await admin.config('RESETSTAT');
}

/** CPU time redis-server has used (user + system), ms. */
async function redisCpuMs(): Promise<number> {
  const info = await admin.info('cpu');
  const f = (k: string) => Number(info.match(new RegExp(`^${k}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return (f('used_cpu_user') + f('used_cpu_sys')) * 1000;
}

/** Sum of INFO commandstats calls, without the bench's own INFO / CONFIG. */
async function commandCalls(): Promise<{ total: number; by: Record<string, number> }> {
  const info = await admin.info('commandstats');
  const by: Record<string, number> = {};
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const cmd = m[1]!;
    if (cmd === 'info' || cmd.startsWith('config')) continue;
    by[cmd] = Number(m[2]);
    total += Number(m[2]);
  }
  return { total, by };
}

function workerSettings(system: SystemName, over: Partial<Parameters<typeof startWorkers>[0]> = {}) {
  return {
    system,
    redisUrl: redis.url,
    queues: [QUEUE],
    maxSeq: JOBS,
    latency: false,
    sampleMs: 0,
    concurrency: system === 'ours-c1' ? 1 : system.startsWith('ours') ? CONCURRENCY : null,
    prefetch: system === 'ours-c1' || system === 'ours-p0' ? 0 : PREFETCH,
    logLevel: system === 'ours-warn' ? 'warn' : opt['log-level'],
    logFile: join(tmp, `${system}.log`),
    ...(system === 'ours-base' ? { distDir: resolve(opt.baseline!, 'dist') } : {}),
    ...over,
  };
}

/** The baseline's own choice of worker flags: they may be part of what a change changes. */
const baselineNodeFlags: typeof workerNodeFlags | undefined = opt.baseline
  ? (
      (await import(pathToFileURL(resolve(opt.baseline, 'dist/worker/worker-process.js')).href)) as {
        workerNodeFlags: typeof workerNodeFlags;
      }
    ).workerNodeFlags
  : undefined;

function nodeArgsFor(system: SystemName): string[] {
  if (!system.startsWith('ours')) return [];
  // Our workers get the flags the supervisor gives its children.
  const extra = opt['node-args'].split(' ').filter((a) => a !== '');
  extra.push(...((system === 'ours-base' && baselineNodeFlags) || workerNodeFlags)(extra));
  return opt['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', opt['cpu-prof'], ...extra] : extra;
}

async function waitDone(procs: BenchProc[], n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (procs.reduce((a, p) => a + p.done, 0) < n) {
    if (Date.now() > deadline) {
      throw new Error(`only ${procs.map((p) => `${p.name}=${p.done}`).join(', ')} of ${n} jobs ran in time`);
    }
    await sleep(5);
  }
}

/** Every job 0..n-1 ran exactly once, over all workers; throws naming the misses otherwise. */
function assertExactlyOnce(system: string, reports: Report[], n: number): void {
  const missing: number[] = [];
  const twice: number[] = [];
  for (let s = 0; s < n; s++) {
    let c = 0;
    for (const r of reports) c += r.counts[s] ?? 0;
    if (c === 0) missing.push(s);
    else if (c > 1) twice.push(s);
  }
  const total = reports.reduce((a, r) => a + r.done, 0);
  if (missing.length || twice.length || total !== n) {
    throw new Error(
      `${system}: exactly-once check failed: ${total} job runs for ${n} jobs; missing ${missing.length} ` +
        `(${missing.slice(0, 5)}), run twice ${twice.length} (${twice.slice(0, 5)})`,
    );
  }
}

/** The system's own books agree: nothing failed, nothing left, processed == n where it counts. */
async function assertBooks(system: SystemName, queues: string[], n: number, failedBefore = 0): Promise<void> {
  const p = await producer(system);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const c = await p.counters(queues);
    const ok = c.failed === failedBefore && c.left === 0 && (c.processed === null || c.processed === n);
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(`${system}: books disagree after ${n} jobs: ${JSON.stringify(c)}`);
    }
    await sleep(20);
  }
}

async function stopAll(procs: BenchProc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

// ---- workloads ----

interface ThroughputRun {
  jobsPerSec: number;
  cmdsPerJob: number;
  redisUsPerJob: number;
  redisCpuPct: number;
  workerUsPerJob: number;
  rssMb: number;
  by: Record<string, number>;
}

async function throughputRun(
  system: SystemName,
  queues: string[],
  prefill: (p: Producer) => Promise<unknown>,
  n: number,
  failedBefore = 0,
): Promise<ThroughputRun> {
  await fresh();
  const p = await producer(system);
  await prefill(p);
  const procs = await startWorkers(
    workerSettings(system, { queues, maxSeq: n }),
    WORKERS,
    nodeArgsFor(system),
  );
  try {
    const before = await Promise.all(procs.map((w) => w.report()));
    await admin.config('RESETSTAT');
    const cpu0 = await redisCpuMs();
    const t0 = monoMs();
    for (const w of procs) w.send('go');
    await waitDone(procs, n, Math.max(120_000, n));
    const redisCpu = (await redisCpuMs()) - cpu0;
    const reports = await Promise.all(procs.map((w) => w.report()));
    const elapsed = Math.max(...reports.map((r) => r.lastStart)) - t0;
    assertExactlyOnce(system, reports, n);
    await assertBooks(system, queues, n, failedBefore);
    const calls = await commandCalls();
    if (process.env.BENCH_DEBUG)
      console.log(
        system,
        reports.map((r) => r.mem),
        before.map((r) => r.cpu),
        reports.map((r) => r.cpu),
      );
    return {
      jobsPerSec: (n / elapsed) * 1000,
      cmdsPerJob: calls.total / n,
      redisUsPerJob: (redisCpu * 1000) / n,
      redisCpuPct: (redisCpu / elapsed) * 100,
      workerUsPerJob: ((cpuMsOf(reports) - cpuMsOf(before)) * 1000) / n,
      rssMb: reports.reduce((a, r) => a + r.rss, 0) / reports.length / 2 ** 20,
      by: calls.by,
    };
  } finally {
    await stopAll(procs);
  }
}

async function throughput(system: SystemName): Promise<void> {
  const r = await throughputRun(system, [QUEUE], (p) => prefill(p, QUEUE, 0, JOBS), JOBS);
  put('throughput', system, {
    jobsPerSec: r.jobsPerSec,
    cmdsPerJob: r.cmdsPerJob,
    rssMb: r.rssMb,
    redisUsPerJob: r.redisUsPerJob,
    redisCpuPct: r.redisCpuPct,
    workerUsPerJob: r.workerUsPerJob,
  });
  extra.commandsByName ??= {};
  (extra.commandsByName as Record<string, unknown>)[system] = Object.fromEntries(
    Object.entries(r.by).map(([k, v]) => [k, Math.round((v / JOBS) * 100) / 100]),
  );
  log(
    `  throughput ${system}: ${r.jobsPerSec.toFixed(0)} jobs/s, ${r.cmdsPerJob.toFixed(2)} cmds/job, Redis ${r.redisUsPerJob.toFixed(1)} µs/job (${r.redisCpuPct.toFixed(0)}% CPU), workers ${r.workerUsPerJob.toFixed(1)} µs/job, RSS ${r.rssMb.toFixed(1)} MB`,
  );
}

async function latency(system: SystemName): Promise<void> {
  const n = int('latency-jobs');
  const rate = int('rate');
  const idleS = int('idle-seconds');
  await fresh();
  const p = await producer(system);
  const procs = await startWorkers(
    workerSettings(system, { maxSeq: n, latency: true }),
    WORKERS,
    nodeArgsFor(system),
  );
  try {
    for (const w of procs) w.send('go');
    await Promise.all(procs.map((w) => w.next('going')));
    // Start-up settles first: traffic, and V8's post-start GC (~8-12 s after start, bigger under tsx,
    // whose loader grows the heap) that a window opened 1.5 s after start counted as idle CPU.
    await sleep(Number(process.env.BENCH_SETTLE_MS ?? Number(opt['idle-settle']) * 1000));
    await admin.config('RESETSTAT');
    const before = await Promise.all(procs.map((w) => w.report()));
    const t0 = monoMs();
    await sleep(idleS * 1000);
    const calls = await commandCalls();
    const after = await Promise.all(procs.map((w) => w.report()));
    const seconds = (monoMs() - t0) / 1000;
    const cpuMs = cpuMsOf(after) - cpuMsOf(before);
    const idle = {
      idleCmdsPerSec: calls.total / seconds,
      idleCpuPct: (cpuMs / (seconds * 1000) / WORKERS) * 100,
      idleRssMb: after.reduce((a, r) => a + r.rss, 0) / after.length / 2 ** 20,
    };
    // Pickup latency: one job every 1000/rate ms, not awaited (the schedule must not slip).
    const cpuBefore = {
      workers: await Promise.all(procs.map((w) => w.report())),
      redis: await redisCpuMs(),
      client: process.cpuUsage(),
    };
    const start = monoMs();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - monoMs();
      if (wait > 1) await sleep(wait);
      sent.push(p.enqueueOne(QUEUE, i, monoMs()));
    }
    await Promise.all(sent);
    await waitDone(procs, n, 60_000);
    const reports = await Promise.all(procs.map((w) => w.report()));
    const client = process.cpuUsage(cpuBefore.client);
    // CPU per job while jobs trickle in: where processes share a CPU (on the bench's VM all four
    // run on one vCPU at this rate), what each spends per job is time the next job may wait for.
    const cpuPerJob = {
      workerUsPerJob: ((cpuMsOf(reports) - cpuMsOf(cpuBefore.workers)) * 1000) / n,
      redisUsPerJob: (((await redisCpuMs()) - cpuBefore.redis) * 1000) / n,
      clientUsPerJob: cpuUs(client) / n,
      workerSleepsPerJob: reports.reduce((a, r, i) => a + r.sleeps - cpuBefore.workers[i]!.sleeps, 0) / n,
    };
    assertExactlyOnce(system, reports, n);
    await assertBooks(system, [QUEUE], n);
    const lat: number[] = [];
    for (let s = 0; s < n; s++) for (const r of reports) if (r.counts[s]) lat.push(r.lat![s]!);
    if (opt['latency-dump']) {
      // One line per job, in enqueue order: round, seq, worker index, latency ms (where a tail is).
      const rows: string[] = [];
      for (let s = 0; s < n; s++)
        for (const [w, r] of reports.entries())
          if (r.counts[s]) rows.push(`${currentRound} ${s} ${w} ${r.lat![s]}`);
      mkdirSync(opt['latency-dump'], { recursive: true });
      appendFileSync(join(opt['latency-dump'], `${system}.txt`), `${rows.join('\n')}\n`);
    }
    lat.sort((a, b) => a - b);
    const m = {
      ...idle,
      ...cpuPerJob,
      p50Ms: pct(lat, 50),
      p99Ms: pct(lat, 99),
      maxMs: lat[lat.length - 1]!,
    };
    put('latency', system, m);
    log(
      `  latency ${system}: p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms; CPU per job: workers ${m.workerUsPerJob.toFixed(0)} µs, Redis ${m.redisUsPerJob.toFixed(0)} µs, client ${m.clientUsPerJob.toFixed(0)} µs; worker sleeps ${m.workerSleepsPerJob.toFixed(2)}; idle ${m.idleCmdsPerSec.toFixed(2)} cmds/s, ${m.idleCpuPct.toFixed(2)}% CPU, RSS ${m.idleRssMb.toFixed(1)} MB`,
    );
  } finally {
    await stopAll(procs);
  }
}

/**
 * Enqueue: one at a time, awaited, with the systems interleaved in blocks inside the round: each
 * job is one round trip, so a noisy neighbour moves the rate by more than the systems differ, and
 * only blocks side by side share the noise. The order rotates block by block and runs backwards
 * every other cycle (A B C D, B C D A, C D A B, D A B C, D C B A, ...), so no system always follows
 * the same one. Each block starts with ENQUEUE_WARM_JOBS untimed jobs. No GC is forced between
 * blocks: the enqueue's garbage dies young, and a scavenge costs what survives, not the garbage, so
 * no system pays for another's; a forced full GC before each block cost ours 9-17 µs more client
 * CPU per enqueue than bee-queue in most runs (its helper threads ran into the block, and V8
 * optimised ioredis' hot paths anew each block), so it measured the GC's aftermath as much as the
 * enqueue. Each system pushes to a queue
 * of its own (ours and node-resque share Resque's layout), set up by one untimed enqueue. The
 * floors (enqueue-floors.ts) run in the same rotation. Then bulk, system by system.
 */
async function enqueueRound(systems: readonly SystemName[]): Promise<void> {
  const one = int('enqueue-one');
  const bulk = int('bulk');
  const entries: { name: string; p: Pick<Producer, 'enqueueOne' | 'counters'> }[] = [];
  for (const system of systems) entries.push({ name: system, p: await producer(system) });
  for (const floor of ENQUEUE_FLOORS) entries.push({ name: floor, p: await enqueueFloor(floor) });
  const n = entries.length;
  const blocks = Math.min(2 * n * Math.max(1, Math.round(ENQUEUE_BLOCKS / (2 * n))), one);
  const queueOf = (name: string) => `${QUEUE}-${name}`;
  await fresh();
  for (const { name, p } of entries) await p.enqueueOne(queueOf(name), 0, 0);
  const zero = () => new Map(entries.map((e) => [e.name, 0]));
  const [seconds, clientCpuMs, redisCpu, sent, warmJobs] = [zero(), zero(), zero(), zero(), zero()];
  for (let b = 0; b < blocks; b++) {
    const size = Math.floor(((b + 1) * one) / blocks) - Math.floor((b * one) / blocks);
    const order = entries.map((_, k) => entries[(b + k) % n]!);
    if (Math.floor(b / n) % 2 === 1) order.reverse();
    for (const { name, p } of order) {
      const from = sent.get(name)!;
      for (let i = 0; i < ENQUEUE_WARM_JOBS; i++) await p.enqueueOne(queueOf(name), -1, 0);
      warmJobs.set(name, warmJobs.get(name)! + ENQUEUE_WARM_JOBS);
      const r0 = await redisCpuMs();
      const c0 = process.cpuUsage();
      const t = monoMs();
      for (let i = from; i < from + size; i++) await p.enqueueOne(queueOf(name), i, 0);
      seconds.set(name, seconds.get(name)! + (monoMs() - t) / 1000);
      const c = process.cpuUsage(c0);
      clientCpuMs.set(name, clientCpuMs.get(name)! + (c.user + c.system) / 1000);
      redisCpu.set(name, redisCpu.get(name)! + (await redisCpuMs()) - r0);
      sent.set(name, from + size);
    }
  }
  for (const { name, p } of entries)
    await assertQueued(name, p, one + 1 + warmJobs.get(name)!, queueOf(name));
  const bulkSeconds = new Map<string, number>();
  for (const system of systems) {
    const p = await producer(system);
    await fresh();
    const t = monoMs();
    await p.enqueueBulk(QUEUE, 0, bulk);
    bulkSeconds.set(system, (monoMs() - t) / 1000);
    await assertQueued(system, p, bulk);
  }
  for (const { name } of entries) {
    const oneRate = one / seconds.get(name)!;
    // CPU per awaited enqueue: the client's (this process) and redis-server's, in µs.
    const oneClientUs = (clientCpuMs.get(name)! * 1000) / one;
    const oneRedisUs = (redisCpu.get(name)! * 1000) / one;
    const bulkSec = bulkSeconds.get(name);
    put('enqueue', name, {
      oneJobsPerSec: oneRate,
      oneClientUs,
      oneRedisUs,
      ...(bulkSec && { bulkSeconds: bulkSec }),
    });
    log(
      `  enqueue ${name}: ${oneRate.toFixed(0)} jobs/s one at a time (CPU each: client ${oneClientUs.toFixed(1)} µs, Redis ${oneRedisUs.toFixed(1)} µs)` +
        (bulkSec ? `, ${bulk} in ${bulkSec.toFixed(2)} s bulk` : ''),
    );
  }
}

async function assertQueued(
  name: string,
  p: Pick<Producer, 'counters'>,
  n: number,
  queue = QUEUE,
): Promise<void> {
  const c = await p.counters([queue]);
  if (c.left !== n) throw new Error(`${name}: enqueued ${n} jobs but ${c.left} are queued`);
}

async function scale(): Promise<void> {
  const deepN = int('scale-jobs');
  const qn = int('scale-queues');
  const failures = int('failures');
  const names = Array.from({ length: qn }, (_, i) => `q${String(i).padStart(2, '0')}`);
  const empty = await throughputRun('ours', [QUEUE], (p) => prefill(p, QUEUE, 0, JOBS), JOBS);
  const deep = await throughputRun(
    'ours',
    names,
    async (p) => {
      const per = Math.ceil(deepN / qn);
      for (let i = 0; i < qn; i++) await p.enqueueBulk(names[i]!, i * per, Math.min(per, deepN - i * per));
    },
    deepN,
  );
  const withFailures = await throughputRun(
    'ours',
    [QUEUE],
    async (p) => {
      const record = JSON.stringify({
        failed_at: '2026/11/26 12:00:00 UTC',
        payload: { class: 'Old', args: [] },
        exception: 'RuntimeError',
        error: 'old failure',
        backtrace: ['x.rb:1'],
        worker: 'old:1:bench',
        queue: QUEUE,
      });
      for (let i = 0; i < failures; i += 5000)
        await admin.rpush('resque:failed', ...Array(Math.min(5000, failures - i)).fill(record));
      await prefill(p, QUEUE, 0, JOBS);
    },
    JOBS,
    0,
  );
  const m = {
    emptyJobsPerSec: empty.jobsPerSec,
    deepJobsPerSec: deep.jobsPerSec,
    failuresJobsPerSec: withFailures.jobsPerSec,
    deepVsEmpty: deep.jobsPerSec / empty.jobsPerSec,
    failuresVsEmpty: withFailures.jobsPerSec / empty.jobsPerSec,
  };
  put('scale', 'ours', m);
  log(
    `  scale ours: empty ${m.emptyJobsPerSec.toFixed(0)}, ${deepN} over ${qn} queues ${m.deepJobsPerSec.toFixed(0)} (${pctDiff(m.deepVsEmpty)}), ${failures} failures ${m.failuresJobsPerSec.toFixed(0)} (${pctDiff(m.failuresVsEmpty)}) jobs/s`,
  );
}

async function long(): Promise<void> {
  const n = int('long-jobs');
  await fresh();
  const p = await producer('ours');
  await prefill(p, QUEUE, 0, n);
  const procs = await startWorkers(workerSettings('ours', { maxSeq: n, sampleMs: 1000 }), WORKERS);
  try {
    const t0 = monoMs();
    for (const w of procs) w.send('go');
    await waitDone(procs, n, Math.max(600_000, n));
    const reports = await Promise.all(procs.map((w) => w.report()));
    const elapsed = Math.max(...reports.map((r) => r.lastStart)) - t0;
    assertExactlyOnce('ours', reports, n);
    await assertBooks('ours', [QUEUE], n);
    // RSS over the run, per worker: at 10% of its jobs (warmed up) and at the end.
    const perWorker = procs.map((w, i) => {
      const s = w.samples;
      const total = reports[i]!.done;
      const warm = s.find((x) => x.done >= total * 0.1) ?? s[0];
      const secondHalf = s.filter((x) => x.done >= total * 0.5).map((x) => x.rss);
      return {
        warmMb: (warm?.rss ?? 0) / 2 ** 20,
        endMb: reports[i]!.rss / 2 ** 20,
        secondHalfMinMb: Math.min(...secondHalf) / 2 ** 20,
        secondHalfMaxMb: Math.max(...secondHalf) / 2 ** 20,
        samples: s.map((x) => [Math.round(x.t), x.done, Math.round(x.rss / 2 ** 20)]),
      };
    });
    extra.long = { jobs: n, jobsPerSec: (n / elapsed) * 1000, perWorker };
    log(
      `  long ours: ${n} jobs at ${((n / elapsed) * 1000).toFixed(0)} jobs/s; RSS warm -> end ${perWorker.map((w) => `${w.warmMb.toFixed(1)} -> ${w.endMb.toFixed(1)} MB`).join(', ')}`,
    );
  } finally {
    await stopAll(procs);
  }
}

/** CPU time (user + system) of the worker processes, ms. */
function cpuMsOf(reports: Report[]): number {
  return reports.reduce((a, r) => a + cpuUs(r.cpu) / 1000, 0);
}

/** Bulk enqueue in chunks of 100,000 (our enqueueMany spreads its jobs into one call's arguments). */
async function prefill(p: Producer, queue: string, from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100_000) await p.enqueueBulk(queue, from + i, Math.min(100_000, n - i));
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function pctDiff(ratio: number): string {
  return `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;
}

// ---- run ----

let currentRound = 0;
const began = Date.now();
const loadBefore = loadavg()[0]!;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    currentRound = round;
    log(`round ${round}/${ROUNDS}`);
    // Each round starts one system further on (A B C, B C A, C A B): a system's place in the
    // round weighs on it (the first latency run follows the heavy throughput runs), so no system
    // keeps the same place.
    if (WORKLOADS.has('throughput')) for (const s of rotate(SYSTEMS, round - 1)) await throughput(s);
    if (WORKLOADS.has('latency')) for (const s of rotate(LATENCY_SYSTEMS, round - 1)) await latency(s);
    if (WORKLOADS.has('enqueue')) await enqueueRound(SYSTEMS.filter((s) => !s.startsWith('ours-')));
    if (WORKLOADS.has('scale') && SYSTEMS.includes('ours')) await scale();
  }
  if (WORKLOADS.has('long')) await long();
} finally {
  for (const p of [...producers.values(), ...floors.values()]) await p.close().catch(() => {});
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}
const minutes = (Date.now() - began) / 60_000;
const loadAfter = loadavg()[0]!;
log(`done in ${minutes.toFixed(1)} min`);

// ---- report ----

const redisVersion = execFileSync(process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server', ['--version'])
  .toString()
  .trim();
const pkgVersion = (name: string) =>
  (
    JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
const ourVersion = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  redis: redisVersion,
  node: process.version,
  packages: {
    'resque-worker': ourVersion,
    ioredis: pkgVersion('ioredis'),
    'node-resque': pkgVersion('node-resque'),
    bullmq: pkgVersion('bullmq'),
    'bee-queue': pkgVersion('bee-queue'),
    "node-redis (bee-queue's)": nodeRedisVersion(),
  },
};
const command =
  process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench';
const meta: Meta = {
  date: new Date().toISOString(),
  command,
  minutes,
  load: [loadBefore, loadAfter],
  machine,
};
writeFileSync(opt.json, `${JSON.stringify({ ...meta, results, extra }, null, 1)}\n`);
log(`wrote ${opt.json}`);
writeResults(opt.out, meta);

function stats(xs: number[]): { med: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const med = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { med, min: s[0]!, max: s[s.length - 1]! };
}

function get(workload: string, system: string, metric: string): number[] {
  return (results[workload]?.[system] ?? []).map((m) => m[metric]!).filter((v) => v !== undefined);
}

function med(workload: string, system: string, metric: string): number {
  const xs = get(workload, system, metric);
  return xs.length ? stats(xs).med : Number.NaN;
}

function fmtNum(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(workload: string, system: string, metric: string, digits = 0): string {
  const xs = get(workload, system, metric);
  if (xs.length === 0) return '-';
  const s = stats(xs);
  return xs.length > 1
    ? `${fmtNum(s.med, digits)} (${fmtNum(s.min, digits)}-${fmtNum(s.max, digits)})`
    : fmtNum(s.med, digits);
}

function label(s: string, machine: Meta['machine']): string {
  const c = `concurrency ${CONCURRENCY}, prefetch ${PREFETCH}`;
  if (s === 'ours') return `**resque-worker** (${c}, log ${opt['log-level']})`;
  if (s === 'ours-warn') return `**resque-worker** (${c}, log warn)`;
  if (s === 'ours-p0')
    return `resque-worker (concurrency ${CONCURRENCY}, prefetch 0 = default, log ${opt['log-level']})`;
  if (s === 'ours-c1') return `resque-worker (concurrency 1 = config default, log ${opt['log-level']})`;
  if (s === 'ours-tsx') return `resque-worker from src/ through tsx (${c}, log ${opt['log-level']})`;
  if (s === 'ours-base') return `resque-worker baseline, ${extra.baseline} (${c}, log ${opt['log-level']})`;
  if (s === 'node-resque') return `node-resque ${machine.packages['node-resque']} (default)`;
  if (s === 'bullmq') return `BullMQ ${machine.packages.bullmq} (concurrency 50)`;
  return `bee-queue ${machine.packages['bee-queue']} (concurrency 50)`;
}

function writeResults(file: string, meta: Meta): void {
  const { machine, command, minutes } = meta;
  const [loadBefore, loadAfter] = meta.load ?? [Number.NaN, Number.NaN];
  const lines: string[] = [];
  lines.push('<!-- bench:begin (written by scripts/bench.ts; edit outside the markers) -->');
  lines.push(
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${minutes.toFixed(1)} min: \`${command}\``,
  );
  lines.push('');
  lines.push(
    `Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.redis.split(' sha')[0]}, Node ${machine.node}. ` +
      `Versions: ${Object.entries(machine.packages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
  );
  lines.push('');
  lines.push(
    `${WORKERS} worker processes per system, no-op jobs, private redis-server on loopback. Cells: median (min-max) over ${ROUNDS} rounds, systems interleaved in each round.` +
      (Number.isFinite(loadBefore)
        ? ` Load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end: other work on the machine shows up as spread.`
        : ''),
  );
  lines.push('');
  lines.push(
    `| system | throughput jobs/s (${JOBS.toLocaleString('en-US')} queued) | pickup p50 ms | pickup p99 ms | Redis cmds/job | idle Redis cmds/s (${WORKERS} workers) | idle CPU % per worker | RSS MB after throughput | RSS MB idle | enqueue one-at-a-time jobs/s | bulk enqueue ${int('bulk').toLocaleString('en-US')} s |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of SYSTEMS) {
    const enq = s.startsWith('ours-') ? 'none' : s;
    const latS = LATENCY_SYSTEMS.includes(s) ? s : 'none';
    lines.push(
      `| ${label(s, machine)} | ${cell('throughput', s, 'jobsPerSec')} | ${cell('latency', latS, 'p50Ms', 2)} | ${cell('latency', latS, 'p99Ms', 2)} | ${cell('throughput', s, 'cmdsPerJob', 1)} | ${cell('latency', latS, 'idleCmdsPerSec', 2)} | ${cell('latency', latS, 'idleCpuPct', 2)} | ${cell('throughput', s, 'rssMb', 1)} | ${cell('latency', latS, 'idleRssMb', 1)} | ${cell('enqueue', enq, 'oneJobsPerSec')} | ${cell('enqueue', enq, 'bulkSeconds', 2)} |`,
    );
  }
  lines.push('');
  lines.push(
    'CPU per job in the throughput run (medians): the worker processes (user + system, all threads, µs per job) and redis-server (µs per job; its share of one core in brackets); and per awaited enqueue, the client process and redis-server. Less affected by other load on the machine than jobs/s. In the pickup run (one job at a time on idle workers) the same, per job: each job starts from cold caches, so it costs several times its share of a busy run, and the CPU every process spends is time the next job may wait for. Worker sleeps per job: the voluntary context switches of the workers (every thread), each a wake-up the kernel pays for (including those of the 50 ms progress timer of the bench, the same for every system).',
  );
  lines.push('');
  lines.push(
    '| system | worker CPU µs/job | Redis CPU µs/job | enqueue one at a time: client / Redis CPU µs per job | pickup run: worker / Redis / client CPU µs per job | pickup run: worker sleeps per job |',
  );
  lines.push('|---|---|---|---|---|---|');
  for (const s of SYSTEMS) {
    // Only 'ours' among our variants runs the enqueue workload.
    const perEnqueue = s.startsWith('ours-')
      ? '-'
      : `${cell('enqueue', s, 'oneClientUs', 1)} / ${cell('enqueue', s, 'oneRedisUs', 1)}`;
    const pickup =
      get('latency', s, 'workerUsPerJob').length === 0
        ? '-'
        : `${cell('latency', s, 'workerUsPerJob')} / ${cell('latency', s, 'redisUsPerJob')} / ${cell('latency', s, 'clientUsPerJob')}`;
    const sleeps = cell('latency', s, 'workerSleepsPerJob', 2);
    lines.push(
      `| ${label(s, machine)} | ${cell('throughput', s, 'workerUsPerJob', 1)} | ${cell('throughput', s, 'redisUsPerJob', 1)} (${fmtNum(med('throughput', s, 'redisCpuPct'), 0)}%) | ${perEnqueue} | ${pickup} | ${sleeps} |`,
    );
  }
  lines.push('');
  const peers = SYSTEMS.filter((s) => !s.startsWith('ours'));
  if (SYSTEMS.includes('ours') && peers.length) {
    lines.push(`Ratios, ours (log ${opt['log-level']}) vs each peer, from the medians (>1 = ours better):`);
    lines.push('');
    lines.push(
      '| vs | throughput | pickup p50 | pickup p99 | Redis cmds/job | idle cmds/s | RSS after throughput | enqueue one-at-a-time | bulk enqueue |',
    );
    lines.push('|---|---|---|---|---|---|---|---|---|');
    const hi = (w: string, m: string, p: string) => ratio(med(w, 'ours', m) / med(w, p, m));
    const lo = (w: string, m: string, p: string) => ratio(med(w, p, m) / med(w, 'ours', m));
    for (const p of peers) {
      lines.push(
        `| ${p} | ${hi('throughput', 'jobsPerSec', p)} | ${lo('latency', 'p50Ms', p)} | ${lo('latency', 'p99Ms', p)} | ${lo('throughput', 'cmdsPerJob', p)} | ${lo('latency', 'idleCmdsPerSec', p)} | ${lo('throughput', 'rssMb', p)} | ${hi('enqueue', 'oneJobsPerSec', p)} | ${lo('enqueue', 'bulkSeconds', p)} |`,
      );
    }
    lines.push('');
  }
  if (results.enqueue?.['floor-ioredis'] && results.enqueue?.['floor-node-redis']) writeEnqueueFloors(lines);
  if (results.scale?.ours) {
    lines.push(`Cost per job grows with nothing (ours, ${WORKERS} workers):`);
    lines.push('');
    lines.push('| case | jobs/s | vs empty |');
    lines.push('|---|---|---|');
    lines.push(
      `| empty: ${JOBS.toLocaleString('en-US')} jobs on one queue | ${cell('scale', 'ours', 'emptyJobsPerSec')} | 1.00 |`,
    );
    lines.push(
      `| ${int('scale-jobs').toLocaleString('en-US')} jobs across ${int('scale-queues')} queues (worker on all, in priority order) | ${cell('scale', 'ours', 'deepJobsPerSec')} | ${cell('scale', 'ours', 'deepVsEmpty', 2)} |`,
    );
    lines.push(
      `| ${JOBS.toLocaleString('en-US')} jobs with ${int('failures').toLocaleString('en-US')} failure records present | ${cell('scale', 'ours', 'failuresJobsPerSec')} | ${cell('scale', 'ours', 'failuresVsEmpty', 2)} |`,
    );
    lines.push('');
  }
  const lg = extra.long as
    | {
        jobs: number;
        jobsPerSec: number;
        perWorker: { warmMb: number; endMb: number; secondHalfMinMb: number; secondHalfMaxMb: number }[];
      }
    | undefined;
  if (lg) {
    lines.push(
      `Long run (ours, ${lg.jobs.toLocaleString('en-US')} jobs, ${fmtNum(lg.jobsPerSec, 0)} jobs/s): RSS per worker at 10% of its jobs -> end (second-half min-max): ` +
        lg.perWorker
          .map(
            (w) =>
              `${w.warmMb.toFixed(1)} -> ${w.endMb.toFixed(1)} MB (${w.secondHalfMinMb.toFixed(1)}-${w.secondHalfMaxMb.toFixed(1)})`,
          )
          .join('; ') +
        '. Samples every second in bench/results.json.',
    );
    lines.push('');
  }
  const by = extra.commandsByName as Record<string, Record<string, number>> | undefined;
  if (by) {
    lines.push(
      'Redis commands per job by name (last throughput round; includes commands run inside Lua scripts):',
    );
    lines.push('');
    for (const [s, cmds] of Object.entries(by)) {
      const top = Object.entries(cmds)
        .sort((a, b) => b[1] - a[1])
        .filter(([, v]) => v >= 0.01)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      lines.push(`- ${s}: ${top}`);
    }
    lines.push('');
  }
  lines.push('<!-- bench:end -->');
  const block = lines.join('\n');
  let text = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmark results\n\n<!-- bench:begin -->\n<!-- bench:end -->\n';
  const re = /<!-- bench:begin[\s\S]*?<!-- bench:end -->/;
  text = re.test(text) ? text.replace(re, block) : `${text}\n${block}\n`;
  mkdirSync(new URL('.', `file://${join(process.cwd(), file)}`).pathname, { recursive: true });
  writeFileSync(file, text);
  log(`wrote ${file}`);
}

/**
 * One-at-a-time enqueue against the floor of each system's client library (enqueue-floors.ts):
 * an awaited enqueue is one round trip for every system here, so what is left to compare is what
 * each adds to its client's cheapest call, and what the clients cost.
 */
function writeEnqueueFloors(lines: string[]): void {
  const clientOf: Record<string, FloorName> = {
    ours: 'floor-ioredis',
    'node-resque': 'floor-ioredis',
    bullmq: 'floor-ioredis',
    'bee-queue': 'floor-node-redis',
  };
  const perRound = (a: string, b: string) => {
    const xs = get('enqueue', a, 'oneJobsPerSec');
    const ys = get('enqueue', b, 'oneJobsPerSec');
    const rs = xs.map((x, i) => x / ys[i]!).filter(Number.isFinite);
    if (rs.length === 0) return '-';
    const s = stats(rs);
    const ahead = rs.filter((r) => r > 1).length;
    return `${s.med.toFixed(2)}x (${s.min.toFixed(2)}-${s.max.toFixed(2)}; ahead in ${ahead} of ${rs.length} rounds)`;
  };
  lines.push(
    "One-at-a-time enqueue against its floor: the same round trip with nothing around it, an EVALSHA of SADD queues + RPUSH payload (the payload built as ours is), through each client library. Per-round ratios of jobs/s (>1 = faster than what it is compared with); each round's blocks are interleaved, so a round's ratio shares that round's noise.",
  );
  lines.push('');
  lines.push(
    "| system | jobs/s one at a time | client / Redis CPU µs per job | vs its client library's floor |",
  );
  lines.push('|---|---|---|---|');
  for (const s of SYSTEMS.filter((x) => clientOf[x] && results.enqueue?.[x])) {
    lines.push(
      `| ${s} | ${cell('enqueue', s, 'oneJobsPerSec')} | ${cell('enqueue', s, 'oneClientUs', 1)} / ${cell('enqueue', s, 'oneRedisUs', 1)} | ${perRound(s, clientOf[s]!)} vs ${clientOf[s]} |`,
    );
  }
  for (const f of ENQUEUE_FLOORS) {
    lines.push(
      `| ${f} | ${cell('enqueue', f, 'oneJobsPerSec')} | ${cell('enqueue', f, 'oneClientUs', 1)} / ${cell('enqueue', f, 'oneRedisUs', 1)} | - |`,
    );
  }
  lines.push('');
  lines.push(
    `- floor-ioredis vs floor-node-redis, per round: ${perRound('floor-ioredis', 'floor-node-redis')}.`,
  );
  if (results.enqueue?.ours && results.enqueue['bee-queue'])
    lines.push(`- ours vs bee-queue, per round: ${perRound('ours', 'bee-queue')}.`);
  lines.push('');
}

function ratio(r: number): string {
  if (r === 0) return 'peer uses none';
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : '-';
}

function cpuUs(u: NodeJS.CpuUsage): number {
  return u.user + u.system;
}

/** `xs` starting at index `by` (mod its length), wrapping round. */
function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}
