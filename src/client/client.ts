/**
 * The client library, for any Node app that shares the Redis.
 *
 * Duties:
 *  1. enqueue one job or many in one round trip (enqueue.lua: RPUSH + SADD queues, atomically),
 *     optionally tracked with a php-resque status; wake idle workers
 *  2. read a job's status (waiting / running / failed / complete, or unknown)
 *  3. inspect and edit queues: list, size, peek, remove a queue, remove jobs by class and args
 *  4. schedule jobs (resque-scheduler's delayed queue), list them, cancel them
 *  5. read workers and stats; failures live in `client.failures` (failures.ts)
 */
import { randomUUID } from 'node:crypto';
import { ReplyError } from 'ioredis';
import { type RecurringJob, recurringRunsField } from '../config/recurring-schedule.ts';
import { assertQueueName } from '../config/schema.ts';
import { type JobArgs, jobNameOf } from '../jobs/job.ts';
import { buildPayload, buildScheduledItem, newJobId } from '../jobs/payload.ts';
import { type Logger, silentLogger } from '../log.ts';
import {
  closeRedis,
  createRedis,
  lastRedisError,
  REFUSED_SETTING,
  redisAddress,
} from '../redis/connection.ts';
import { DEFAULT_NAMESPACE, type ResqueKeys, resqueKeys } from '../redis/keys.ts';
import { checkRedisUrl } from '../redis/redis-url.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { jsonObjectOrText } from '../util/json-object-or-text.ts';
import { Failures } from './failures.ts';
import { jobMatcher, parseOrRaw, statusKeysOf } from './job-payloads.ts';
import { lostWrite, RedisUnavailableError } from './redis-unavailable.ts';
import { listScheduled, type ScheduledJob, unschedule } from './scheduled-jobs.ts';

export { RedisUnavailableError };

export interface ClientOptions {
  /** redis:// or rediss:// URL (default REDIS_URL or redis://127.0.0.1:6379). */
  redisUrl?: string;
  /** An existing connection (its scripts are defined on it); the client will not close it. */
  redis?: ScriptedRedis;
  namespace?: string;
  logger?: Logger;
}

export interface EnqueueOptions {
  /** Create a php-resque status key so `status(id)` can follow the job. */
  trackStatus?: boolean;
  /** Use this id instead of a new random one (32 hex). */
  id?: string;
}

export interface JobSpec {
  className: string;
  args?: unknown[];
  id?: string;
}

export const STATUS = { waiting: 1, running: 2, failed: 3, complete: 4 } as const;
export type StatusName = keyof typeof STATUS | 'unknown';

export interface JobStatus {
  status: StatusName;
  /** php-resque's numeric code (1-4), or null when unknown. */
  code: number | null;
  updated?: number;
  started?: number;
  /** What perform returned (php-resque's `result`). */
  result?: unknown;
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: string;
  queues: string[];
  started: string | null;
  heartbeat: string | null;
  /**
   * What it is doing: Ruby's `{queue, run_at, payload}`, or null when idle; a record that is not a
   * JSON object (written by some other tool) as its raw text.
   */
  job: { queue: string; run_at: string; payload: unknown } | string | null;
  processed: number;
  failed: number;
}

export interface Stats {
  processed: number;
  failed: number;
  pending: number;
  queues: number;
  workers: number;
  working: number;
  /**
   * Jobs our workers hold, running or reserved ahead (prefetch): their in-flight lists. Not in
   * `pending`, and `working` counts a worker once however many it runs. Peers' jobs are not here.
   */
  inFlight: number;
  failures: number;
}

/** Jobs per enqueue script call: well below the argument count that overflows the stack. */
const ENQUEUE_CHUNK = 10_000;
/** Payloads read per LRANGE when a removed queue's statuses are dropped. */
const REMOVE_CHUNK = 1000;
/** A queue being removed is renamed to a key that lives this long if the remover dies. */
const REMOVING_TTL_S = 3600;

const STATUS_NAMES: Record<number, StatusName> = { 1: 'waiting', 2: 'running', 3: 'failed', 4: 'complete' };

export class ResqueClient {
  readonly keys: ResqueKeys;
  readonly redis: ScriptedRedis;
  readonly failures: Failures;
  readonly #ownsConnection: boolean;
  #wasReady: boolean;
  #closed = false;

  constructor(options: ClientOptions = {}) {
    this.keys = resqueKeys(options.namespace ?? DEFAULT_NAMESPACE);
    this.#ownsConnection = !options.redis;
    const url = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    if (!options.redis) {
      try {
        checkRedisUrl(url);
      } catch (err) {
        throw new TypeError(`redisUrl ${(err as Error).message}`);
      }
    }
    this.redis =
      options.redis ??
      createRedis({
        url,
        name: `resque-worker:client:${process.pid}`,
        logger: options.logger ?? silentLogger,
        failFast: true,
      });
    this.failures = new Failures(this.redis, this.keys, () => this.#ensureUp());
    this.#wasReady = this.redis.status === 'ready';
    if (!this.#wasReady)
      this.redis.once('ready', () => {
        this.#wasReady = true;
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#ownsConnection) await closeRedis(this.redis);
  }

  /**
   * Enqueues one job; returns its id. A direct script call, not enqueueMany's pipeline: one job
   * awaited at a time is the web-request case, and the pipeline, arrays and chunking cost more
   * than the job itself there.
   */
  async enqueue(
    queue: string,
    className: string,
    args: unknown[] = [],
    options: EnqueueOptions = {},
  ): Promise<string> {
    assertQueueName(queue);
    if (this.redis.status !== 'ready' || this.#closed) await this.#ensureUp();
    const k = this.keys;
    const id = options.id || newJobId();
    const payload = buildPayload(className, args, id);
    try {
      if (options.trackStatus)
        await this.redis.enqueue(3, k.queues, k.queue(queue), k.jobStatus(id), k.prefix, queue, '1', payload);
      else await this.redis.enqueue(2, k.queues, k.queue(queue), k.prefix, queue, '', payload);
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      throw lostEnqueue(this.redis, queue, [id], err as Error);
    }
    return id;
  }

  /**
   * Schedules a job for `at` (a Date, or unix ms), as resque-scheduler's enqueue_at and in its
   * layout: the scheduler of `start` and `work` (or Ruby's resque-scheduler) puts it on its queue
   * once due. Whole seconds, rounded up (never early); a time past is due at once. A tracked job
   * is `waiting` until it runs. Returns the job id.
   */
  async enqueueAt(
    at: Date | number,
    queue: string,
    className: string,
    args: unknown[] = [],
    options: EnqueueOptions = {},
  ): Promise<string> {
    assertQueueName(queue);
    const ms = at instanceof Date ? at.getTime() : at;
    // Date's own range: beyond it a timestamp names no time (and would make an odd key).
    if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
      throw new TypeError(`enqueueAt: not a time: ${String(at)}`);
    const timestamp = Math.ceil(ms / 1000);
    const id = options.id || newJobId();
    const item = buildScheduledItem(className, args, queue, id);
    await this.#ensureUp();
    const k = this.keys;
    const tx = this.redis
      .multi()
      .rpush(k.delayed(timestamp), item)
      .sadd(k.delayedTimestamps(item), k.delayedMember(timestamp))
      .zadd(k.delayedSchedule, timestamp, timestamp);
    if (options.trackStatus) {
      const now = Math.floor(Date.now() / 1000);
      tx.set(k.jobStatus(id), JSON.stringify({ status: 1, updated: now, started: now, result: null }));
    }
    let results: [Error | null, unknown][];
    try {
      results = (await tx.exec()) ?? [];
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      throw lostEnqueue(this.redis, queue, [id], err as Error);
    }
    for (const [err] of results) if (err) throw err;
    return id;
  }

  /** enqueueAt, `seconds` from now (resque-scheduler's enqueue_in). */
  async enqueueIn(
    seconds: number,
    queue: string,
    className: string,
    args: unknown[] = [],
    options: EnqueueOptions = {},
  ): Promise<string> {
    if (typeof seconds !== 'number' || !(seconds >= 0))
      throw new TypeError(`enqueueIn: seconds must be >= 0, got ${seconds}`);
    return this.enqueueAt(Date.now() + seconds * 1000, queue, className, args, options);
  }

  /**
   * Typed enqueue: `enqueueJob('mail', SendEmail, 'a@b.c', 'hi')` checks args against perform's.
   * The payload's class is the job's `jobName`, else its own name (a class's or a function's):
   * give a job `static jobName` when the worker knows it by another (an alias export, a Ruby or PHP
   * name in a default-export map, minified code) or when it is an object.
   */
  async enqueueJob<J extends object>(queue: string, job: J, ...args: JobArgs<J>): Promise<string> {
    const name = jobNameOf(job) ?? (typeof job === 'function' ? (job as { name: string }).name : '');
    if (!name)
      throw new TypeError(
        'enqueueJob: this job has no name to enqueue it by: give it a jobName (static jobName = ...)',
      );
    return this.enqueue(queue, name, args);
  }

  /**
   * Enqueues many jobs on one queue in one round trip (one pipeline of script calls of up to
   * ENQUEUE_CHUNK jobs each, so any number of jobs fits); returns their ids in order. Each chunk
   * is atomic; a failure part-way leaves the earlier chunks enqueued and rejects.
   */
  async enqueueMany(
    queue: string,
    jobs: readonly JobSpec[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    assertQueueName(queue);
    await this.#ensureUp();
    const k = this.keys;
    const ids: string[] = [];
    const pipe = this.redis.pipeline() as unknown as ScriptedRedis & {
      exec(): ReturnType<ScriptedRedis['exec']>;
    };
    for (let start = 0; start < jobs.length; start += ENQUEUE_CHUNK) {
      const payloads: string[] = [];
      const statusKeys: string[] = [];
      for (const job of jobs.slice(start, start + ENQUEUE_CHUNK)) {
        const id = job.id || newJobId(); // as enqueue: an empty id would name a status key no script finds
        try {
          payloads.push(buildPayload(job.className, job.args ?? [], id));
        } catch (err) {
          // Before anything is sent: the pipeline goes unsent.
          if (err instanceof TypeError) err.message = `jobs[${ids.length}]: ${err.message}`;
          throw err;
        }
        ids.push(id);
        if (options.trackStatus) statusKeys.push(k.jobStatus(id));
      }
      // biome-ignore format: the enqueue.lua header, one line per KEYS/ARGV group
      pipe.enqueue(
        2 + statusKeys.length,
        k.queues, k.queue(queue), ...statusKeys,
        k.prefix, queue, options.trackStatus ? '1' : '',
        ...payloads,
      );
    }
    if (ids.length === 0) return ids;
    let results: [Error | null, unknown][];
    try {
      results = (await pipe.exec()) ?? [];
    } catch (err) {
      throw lostEnqueue(this.redis, queue, ids, err as Error);
    }
    for (const [err] of results) {
      if (err instanceof ReplyError) throw err;
      if (err) throw lostEnqueue(this.redis, queue, ids, err);
    }
    return ids;
  }

  /** php-resque's status of a tracked job; `unknown` when untracked or expired. */
  async status(id: string, prefix = ''): Promise<JobStatus> {
    await this.#ensureUp();
    const raw = await this.redis.get(this.keys.jobStatus(id, prefix));
    if (raw === null) return { status: 'unknown', code: null };
    try {
      const s = JSON.parse(raw) as { status: number; updated?: number; started?: number; result?: unknown };
      return {
        status: STATUS_NAMES[s.status] ?? 'unknown',
        code: s.status,
        updated: s.updated,
        started: s.started,
        result: s.result,
      };
    } catch {
      return { status: 'unknown', code: null };
    }
  }

  async queues(): Promise<string[]> {
    await this.#ensureUp();
    return (await this.redis.smembers(this.keys.queues)).sort();
  }

  async size(queue: string): Promise<number> {
    await this.#ensureUp();
    return this.redis.llen(this.keys.queue(queue));
  }

  /** Payloads from `start`, `count` of them (parsed; unparsable ones as raw strings). */
  async peek(queue: string, start = 0, count = 1): Promise<unknown[]> {
    await this.#ensureUp();
    if (count <= 0) return []; // an LRANGE to start - 1 would be the whole queue
    const raw = await this.redis.lrange(this.keys.queue(queue), start, start + count - 1);
    return raw.map(parseOrRaw);
  }

  /**
   * Removes the queue and its jobs (Resque.remove_queue, resque-web's "remove queue"); returns how
   * many jobs went. Tracked ones lose their status too, which would otherwise say waiting for ever.
   * The queue is renamed away in one MULTI, so exactly the jobs removed lose their status: a job
   * enqueued meanwhile starts a new queue, one reserved meanwhile is not among them. The renamed
   * list expires on its own should this process die before deleting it.
   */
  async removeQueue(queue: string): Promise<number> {
    await this.#ensureUp();
    const doomed = `${this.keys.queue(queue)}:removing:${randomUUID()}`;
    const [, renamed] =
      (await this.redis
        .multi()
        .srem(this.keys.queues, queue)
        .rename(this.keys.queue(queue), doomed)
        .expire(doomed, REMOVING_TTL_S)
        .exec()) ?? [];
    if (renamed?.[0]) {
      if (/no such key/i.test(renamed[0].message)) return 0;
      throw renamed[0];
    }
    let removed = 0;
    try {
      for (let start = 0; ; start += REMOVE_CHUNK) {
        const chunk = await this.redis.lrange(doomed, start, start + REMOVE_CHUNK - 1);
        removed += chunk.length;
        const statuses = statusKeysOf(this.keys, chunk);
        if (statuses.length > 0) await this.redis.del(...statuses);
        if (chunk.length < REMOVE_CHUNK) break;
      }
    } catch (err) {
      (err as Error).message =
        `queue ${queue} was removed with its jobs, but dropping their statuses failed part-way: ${(err as Error).message}`;
      throw err;
    }
    // UNLINK: a big queue is freed in the background, not while Redis blocks.
    await this.redis.unlink(doomed);
    return removed;
  }

  /**
   * Removes the jobs of a class (and, if given, with these args) from a queue; returns how many
   * (matched as jobMatcher says).
   */
  async dequeue(queue: string, className: string, args?: unknown[]): Promise<number> {
    await this.#ensureUp();
    const key = this.keys.queue(queue);
    const raw = await this.redis.lrange(key, 0, -1);
    const isWanted = jobMatcher(className, args);
    const matching = raw.filter((r) => isWanted(r, parseOrRaw(r)));
    if (matching.length === 0) return 0;
    const pipe = this.redis.pipeline();
    for (const r of matching) pipe.lrem(key, 1, r);
    const results = (await pipe.exec()) ?? [];
    // A tracked job taken out will never run: its status goes too, rather than say waiting for ever.
    const statuses = statusKeysOf(
      this.keys,
      matching.filter((_, i) => Number(results[i]?.[1] ?? 0) > 0),
    );
    if (statuses.length > 0) await this.redis.del(...statuses);
    return results.reduce((n, [, v]) => n + Number(v ?? 0), 0);
  }

  /**
   * The last run each recurring job's schedulers handled (unix seconds; null for none yet): the
   * run enqueued, or skipped as missed, or where the job started. The schedule itself is in the
   * config (config.scheduler.schedule), not in Redis.
   */
  async lastHandledRuns(jobs: readonly RecurringJob[]): Promise<Record<string, number | null>> {
    if (jobs.length === 0) return {};
    await this.#ensureUp();
    const runs = await this.redis.hmget(this.keys.recurringLastRuns, ...jobs.map(recurringRunsField));
    return Object.fromEntries(jobs.map((job, i) => [job.name, runs[i] == null ? null : Number(runs[i])]));
  }

  /**
   * The first `count` scheduled jobs, soonest first: when each is due (unix seconds) and its item
   * `{class, args, queue, id}` (parsed; an unparsable one as its raw string).
   */
  async scheduled(count = 20): Promise<ScheduledJob[]> {
    await this.#ensureUp();
    return listScheduled(this.redis, this.keys, count);
  }

  /**
   * Removes scheduled jobs (enqueueAt/enqueueIn, or Ruby's enqueue_at) of a class for a queue, and,
   * if given, with these args, as resque-scheduler's remove_delayed; returns how many. Matches as
   * dequeue does. Reads the whole schedule: for cancelling now and then, not on every request
   * against a large one. A tracked job removed loses its status.
   */
  async removeScheduled(queue: string, className: string, args?: unknown[]): Promise<number> {
    const isWanted = jobMatcher(className, args);
    return this.#unschedule((item, p) => p.queue === queue && isWanted(item, p));
  }

  /**
   * Cancels the scheduled job with this id (enqueueAt's; every copy, should one id have been given
   * twice); false if it is not scheduled (any more).
   */
  async cancelScheduled(id: string): Promise<boolean> {
    return (await this.#unschedule((_, p) => p.id === id)) > 0;
  }

  async #unschedule(isWanted: (item: string, parsed: Record<string, unknown>) => boolean): Promise<number> {
    await this.#ensureUp();
    return unschedule(this.redis, this.keys, isWanted);
  }

  async workers(): Promise<WorkerInfo[]> {
    await this.#ensureUp();
    const k = this.keys;
    const ids = (await this.redis.smembers(k.workers)).sort();
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) {
      pipe.get(k.worker(id)).get(k.workerStarted(id)).hget(k.heartbeats, id);
      pipe.get(k.workerStatProcessed(id)).get(k.workerStatFailed(id));
    }
    const r = ((await pipe.exec()) ?? []).map(([, v]) => v as string | null);
    return ids.map((id, i) => {
      const [hostName = '', pid = '', queues = ''] = splitWorkerId(id);
      const job = r[i * 5];
      return {
        id,
        host: hostName,
        pid,
        queues: queues.split(','),
        started: r[i * 5 + 1] ?? null,
        heartbeat: r[i * 5 + 2] ?? null,
        job: job ? jsonObjectOrText<Exclude<WorkerInfo['job'], string | null>>(job) : null,
        processed: Number(r[i * 5 + 3] ?? 0),
        failed: Number(r[i * 5 + 4] ?? 0),
      };
    });
  }

  /** Resque.info: counters, pending jobs over all queues, workers and how many are working. */
  async stats(): Promise<Stats> {
    await this.#ensureUp();
    const k = this.keys;
    const [queues, workers, processed, failed, failures] = await Promise.all([
      this.redis.smembers(k.queues),
      this.redis.smembers(k.workers),
      this.redis.get(k.statProcessed),
      this.redis.get(k.statFailed),
      this.redis.llen(k.failed),
    ]);
    const pipe = this.redis.pipeline();
    for (const q of queues) pipe.llen(k.queue(q));
    for (const w of workers) pipe.exists(k.worker(w));
    for (const w of workers) pipe.llen(k.workerInflight(w));
    const r = ((await pipe.exec()) ?? []).map(([, v]) => Number(v ?? 0));
    const sum = (from: number, to: number) => r.slice(from, to).reduce((a, b) => a + b, 0);
    const q = queues.length;
    const w = workers.length;
    return {
      processed: Number(processed ?? 0),
      failed: Number(failed ?? 0),
      pending: sum(0, q),
      queues: q,
      workers: w,
      working: sum(q, q + w),
      inFlight: sum(q + w, q + 2 * w),
      failures,
    };
  }

  /**
   * Fails fast while Redis is unreachable (a web request must not hang on an enqueue), but waits
   * for the first connection of a new client.
   */
  async #ensureUp(): Promise<void> {
    if (this.#closed) throw new Error('ResqueClient is closed: make a new one');
    const status = this.redis.status;
    if (status === 'ready') return;
    // Only a first connection is waited for; once Redis was reached, its absence is an outage.
    if (!this.#wasReady && (status === 'wait' || status === 'connecting' || status === 'connect')) {
      const ok = await new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          this.redis.off('ready', onReady);
          this.redis.off('error', onError);
          resolve(v);
        };
        const onReady = () => done(true);
        const onError = () => done(false);
        this.redis.once('ready', onReady);
        this.redis.once('error', onError);
      });
      if (ok) return;
    }
    const why = lastRedisError(this.redis) ?? `connection ${this.redis.status}`;
    const address = redisAddress(this.redis);
    throw new RedisUnavailableError(
      REFUSED_SETTING.test(why)
        ? `Redis at ${address} refused this connection's settings (${why}): check the password and database number of the Redis URL; nothing was written`
        : `Redis at ${address} is unreachable (${why}); nothing was written`,
    );
  }
}

/** Sent, then Redis went away before it answered: the jobs may or may not be queued. */
function lostEnqueue(redis: ScriptedRedis, queue: string, ids: string[], err: Error): RedisUnavailableError {
  const shown = `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', ...' : ''}`;
  return lostWrite(
    redis,
    `the enqueue of ${ids.length} job(s) to ${JSON.stringify(queue)}`,
    `they may or may not have been queued (ids ${shown})`,
    err,
  );
}

/** Worker ids are `host:pid:queues`; queues may hold further colons, as Ruby's split(':', 3). */
export function splitWorkerId(id: string): [string, string, string] {
  const a = id.indexOf(':');
  const b = id.indexOf(':', a + 1);
  if (a < 0 || b < 0) return [id, '', ''];
  return [id.slice(0, a), id.slice(a + 1, b), id.slice(b + 1)];
}
