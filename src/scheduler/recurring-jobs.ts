/**
 * Recurring jobs (scheduler.schedule) on every scheduler tick: each run that is due is scheduled
 * once, through recur.lua, into the delayed queue, from which the same tick's moveDueJobs puts it
 * on its queue. Any number of schedulers may run (`start` and `work`, on any host): recur.lua
 * claims a run for one of them.
 */
import { latestRunAt, type RecurringJob } from '../config/recurring-schedule.ts';
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
   * The latest run of each job this process has seen handled (scheduled by anyone, or missed): a
   * run is sent to Redis once per process, not once per tick of its grace.
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
      if (at === null || (this.#handled.get(job.name) ?? Number.NEGATIVE_INFINITY) >= at) continue;
      const runAt = new Date(at).toISOString();
      const fields = { name: job.name, queue: job.queue, class: job.className, runAt };
      const claimed = await this.#claim(redis, job, at, now - at <= grace);
      this.#handled.set(job.name, at);
      if (claimed === 'scheduled') {
        scheduled++;
        this.log.info(
          { event: 'scheduler.recurring', ...fields },
          `recurring job ${job.name}: run scheduled`,
        );
      } else if (claimed === 'missed')
        this.log.warn(
          { event: 'scheduler.recurring-missed', ...fields },
          `recurring job ${job.name}: run missed (no scheduler ran then), skipped`,
        );
    }
    return scheduled;
  }

  /**
   * recur.lua for the run at `at`: 'scheduled' by this call, 'taken' (by another scheduler, or
   * the job's first run seen, which only sets where it starts), or 'missed' (too late to run).
   */
  async #claim(
    redis: ScriptedRedis,
    job: RecurringJob,
    at: number,
    inTime: boolean,
  ): Promise<'scheduled' | 'taken' | 'missed'> {
    const k = this.keys;
    const timestamp = Math.floor(at / 1000);
    const item = buildScheduledItem(job.className, job.args, job.queue, newJobId());
    const reply = await redis.recur(
      k.recurringLastRuns,
      k.delayedSchedule,
      k.delayed(timestamp),
      k.delayedTimestamps(item),
      job.name,
      timestamp,
      item,
      k.delayedMember(timestamp),
      inTime ? 1 : 0,
    );
    return reply === 1 ? 'scheduled' : reply === 2 ? 'missed' : 'taken';
  }
}
