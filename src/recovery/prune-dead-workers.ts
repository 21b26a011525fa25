/**
 * The dead-worker pruner: finds workers that are gone and recovers them (recover-worker.ts).
 *
 * Duties:
 *  1. one pruner at a time over all hosts: a lock (SET NX PX) released with its token
 *  2. judge every worker id Redis knows of (the `workers` set, heartbeats, our own `rw:workers`
 *     marks, and `worker:*:inflight` lists found by SCAN) by three rules:
 *     a. its heartbeat is older than `deadAfter` by Redis's clock (any worker, as Ruby's prune; a
 *        peer's by at least Ruby's 300 s, as it beats on Ruby's schedule, not on ours)
 *     b. it is ours, on this host and pid namespace, and its process is gone
 *     c. it left an in-flight list but is no longer registered (a peer's prune unregistered it
 *        without knowing about that list), and shows no sign of life
 *  3. recover each dead one atomically with the check (a guard in recover.lua), log what it did
 *
 * It never touches a worker that may be alive: a peer's worker on another host is judged only by
 * its heartbeat (and one that never sent any, e.g. php-resque's, is never pruned); a worker on this
 * host is judged by its pid only when it is ours. Silence is judged only once Redis has been
 * reachable for as long as the limit (its uptime, and this connection's time since it came back):
 * an outage stops every worker's heartbeats, and a live worker still reconnecting would otherwise
 * be taken for dead, its jobs run a second time.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load-config.ts';
import { host } from '../jobs/payload.ts';
import { type Logger, silentLogger } from '../log.ts';
import { secondsSinceReconnect } from '../redis/connection.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import type { PeriodicTask } from '../supervisor/periodic-tasks.ts';
import { pidNamespace, processAlive } from '../util/process-alive.ts';
import { DEFAULT_POISON_LIMIT, type RecoverOptions, recoverWorker } from './recover-worker.ts';

export interface PruneOptions {
  /** Seconds without a heartbeat after which a worker is dead (worker.deadAfter). */
  deadAfter: number;
  mode?: 'requeue' | 'fail';
  poisonLimit?: number;
  statusTtl?: number;
  logger?: Logger;
  /** How long the lock is held at most, should a pruner die mid-run. */
  lockTtlMs?: number;
  /**
   * A periodic run (ms between runs): skipped when any process completed one less than this ago
   * (by Redis's clock; a run that deferred a verdict does not count). Every `work` and `start`
   * runs the pruner every pruneInterval, and one run per interval, whichever process makes it, is
   * enough. A start-up run has none: it always runs (a crashed supervisor's successor recovers its
   * workers at once).
   */
  periodMs?: number;
  /** This host's name (tests pretend to be another host). */
  hostName?: string;
  /**
   * Seconds Redis has been reachable without a break: read from Redis's uptime and this
   * connection's last reconnect (tests pretend a Redis that has been up for long).
   */
  reachableFor?: number;
}

export interface PrunedWorker {
  workerId: string;
  rule: 'heartbeat' | 'process-gone' | 'orphan';
  reason: string;
  requeued: number;
  failed: number;
}

export interface PruneResult {
  /** False when another pruner held the lock: nothing was checked. */
  ran: boolean;
  pruned: PrunedWorker[];
  /** Judged dead, but showed a sign of life before it was recovered. */
  skipped: string[];
}

/** Our mark in `rw:workers`, written by heartbeat.lua. */
interface OurMark {
  host: string;
  pidns: string;
  pid: number;
  beat: number;
}

const INFLIGHT_SUFFIX = ':inflight';

/** Ruby Resque prunes a worker silent for prune_interval: heartbeat_interval (60) x 5. */
export const PEER_DEAD_AFTER = 300;

export async function pruneDeadWorkers(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  options: PruneOptions,
): Promise<PruneResult> {
  const log = options.logger ?? silentLogger;
  if (options.periodMs && (await ranWithin(redis, keys, options.periodMs)))
    return { ran: false, pruned: [], skipped: [] };
  const token = randomBytes(16).toString('hex');
  const locked = await redis.set(keys.pruneLock, token, 'PX', options.lockTtlMs ?? 10_000, 'NX');
  if (locked !== 'OK') return { ran: false, pruned: [], skipped: [] };
  try {
    return await prune(redis, keys, options, log);
  } finally {
    await redis['release-lock'](keys.pruneLock, token).catch(() => {
      // The lock expires by itself.
    });
  }
}

async function prune(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  options: PruneOptions,
  log: Logger,
): Promise<PruneResult> {
  const [[, time], [, registered], [, beats], [, marks], [, server]] = ((await redis
    .pipeline()
    .time()
    .smembers(keys.workers)
    .hgetall(keys.heartbeats)
    .hgetall(keys.ourWorkers)
    .info('server')
    .exec()) ?? []) as [unknown, unknown][] as [
    [unknown, [string, string]],
    [unknown, string[]],
    [unknown, Record<string, string>],
    [unknown, Record<string, string>],
    [unknown, string],
  ];
  const now = Number(time[0]);
  const uptime = Number(/uptime_in_seconds:(\d+)/.exec(server)?.[1] ?? Number.POSITIVE_INFINITY);
  const reachableFor = options.reachableFor ?? Math.min(uptime, secondsSinceReconnect(redis));
  const deferred: string[] = [];
  const workers = new Set(registered);
  const inflight = await inflightOwners(redis, keys);
  const me = { host: options.hostName ?? host(), pidns: pidNamespace() };

  const ids = new Set([...workers, ...Object.keys(beats), ...Object.keys(marks), ...inflight]);
  const result: PruneResult = { ran: true, pruned: [], skipped: [] };
  for (const id of ids) {
    const beat = beats[id] ?? null;
    const beatAge = beat === null ? null : ageOf(beat, now);
    const mark = parseMark(marks[id]);
    const verdict = judge({
      beat,
      beatAge,
      mark,
      registered: workers.has(id),
      hasInflight: inflight.has(id),
      now,
      me,
      deadAfter: options.deadAfter,
      reachableFor,
    });
    if (verdict === DEFERRED) deferred.push(id);
    if (!verdict || verdict === DEFERRED) continue;
    const recover: RecoverOptions = {
      mode: options.mode ?? 'requeue',
      poisonLimit: options.poisonLimit ?? DEFAULT_POISON_LIMIT,
      statusTtl: options.statusTtl ?? 86400,
      reason: `pruned dead worker ${id}: ${verdict.reason}`,
      exception: 'DirtyExit',
      log,
    };
    if (verdict.guard) recover.guard = { kind: verdict.guard, seenHeartbeat: beat };
    const r = await recoverWorker(redis, keys, id, recover);
    if (r.skipped) {
      result.skipped.push(id);
      log.info({ event: 'prune.skipped', workerId: id }, 'worker showed a sign of life: not pruned');
      continue;
    }
    result.pruned.push({ workerId: id, rule: verdict.rule, reason: verdict.reason, ...r });
    log[r.requeued + r.failed > 0 ? 'warn' : 'info'](
      { event: 'prune.worker', workerId: id, rule: verdict.rule, reason: verdict.reason, ...r },
      `pruned dead worker (${verdict.reason}): ${r.requeued} jobs requeued, ${r.failed} failed`,
    );
  }
  // Complete: periodic runs of this and other processes may skip until a period has passed.
  if (deferred.length === 0) await redis.set(keys.pruneRecent, String(msOf(time)), 'PX', DAY_MS);
  if (deferred.length > 0)
    log.info(
      { event: 'prune.deferred', workerIds: deferred, reachableForS: Math.floor(reachableFor) },
      `silent workers not judged yet: Redis reachable for only ${Math.floor(reachableFor)} s`,
    );
  return result;
}

interface Facts {
  beat: string | null;
  beatAge: number | null;
  mark: OurMark | null;
  registered: boolean;
  hasInflight: boolean;
  now: number;
  me: { host: string; pidns: string };
  deadAfter: number;
  /** Seconds Redis has been reachable without a break (its uptime, this connection's). */
  reachableFor: number;
}

interface Verdict {
  rule: PrunedWorker['rule'];
  reason: string;
  guard?: 'heartbeat' | 'orphan';
}

/** Silent, but Redis has not been reachable long enough to tell silence from an outage. */
const DEFERRED = 'deferred';

/** The three rules; null means alive, or not ours to judge. */
function judge(f: Facts): Verdict | typeof DEFERRED | null {
  const mark = f.mark;
  // First: a process of ours on this machine that is gone is dead for sure, outage or not.
  if (mark && mark.host === f.me.host && mark.pidns === f.me.pidns && !processAlive(mark.pid)) {
    return { rule: 'process-gone', reason: `process ${mark.pid} on ${mark.host} is gone` };
  }
  // A peer beats on its own schedule: Ruby's prunes at 300 s, whatever ours is set to.
  const limit = mark ? f.deadAfter : Math.max(f.deadAfter, PEER_DEAD_AFTER);
  if (f.beatAge !== null && f.beatAge > limit) {
    if (f.reachableFor < limit) return DEFERRED;
    return {
      rule: 'heartbeat',
      reason: `no heartbeat for ${f.beatAge} s (limit ${limit} s)`,
      guard: 'heartbeat',
    };
  }
  const markStale = !mark || f.now - mark.beat > f.deadAfter;
  if (!f.registered && f.beat === null && markStale && (f.hasInflight || mark)) {
    if (f.reachableFor < f.deadAfter) return DEFERRED;
    return {
      rule: 'orphan',
      reason: f.hasInflight
        ? 'not registered (unregistered by a peer?) and silent, with jobs in flight'
        : `our mark silent for more than ${f.deadAfter} s`,
      guard: 'orphan',
    };
  }
  return null;
}

/** Seconds since an ISO 8601 heartbeat; null when it does not parse (then it is not judged). */
function ageOf(beat: string, now: number): number | null {
  const t = Date.parse(beat);
  return Number.isNaN(t) ? null : Math.floor(now - t / 1000);
}

function parseMark(raw: string | undefined): OurMark | null {
  if (!raw) return null;
  try {
    const m = JSON.parse(raw) as Partial<OurMark>;
    if (typeof m.host !== 'string' || typeof m.pid !== 'number' || typeof m.beat !== 'number') return null;
    return { host: m.host, pidns: typeof m.pidns === 'string' ? m.pidns : '', pid: m.pid, beat: m.beat };
  } catch {
    return null;
  }
}

/** Worker ids that have an in-flight list (SCAN; a Resque `worker:<id>` string whose id ends in `:inflight` is not one). */
async function inflightOwners(redis: ScriptedRedis, keys: ResqueKeys): Promise<Set<string>> {
  const prefix = keys.worker('');
  const pattern = `${escapeGlob(prefix)}*${INFLIGHT_SUFFIX}`;
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  if (found.length === 0) return new Set();
  const pipe = redis.pipeline();
  for (const key of found) pipe.type(key);
  const types = ((await pipe.exec()) ?? []).map(([, t]) => t);
  return new Set(
    found
      .filter((_, i) => types[i] === 'list')
      .map((key) => key.slice(prefix.length, key.length - INFLIGHT_SUFFIX.length)),
  );
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

const PRUNE_ERROR = { event: 'prune.error', msg: 'could not prune dead workers' };

/**
 * The first prune of a `work` or `start`, as Ruby's worker does at start-up: in the background, so
 * an outage does not hold the start; dead workers of a previous run are recovered at once.
 */
export function pruneAtStart(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  config: Readonly<Config>,
  log: Logger,
): void {
  pruneDeadWorkers(redis, keys, pruneOptionsFrom(config, log)).catch((err: Error) =>
    log.warn({ event: PRUNE_ERROR.event, err: err.message }, PRUNE_ERROR.msg),
  );
}

/** The pruner as a periodic task (of the supervisor, or of `work`); config is re-read on every run (HUP). */
export function pruneTask(intervalMs: number): PeriodicTask {
  return {
    name: 'prune-dead-workers',
    intervalMs,
    onError: PRUNE_ERROR,
    run: (ctx) =>
      pruneDeadWorkers(ctx.redis, ctx.keys, {
        ...pruneOptionsFrom(ctx.config, ctx.log),
        periodMs: periodOf(intervalMs),
      }),
  };
}

const DAY_MS = 86_400_000;

/** Whether any process completed a run less than `periodMs` ago (rw:prune-recent, Redis's clock). */
async function ranWithin(redis: ScriptedRedis, keys: ResqueKeys, periodMs: number): Promise<boolean> {
  const [[, last], [, time]] = ((await redis.pipeline().get(keys.pruneRecent).time().exec()) ?? []) as [
    [unknown, string | null],
    [unknown, [string, string]],
  ];
  return last !== null && msOf(time) - Number(last) < periodMs;
}

/** Redis TIME as unix ms. */
function msOf([seconds, micros]: [string, string]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A little less than the interval, so this process's own next run is not skipped for its last. */
export function periodOf(intervalMs: number): number {
  return Math.max(1, Math.floor(intervalMs - Math.min(1000, intervalMs / 10)));
}

export function pruneOptionsFrom(config: Readonly<Config>, logger: Logger): PruneOptions {
  return {
    deadAfter: config.worker.deadAfter,
    mode: config.supervisor.deadWorkerJobs,
    poisonLimit: config.worker.poisonLimit,
    statusTtl: config.worker.statusTtl,
    logger,
  };
}
