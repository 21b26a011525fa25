/**
 * The supervisor's stop deadline (Sidekiq's one deadline, passed down).
 *
 * Duties:
 *  1. hold the one deadline of a stop; a later stop may only bring it forward (a second INT)
 *  2. at deadline + KILL_GRACE_MS, SIGKILL what is still alive, marked `killedForStop` so its jobs
 *     are requeued whatever supervisor.deadWorkerJobs says
 *  3. hand out the promise that `stop()` returns, resolved once the pool has fully stopped
 */
import type { Logger } from '../log.ts';
import type { PoolChild } from './pool-child.ts';

/** After the stop deadline, children get this long to put their jobs back before SIGKILL. */
export const KILL_GRACE_MS = 3000;

export class StopDeadline {
  /** ms since epoch; null: no limit (Resque's QUIT). */
  #deadline: number | null = null;
  #killTimer: NodeJS.Timeout | null = null;
  #stopped: Promise<void> | null = null;
  #resolveStopped: () => void = () => {};

  get deadline(): number | null {
    return this.#deadline;
  }

  /** The promise `stop()` returns; null before the first stop. */
  get stopped(): Promise<void> | null {
    return this.#stopped;
  }

  /** A stop with nothing to wait for (never started): settles when `finish` does. */
  finishNow(finish: Promise<void>): Promise<void> {
    this.#stopped = finish;
    return finish;
  }

  /** The first stop of a running pool: creates the promise `resolve()` settles. */
  begin(): void {
    this.#stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  resolve(): void {
    this.#resolveStopped();
  }

  /** Takes the earlier of the current deadline and `deadline` (null leaves it as it is). */
  tighten(deadline: number | null): void {
    if (deadline !== null)
      this.#deadline = this.#deadline === null ? deadline : Math.min(this.#deadline, deadline);
  }

  /** (Re)arms the kill at deadline + KILL_GRACE_MS; nothing without a deadline. */
  arm(killStragglers: () => void): void {
    if (this.#deadline === null) return;
    if (this.#killTimer) clearTimeout(this.#killTimer);
    const wait = Math.max(0, this.#deadline - Date.now()) + KILL_GRACE_MS;
    this.#killTimer = setTimeout(killStragglers, wait);
  }

  clear(): void {
    if (this.#killTimer) clearTimeout(this.#killTimer);
  }
}

/** SIGKILLs every child still alive after deadline + grace; their exits requeue their jobs. */
export function killStragglers(children: Iterable<PoolChild>, log: Logger): void {
  for (const c of children) {
    log.warn(
      { event: 'child.killed', ...c.describe() },
      'worker process still alive after the stop deadline: killing it',
    );
    c.killedForStop = true;
    c.handle.kill('SIGKILL');
  }
}
