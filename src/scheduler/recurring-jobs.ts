/**
 * Recurring jobs (scheduler.schedule) on every scheduler tick: each run that is due is scheduled
 * once, through recur.lua, into the delayed queue, from which the same tick's moveDueJobs puts it
 * on its queue. Any number of schedulers may run (`start` and `work`, on any host): recur.lua
 * claims a run for one of them.
 */
import {
  latestRunAt,
  nextRunAt,
  type RecurringJob,
  recurringRunsField,
} from '../config/recurring-schedule.ts';
import { buildScheduledItem, newJobId } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';

/** A run missed while no scheduler ran is still enqueued this late (at least; see graceMs). */
const MIN_GRACE_MS = 60_000;

/** How late a missed run may still be enqueued: a minute, or three ticks of a slower scheduler. */
export function graceMs(schedulerIntervalMs: number): number {
  return Math.max(MIN_GRACE_MS, 3 * schedulerIntervalMs);
}

export class RecurringJobs {
  /**
   * The latest run of each job this process has seen handled (scheduled by anyone, or missed), by
   * its rw:recurring field (a changed pattern starts afresh here too): a run is sent to Redis once
   * per process, not once per tick of its grace.
   */
  readonly #handled = new Map<string, number>();

  constructor(
    private readonly keys: ResqueKeys,
    private readonly log: Logger,
  ) {}

  /** Schedules the runs of `jobs` due at `now` (ms); returns how many this call scheduled. */
  async scheduleDue(
    redis: ScriptedRedis,
    jobs: readonly RecurringJob[],
    now: number,
    grace: number,
  ): Promise<number> {
    let scheduled = 0;
    for (const job of jobs) {
      const at = latestRunAt(job, now);
      const field = recurringRunsField(job);
      if (at === null || (this.#handled.get(field) ?? Number.NEGATIVE_INFINITY) >= at) continue;
      const inTime = now - at <= grace;
      let claimed: 0 | 1 | 2;
      let previous: number | null;
      try {
        [claimed, previous] = await this.#claim(redis, job, field, at, inTime);
      } catch (err) {
        // One job's trouble (a key of the wrong type, say) does not stop the others; tried again
        // next tick.
        this.log.error(
          { event: 'scheduler.recurring-error', name: job.name, err: (err as Error).message },
          `recurring job ${job.name}: could not schedule its run`,
        );
        continue;
      }
      this.#handled.set(field, at);
      if (claimed === 0) continue;
      // Runs between the last one claimed and this one were missed: no scheduler looked then.
      const firstMissed = previous === null ? null : nextRunAt(job, previous * 1000);
      const lastMissed = claimed === 2 ? at : latestRunAt(job, at - 1);
      if (firstMissed !== null && lastMissed !== null && firstMissed <= lastMissed)
        this.log.warn(
          {
            event: 'scheduler.recurring-missed',
            name: job.name,
            queue: job.queue,
            class: job.className,
            from: iso(firstMissed),
            until: iso(lastMissed),
          },
          `recurring job ${job.name}: runs missed while no scheduler ran, skipped`,
        );
      if (claimed === 1) {
        scheduled++;
        this.log.info(
          {
            event: 'scheduler.recurring',
            name: job.name,
            queue: job.queue,
            class: job.className,
            runAt: iso(at),
          },
          `recurring job ${job.name}: run scheduled`,
        );
      }
    }
    return scheduled;
  }

  /**
   * recur.lua for the run at `at`: [1 scheduled by this call, 2 claimed as missed (too late to
   * run), 0 taken (by another scheduler, or the job's first run seen, which only sets where it
   * starts); the last run claimed before, unix s, or null].
   */
  async #claim(
    redis: ScriptedRedis,
    job: RecurringJob,
    field: string,
    at: number,
    inTime: boolean,
  ): Promise<[0 | 1 | 2, number | null]> {
    const k = this.keys;
    const timestamp = Math.floor(at / 1000);
    const item = buildScheduledItem(job.className, job.args, job.queue, newJobId());
    const [claimed, previous] = await redis.recur(
      k.recurringLastRuns,
      k.delayedSchedule,
      k.delayed(timestamp),
      k.delayedTimestamps(item),
      field,
      timestamp,
      item,
      k.delayedMember(timestamp),
      inTime ? 1 : 0,
    );
    return [claimed, previous === null ? null : Number(previous)];
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
