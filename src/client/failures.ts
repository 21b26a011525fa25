/**
 * The `failed` list, read and edited as Ruby's Resque::Failure::Redis does: by index. A retry
 * re-enqueues the original payload (same id, so a tracked status follows it) and marks the record
 * with `retried_at`; removal swaps the item for a unique marker, then LREMs the marker.
 */
import { randomBytes } from 'node:crypto';
import { ReplyError } from 'ioredis';
import { rubyFailedAt } from '../jobs/payload.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { jsonObjectOrText } from '../util/json-object-or-text.ts';
import { rawJsonValue, setRawJsonValue } from '../util/raw-json-value.ts';
import { lostWrite } from './redis-unavailable.ts';

export interface FailureRecord {
  failed_at: string;
  payload: unknown;
  exception: string;
  error: string;
  backtrace: string[];
  worker: string;
  queue: string;
  retried_at?: string;
  [extra: string]: unknown;
}

export class Failures {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: ResqueKeys,
    private readonly ensureUp: () => Promise<void>,
  ) {}

  async count(): Promise<number> {
    await this.ensureUp();
    return this.redis.llen(this.keys.failed);
  }

  /**
   * Records from `start`, `count` of them. One that is not a JSON object comes back as its raw
   * string, for a person to read.
   */
  async list(start = 0, count = 100): Promise<(FailureRecord | string)[]> {
    await this.ensureUp();
    if (count <= 0) return [];
    const raw = await this.redis.lrange(this.keys.failed, start, start + count - 1);
    return raw.map((r) => jsonObjectOrText<FailureRecord>(r));
  }

  /**
   * Puts the failed job at `index` back on its queue and marks the record `retried_at`; returns
   * false if it cannot be retried (not a record, no queue) or if the record at `index` changed
   * between this call's read and its write (retried or removed by someone else meanwhile): then
   * nothing was done. Read and write are checked in one script, so a retry never overwrites
   * another record or requeues a job twice.
   */
  async retry(index: number): Promise<boolean> {
    await this.ensureUp();
    const raw = await this.redis.lindex(this.keys.failed, index);
    if (raw === null) return false;
    const record = jsonObjectOrText<FailureRecord>(raw);
    if (typeof record === 'string') return false; // nothing we could requeue; left for a person to read
    if (typeof record.queue !== 'string' || !record.queue || record.payload === undefined) return false;
    // The payload goes back byte for byte (re-serialising would round big integers and turn 1.0 into 1).
    const payload =
      typeof record.payload === 'string'
        ? record.payload
        : (rawJsonValue(raw, 'payload') ?? JSON.stringify(record.payload));
    // Ruby writes retried_at in local time with no zone; ours says UTC, as failed_at does, so
    // resque-web's browser-side dates read it right on any server. The record is edited as text:
    // re-serialising it would round its payload's numbers too.
    const retriedAt = JSON.stringify(rubyFailedAt());
    const marked = setRawJsonValue(raw, 'retried_at', retriedAt);
    const k = this.keys;
    const keys = [k.failed, k.queues, k.queue(record.queue)];
    const args = [index, raw, marked, payload, record.queue];
    const id = (record.payload as { id?: unknown })?.id;
    if (typeof id === 'string') {
      const prefix = (record.payload as { prefix?: unknown }).prefix;
      keys.push(k.jobStatus(id, typeof prefix === 'string' ? prefix : ''));
      const now = Math.floor(Date.now() / 1000);
      args.push(JSON.stringify({ status: 1, updated: now, started: now, result: null }));
    }
    try {
      return (await this.redis['retry-failure'](keys.length, ...keys, ...args)) === 1;
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      throw lostWrite(
        this.redis,
        `the retry of failure ${index}`,
        'it may or may not have been requeued',
        err as Error,
      );
    }
  }

  /** Retries every failure; returns how many were requeued. */
  async retryAll(): Promise<number> {
    const n = await this.count();
    let retried = 0;
    for (let i = 0; i < n; i++) if (await this.retry(i)) retried++;
    return retried;
  }

  async remove(index: number): Promise<boolean> {
    await this.ensureUp();
    const marker = `__resque_worker_delete_${randomBytes(8).toString('hex')}__`;
    try {
      await this.redis.lset(this.keys.failed, index, marker);
    } catch (err) {
      if (/index out of range|no such key/i.test((err as Error).message)) return false;
      throw err; // a failed list of the wrong type, or Redis gone: not "no such record"
    }
    return (await this.redis.lrem(this.keys.failed, 1, marker)) === 1;
  }

  async clear(): Promise<number> {
    await this.ensureUp();
    const n = await this.redis.llen(this.keys.failed);
    await this.redis.del(this.keys.failed);
    return n;
  }
}
