/**
 * The `failed` list, read and edited as Ruby's Resque::Failure::Redis does: by index. A retry
 * re-enqueues the original payload (same id, so a tracked status follows it) and marks the record
 * with `retried_at`; removal swaps the item for a unique marker, then LREMs the marker.
 */
import { randomBytes } from 'node:crypto';
import { rubyFailedAt } from '../jobs/payload.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { rawJsonValue, replaceRawJsonValue } from '../util/raw-json-value.ts';

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

  /** Records from `start`, `count` of them. A record that is not JSON comes back as its raw string. */
  async list(start = 0, count = 100): Promise<(FailureRecord | string)[]> {
    await this.ensureUp();
    const raw = await this.redis.lrange(this.keys.failed, start, start + count - 1);
    return raw.map((r) => {
      try {
        return JSON.parse(r) as FailureRecord;
      } catch {
        return r;
      }
    });
  }

  /** Puts the failed job at `index` back on its queue; returns false if it cannot be retried. */
  async retry(index: number): Promise<boolean> {
    await this.ensureUp();
    const raw = await this.redis.lindex(this.keys.failed, index);
    if (raw === null) return false;
    let record: FailureRecord;
    try {
      record = JSON.parse(raw) as FailureRecord;
    } catch {
      return false; // not JSON: nothing we could requeue; leave it for a person to read
    }
    // JSON that is not a record (null, a number, an array): nothing to requeue either
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return false;
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
    const marked =
      (record.retried_at !== undefined && replaceRawJsonValue(raw, 'retried_at', retriedAt)) ||
      `${raw.slice(0, raw.lastIndexOf('}'))},"retried_at":${retriedAt}}`;
    const k = this.keys;
    const multi = this.redis
      .multi()
      .lset(k.failed, index, marked)
      .rpush(k.queue(record.queue), payload)
      .sadd(k.queues, record.queue);
    const id = (record.payload as { id?: unknown })?.id;
    if (typeof id === 'string') {
      const prefix = (record.payload as { prefix?: unknown }).prefix;
      const statusKey = k.jobStatus(id, typeof prefix === 'string' ? prefix : '');
      const now = Math.floor(Date.now() / 1000);
      multi.set(statusKey, JSON.stringify({ status: 1, updated: now, started: now, result: null }), 'XX');
    }
    await multi.exec();
    return true;
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
    } catch {
      return false; // index out of range
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
