/**
 * Maintenance run from the supervisor's loop (e.g. pruning workers that died on other hosts):
 * each task every `intervalMs`, never two runs of one task at once, a failure logged and retried
 * next time. Register with `supervisor.addPeriodicTask(task)` before or after `start()`.
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
  /** Resque worker ids of the live children. */
  workerIds: string[];
}

export interface PeriodicTask {
  name: string;
  intervalMs: number;
  run(ctx: PeriodicTaskContext): unknown;
}

export class PeriodicTasks {
  readonly #tasks: { task: PeriodicTask; due: number; running: boolean }[] = [];

  add(task: PeriodicTask, now = Date.now()): void {
    this.#tasks.push({ task, due: now + task.intervalMs, running: false });
  }

  /** Starts every task that is due; does not wait for them. */
  runDue(now: number, ctx: () => PeriodicTaskContext): void {
    for (const t of this.#tasks) {
      if (t.running || now < t.due) continue;
      t.running = true;
      t.due = now + t.task.intervalMs;
      const c = ctx();
      void Promise.resolve()
        .then(() => t.task.run(c))
        .catch((err: Error) =>
          c.log.error({ event: 'supervisor.task-error', task: t.task.name, err: err.message }, 'task failed'),
        )
        .finally(() => {
          t.running = false;
        });
    }
  }
}
