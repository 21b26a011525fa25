/**
 * Maintenance (pruning dead workers, moving due scheduled jobs) run every `intervalMs`, never two
 * runs of one task at once, a failure logged as the task's own event and retried next time. The
 * supervisor drives it from its loop (`supervisor.addPeriodicTask(task)`, before or after
 * `start()`); `work`, which has no loop, on a timer per task (`runOnTimers`).
 */
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../log.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';

export interface PeriodicTaskContext {
  redis: ScriptedRedis;
  keys: ResqueKeys;
  config: Readonly<Config>;
  log: Logger;
}

export interface PeriodicTask {
  name: string;
  intervalMs: number;
  /** Logged when a run fails, e.g. `{ event: 'scheduler.error', msg: 'could not move scheduled jobs' }`. */
  onError: { event: string; msg: string };
  run(ctx: PeriodicTaskContext): unknown;
}

interface Entry {
  task: PeriodicTask;
  due: number;
  running: boolean;
}

export class PeriodicTasks {
  readonly #entries: Entry[] = [];

  add(task: PeriodicTask, now = Date.now()): void {
    this.#entries.push({ task, due: now + task.intervalMs, running: false });
  }

  /** Starts every task that is due; does not wait for them. */
  runDue(now: number, ctx: () => PeriodicTaskContext): void {
    for (const e of this.#entries) if (now >= e.due) this.#run(e, now, ctx);
  }

  /**
   * Runs each task every intervalMs on its own timer while `active()` holds, for a process with
   * no loop of its own (one timer per task: an idle `work` wakes only when a task is due).
   * Returns the function that stops the timers.
   */
  runOnTimers(ctx: () => PeriodicTaskContext, active: () => boolean): () => void {
    const timers = this.#entries.map((e) => {
      const timer = setInterval(() => {
        if (active()) this.#run(e, Date.now(), ctx);
      }, e.task.intervalMs);
      timer.unref();
      return timer;
    });
    return () => {
      for (const t of timers) clearInterval(t);
    };
  }

  #run(e: Entry, now: number, ctx: () => PeriodicTaskContext): void {
    if (e.running) return;
    e.running = true;
    e.due = now + e.task.intervalMs;
    const c = ctx();
    void Promise.resolve()
      .then(() => e.task.run(c))
      .catch((err: Error) =>
        c.log.warn({ event: e.task.onError.event, task: e.task.name, err: err.message }, e.task.onError.msg),
      )
      .finally(() => {
        e.running = false;
      });
  }
}
