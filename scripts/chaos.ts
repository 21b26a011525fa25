/**
 * The chaos suite (issue 4): the REAL supervisor (`resque-worker start`) with N workers on a
 * private Redis (AOF, fsync always), M jobs that record every run in Redis, and faults injected
 * while they run: SIGKILL a child, SIGKILL the supervisor and start it again (as systemd would),
 * restart Redis, pause/resume, HUP. Ends with one line:
 *
 *   chaos: jobs=M faults=F completed=M lost=0 duplicated=D failed=0 seconds=S
 *
 * and exits non-zero if a job was lost or failed. Duplicates are allowed (at-least-once) but
 * counted, and each is put down to the fault that caused it.
 *
 *   node bin/tsx.mjs scripts/chaos.ts [--jobs 20000] [--workers 4] [--concurrency 2] [--job-ms 40]
 *     [--child-kills 10] [--supervisor-kills 10] [--redis-restarts 10] [--pauses 10] [--hups 10]
 *     [--timeout 280] [--seed 1] [--log FILE]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ResqueClient } from '../src/client/client.ts';
import { resqueKeys } from '../src/redis/keys.ts';
import { RECORD_KEYS } from '../test/fixtures/record-jobs/record.ts';
import { TestRedis } from '../test/helpers/redis-server.ts';

const BIN = new URL('../bin/resque-worker.mjs', import.meta.url).pathname;
const RECORD_JOB = new URL('../test/fixtures/record-jobs/record.ts', import.meta.url).pathname;
const QUEUE = 'chaos';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '2' },
    'job-ms': { type: 'string', default: '40' },
    'child-kills': { type: 'string', default: '10' },
    'supervisor-kills': { type: 'string', default: '10' },
    'redis-restarts': { type: 'string', default: '10' },
    pauses: { type: 'string', default: '10' },
    hups: { type: 'string', default: '10' },
    timeout: { type: 'string', default: '280' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    log: { type: 'string', default: join(tmpdir(), `chaos-${process.pid}.log`) },
  },
});
const num = (k: keyof typeof flags) => {
  const v = Number(flags[k]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: must be a number >= 0, got ${flags[k]}`);
  return v;
};
const M = num('jobs');
const N = num('workers');

type FaultKind = 'child-kill' | 'supervisor-kill' | 'redis-restart' | 'pause' | 'hup';
interface Fault {
  kind: FaultKind;
  at: number;
  /** Pids it killed or orphaned. */
  pids: number[];
  detail?: string;
}

// A small deterministic PRNG, so a run can be repeated with --seed.
let seed = Number(flags.seed) || 1;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;

const say = (msg: string) => process.stderr.write(`chaos: ${msg}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const deadline = started + num('timeout') * 1000;
  const redis = await TestRedis.start({ persistent: true });
  const r = redis.client();
  const keys = resqueKeys();
  const logFile = createWriteStream(flags.log!, { flags: 'a' });
  say(`redis on ${redis.url}, log in ${flags.log}, seed ${flags.seed}`);
  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    RECORD_REDIS_URL: redis.url,
    QUEUE,
    COUNT: String(N),
    CONCURRENCY: flags.concurrency,
    RESQUE_JOBS: RECORD_JOB,
    INTERVAL: '1',
    SHUTDOWN_TIMEOUT: '5',
    RESPAWN_DELAY: '0.2',
    RESPAWN_DELAY_MAX: '2',
    PRUNE_INTERVAL: '2',
    LOG_LEVEL: 'warn',
    NOTIFY_SOCKET: '',
  };

  let supervisor: ChildProcess | null = null;
  let doneAtStart = 0;
  const startSupervisor = () => {
    const p = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.pipe(logFile, { end: false });
    p.stderr?.pipe(logFile, { end: false });
    supervisor = p;
    void r.scard(RECORD_KEYS.done).then(
      (n) => {
        doneAtStart = Number(n);
      },
      () => {},
    );
    return p;
  };
  const childrenOf = (pid: number | undefined): number[] => {
    if (!pid) return [];
    try {
      return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
        .toString()
        .split('\n')
        .map((s) => Number(s.trim()))
        .filter((n) => n > 0);
    } catch {
      return [];
    }
  };
  const orphans = new Set<number>();

  const client = new ResqueClient({ redisUrl: redis.url });
  for (let i = 0; i < M; i += 2000) {
    const batch = Array.from({ length: Math.min(2000, M - i) }, (_, j) => ({
      className: 'Record',
      args: [`j${i + j}`, num('job-ms')],
    }));
    await client.enqueueMany(QUEUE, batch);
  }
  await client.close();
  say(`enqueued ${M} jobs`);

  startSupervisor();
  const plan: FaultKind[] = [];
  const counts: Record<FaultKind, number> = {
    'child-kill': num('child-kills'),
    'supervisor-kill': num('supervisor-kills'),
    'redis-restart': num('redis-restarts'),
    pause: num('pauses'),
    hup: num('hups'),
  };
  for (const [kind, n] of Object.entries(counts)) for (let i = 0; i < n; i++) plan.push(kind as FaultKind);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  const faults: Fault[] = [];
  const done = async () => Number(await r.scard(RECORD_KEYS.done).catch(() => 0));
  const step = Math.max(1, Math.floor(M / (plan.length + 2)));

  for (const kind of plan) {
    // Spread the faults over the run: wait for some progress (or a few seconds) between two.
    const from = await done();
    const until = Date.now() + 2000;
    while (Date.now() < until && (await done()) < from + step) await sleep(100);
    await sleep(100 + random() * 300);
    // A restarted pool takes a few seconds to come up: hit it once it works again, not before.
    const upBy = Date.now() + 10_000;
    const needsPool = kind === 'child-kill' || kind === 'supervisor-kill';
    while (needsPool && Date.now() < upBy && (await done()) < Math.min(M, doneAtStart + 20)) await sleep(100);
    if (Date.now() > deadline) break;
    const sup = supervisor as ChildProcess | null;
    const f: Fault = { kind, at: Date.now(), pids: [] };
    switch (kind) {
      case 'child-kill': {
        let kids = childrenOf(sup?.pid);
        for (let i = 0; i < 50 && kids.length === 0; i++) {
          await sleep(100);
          kids = childrenOf(sup?.pid);
        }
        const victim = kids.length ? pick(kids) : null;
        if (victim) {
          process.kill(victim, 'SIGKILL');
          f.pids.push(victim);
        }
        break;
      }
      case 'supervisor-kill': {
        const kids = childrenOf(sup?.pid);
        const how = pick(['orphans stop by themselves', 'orphans TERMed (control-group)', 'orphans KILLed']);
        sup?.kill('SIGKILL');
        await new Promise((res) => (sup && sup.exitCode === null ? sup.once('exit', res) : res(null)));
        for (const k of kids) {
          orphans.add(k);
          try {
            if (how === 'orphans TERMed (control-group)') process.kill(k, 'SIGTERM');
            if (how === 'orphans KILLed') process.kill(k, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        f.pids.push(...kids);
        f.detail = how;
        startSupervisor(); // as systemd's Restart=always would
        break;
      }
      case 'redis-restart':
        await redis.kill('SIGKILL');
        await sleep(random() * 1000); // down for a moment
        await redis.restart();
        break;
      case 'pause':
        sup?.kill('SIGUSR2');
        await sleep(300 + random() * 500);
        sup?.kill('SIGCONT');
        break;
      case 'hup':
        sup?.kill('SIGHUP');
        break;
    }
    faults.push(f);
    say(
      `${faults.length}/${plan.length} ${kind}${f.detail ? ` (${f.detail})` : ''}; ${await done()} jobs ran`,
    );
  }

  // Let the pool finish everything, then stop it gracefully.
  const inflight = async () => {
    let total = 0;
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', `${keys.worker('')}*:inflight`, 'COUNT', 1000);
      cursor = next;
      for (const k of batch) total += Number(await r.llen(k));
    } while (cursor !== '0');
    return total;
  };
  while (Date.now() < deadline) {
    const [ran, queued, held] = [await done(), Number(await r.llen(keys.queue(QUEUE))), await inflight()];
    if (ran >= M && queued === 0 && held === 0) break;
    await sleep(250);
  }
  const sup = supervisor as ChildProcess | null;
  sup?.kill('SIGTERM');
  await Promise.race([new Promise((res) => sup?.once('exit', res)), sleep(15_000)]);
  for (const pid of [...childrenOf(sup?.pid), ...orphans]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }

  // Tally.
  const ran = await done();
  const queued = Number(await r.llen(keys.queue(QUEUE)));
  const held = await inflight();
  const failed = Number(await r.llen(keys.failed));
  // Lost: never ran, and neither queued nor in flight any more. Unfinished (a time-out) is reported apart.
  const lost = Math.max(0, M - ran - queued - held);
  const again = await r.smembers(RECORD_KEYS.again);
  const dupIds = new Set(again.map((a) => a.split(' ')[0]!));
  const causes = new Map<string, number>();
  let sameProcess = 0;
  for (const a of again) {
    const [id, , ms] = a.split(' ');
    const [pid0, ms0] = ((await r.hget(RECORD_KEYS.first, id!)) ?? '0 0').split(' ').map(Number);
    if (Number(a.split(' ')[1]) === pid0) sameProcess++;
    const within = faults.filter((f) => f.at >= ms0! - 50 && f.at <= Number(ms) + 50);
    // The last kill that hit the process that ran it first, before the rerun. Its time is taken
    // when the fault starts, so the first run may be recorded a moment after it (an orphan that
    // did not notice yet); else no kill did, and we say so.
    const cause = faults
      .filter((f) => f.pids.includes(pid0!) && f.at <= Number(ms) + 50 && f.at >= ms0! - 10_000)
      .at(-1);
    const near = within.at(-1);
    const label = cause
      ? `${cause.kind}${cause.detail ? ` (${cause.detail})` : ''}`
      : `not a kill of its first process (last fault before the rerun: ${near?.kind ?? 'none'})`;
    if (!cause && (causes.get(label) ?? 0) < 5)
      say(
        `unexplained duplicate: ${id} first by ${pid0} at ${ms0}, again: ${a} (faults at ${faults.map((f) => `${f.kind}@${f.at}`).join(' ')})`,
      );
    causes.set(label, (causes.get(label) ?? 0) + 1);
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const byKind = Object.keys(counts)
    .map((k) => `${k}=${faults.filter((f) => f.kind === k).length}`)
    .join(' ');
  say(`faults: ${byKind}`);
  say(
    `duplicates (ran more than once; at-least-once): ${dupIds.size}${causes.size ? ` — ${[...causes].map(([c, n]) => `${c}: ${n}`).join(', ')}` : ''}`,
  );
  if (sameProcess) say(`of which run again by the same process: ${sameProcess}`);
  if (queued || held) say(`left unfinished: ${queued} queued, ${held} in flight (timed out?)`);
  if (failed)
    say(`failures: ${JSON.stringify((await r.lrange(keys.failed, 0, 2)).map((f) => f.slice(0, 300)))}`);
  console.log(
    `chaos: jobs=${M} faults=${faults.length} completed=${ran} lost=${lost} duplicated=${dupIds.size} failed=${failed} seconds=${seconds}`,
  );
  await redis.stop();
  logFile.end();
  return lost === 0 && failed === 0 && ran === M ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`chaos: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
