/**
 * The scheduler's duty: put scheduled jobs that are due (resque-scheduler's delayed queue,
 * filled by ResqueClient.enqueueAt/enqueueIn or by Ruby's enqueue_at) on their queues, through
 * schedule.lua, in batches. Run by `start` (a periodic task of the supervisor) and by `work`, every
 * scheduler.interval seconds; any number may run at once, as each item is moved by one LPOP, and
 * none moves while Ruby's resque-scheduler holds its master lock (schedule.lua says why).
 */
import { rubyFailedAt } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import type { PeriodicTask } from '../supervisor/periodic-tasks.ts';
import { graceMs, RecurringJobs } from './recurring-jobs.ts';

/** Timestamps and items per script call: each costs a decode, and a call blocks Redis. */
const BATCH = 100;

export interface MoveOptions {
  /** Final status TTL for a tracked job that cannot be routed (worker.statusTtl). */
  statusTtl?: number;
}

export async function moveDueJobs(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  log: Logger,
  options: MoveOptions = {},
): Promise<{ moved: number; failed: number }> {
  let moved = 0;
  let failed = 0;
  for (;;) {
    const [m, f, handled, ruby] = await redis.schedule(
      keys.delayedSchedule,
      ...keys.rubySchedulerLocks,
      keys.prefix,
      BATCH,
      rubyFailedAt(),
      options.statusTtl ?? 86400,
    );
    moved += m;
    failed += f;
    if (ruby === 1)
      log.debug({ event: 'scheduler.ruby' }, 'resque-scheduler holds its master lock: the moves are its own');
    if (handled < BATCH) break;
  }
  if (moved > 0)
    log.info({ event: 'scheduler.moved', count: moved }, 'scheduled jobs due: put on their queues');
  if (failed > 0)
    log.error(
      { event: 'scheduler.failed', count: failed },
      'scheduled jobs with no queue to go to: recorded in the failed list',
    );
  return { moved, failed };
}

/**
 * The scheduler as a periodic task (of the supervisor, or of `work`): the recurring jobs' due runs
 * into the delayed queue (the config's, as reloaded), then every due job onto its queue.
 */
export function scheduleTask(intervalMs: number): PeriodicTask {
  let recurring: RecurringJobs | undefined;
  return {
    name: 'move-due-jobs',
    intervalMs,
    onError: { event: 'scheduler.error', msg: 'could not move scheduled jobs' },
    run: async (ctx) => {
      const { schedule } = ctx.config.scheduler;
      try {
        if (schedule.length > 0) {
          recurring ??= new RecurringJobs(ctx.keys, ctx.log);
          await recurring.scheduleDue(ctx.redis, schedule, Date.now(), graceMs(intervalMs));
        }
      } finally {
        await moveDueJobs(ctx.redis, ctx.keys, ctx.log, { statusTtl: ctx.config.worker.statusTtl });
      }
    },
  };
}
