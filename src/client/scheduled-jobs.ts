/**
 * The scheduled jobs in resque-scheduler's delayed queue, read and taken out for the client (its
 * scheduled, removeScheduled and cancelScheduled). Both walk the schedule in chunks of timestamps.
 */
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { parseOrRaw, statusKeysOf } from './job-payloads.ts';

/** Timestamps read per pipeline. */
const SCHEDULE_CHUNK = 100;

export interface ScheduledJob {
  /** When it is due, unix seconds. */
  at: number;
  /** Its item `{class, args, queue, id}`, parsed (an unparsable one as its text). */
  job: unknown;
}

/** The first `count` scheduled jobs, soonest first. */
export async function listScheduled(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  count: number,
): Promise<ScheduledJob[]> {
  const out: ScheduledJob[] = [];
  for (let start = 0; out.length < count; start += SCHEDULE_CHUNK) {
    const timestamps = await redis.zrange(keys.delayedSchedule, start, start + SCHEDULE_CHUNK - 1);
    const pipe = redis.pipeline();
    for (const ts of timestamps) pipe.lrange(keys.delayed(ts), 0, count - out.length - 1);
    const lists = timestamps.length > 0 ? ((await pipe.exec()) ?? []) : [];
    for (const [i, [err, items]] of lists.entries()) {
      if (err || !Array.isArray(items)) continue;
      for (const item of items as string[]) {
        if (out.length < count) out.push({ at: Number(timestamps[i]), job: parseOrRaw(item) });
      }
    }
    if (timestamps.length < SCHEDULE_CHUNK) break;
  }
  return out;
}

/**
 * Takes every scheduled item `isWanted` picks out of the schedule (unschedule.lua: one item at a
 * time, byte for byte, so one moved or removed meanwhile is not counted); a tracked job's status
 * goes too. Returns how many were taken.
 */
export async function unschedule(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  isWanted: (item: string, parsed: Record<string, unknown>) => boolean,
): Promise<number> {
  const timestamps = await redis.zrange(keys.delayedSchedule, 0, -1);
  const statuses: string[] = [];
  let removed = 0;
  for (let at = 0; at < timestamps.length; at += SCHEDULE_CHUNK) {
    const chunk = timestamps.slice(at, at + SCHEDULE_CHUNK);
    const pipe = redis.pipeline();
    for (const ts of chunk) pipe.lrange(keys.delayed(ts), 0, -1);
    const lists = (await pipe.exec()) ?? [];
    for (const [i, [err, items]] of lists.entries()) {
      if (err || !Array.isArray(items)) continue; // not a list: schedule.lua takes it out
      const ts = chunk[i]!;
      for (const item of items as string[]) {
        const p = parseOrRaw(item);
        if (typeof p !== 'object' || p === null || !isWanted(item, p as Record<string, unknown>)) continue;
        const taken = await redis.unschedule(
          keys.delayedSchedule,
          keys.delayed(ts),
          keys.delayedTimestamps(item),
          item,
          ts,
        );
        if (taken === 1) {
          removed++;
          statuses.push(...statusKeysOf(keys, [item]));
        }
      }
    }
  }
  if (statuses.length > 0) await redis.del(...statuses);
  return removed;
}
