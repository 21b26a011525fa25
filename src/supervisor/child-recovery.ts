/**
 * What happens to the jobs of a child that died: they go back to the head of their queues, or
 * become failures, through recoverWorker (one atomic Lua step, also used by the pruner).
 *
 *  - a hung child (killed for blocking its event loop) that held one job at a time: that job
 *    blocked it, and fails as JobTimeout. One that held more (concurrency, prefetch) cannot say
 *    which of them blocked it, and most never ran or did nothing wrong: they are treated as for
 *    any other death, so by default they go back to their queues, and a job that keeps blocking
 *    workers is failed as a PoisonJob after worker.poisonLimit of them;
 *  - a child killed because it outlived the stop deadline: its jobs are requeued, whatever the
 *    mode ("it is worse to lose a job than to run it twice");
 *  - any other death (crash, SIGKILL, OOM): supervisor.deadWorkerJobs decides.
 *
 * Recoveries keeps the ones still running, so that a stop can wait for them.
 */
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../log.ts';
import { recoverWorker } from '../recovery/recover-worker.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import type { PoolChild } from './pool-child.ts';

export interface RecoveryContext {
  redis: ScriptedRedis;
  keys: ResqueKeys;
  config: Readonly<Config>;
  log: Logger;
}

/** Never rejects: a failure is logged (the reliability pruner retries later). */
export async function recoverDeadChild(child: PoolChild, ctx: RecoveryContext): Promise<void> {
  const { config, log } = ctx;
  const hangS = config.supervisor.hangTimeout;
  const culprit = child.hung && child.oneJobAtATime;
  const mode = culprit ? 'fail' : child.killedForStop ? 'requeue' : config.supervisor.deadWorkerJobs;
  try {
    const r = await recoverWorker(ctx.redis, ctx.keys, child.workerId, {
      mode,
      exception: culprit ? 'JobTimeout' : 'DirtyExit',
      reason: child.hung
        ? `worker blocked its event loop for ${hangS} s and was killed`
        : `worker process ${child.pid} died`,
      statusTtl: config.worker.statusTtl,
      poisonLimit: config.worker.poisonLimit,
      log: log.child({ childId: child.id, childPid: child.pid }),
    });
    log[r.requeued + r.failed > 0 ? 'warn' : 'info'](
      { event: 'child.recovered', ...child.describe(), mode, ...r },
      `dead worker's jobs: ${r.requeued} requeued, ${r.failed} failed`,
    );
  } catch (err) {
    log.error(
      { event: 'child.recover-error', ...child.describe(), err: (err as Error).message },
      'could not recover the jobs of a dead worker; the reliability pruner will retry',
    );
  }
}

/** The recoveries still running, so that a stop can wait for them. */
export class Recoveries {
  readonly #running = new Set<Promise<unknown>>();

  start(child: PoolChild, ctx: RecoveryContext): void {
    const p = recoverDeadChild(child, ctx);
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  /** Waits for the running ones, at most `limitMs`. */
  async settle(limitMs: number): Promise<void> {
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise((r) => setTimeout(r, limitMs).unref()),
    ]);
  }
}
