/**
 * Jobs failed at their timeout (or by USR1) whose code ignored `this.signal` and runs on: their
 * slot took the next job, since a promise cannot be killed. A worker whose slots are all matched by
 * such jobs, still running a grace period after their failure, is recycled (a new process ends
 * them), as Resque's fork per job ends a job at its timeout; fewer are left to finish on their own.
 */
import type { Logger } from '../log.ts';

/** How long an aborted job's code may take to notice its signal before it counts as stuck. */
export const ABANDONED_GRACE_MS = 5000;

export interface AbandonedJob {
  jobId: string | undefined;
  queue: string;
  className: string | undefined;
}

export class AbandonedJobs {
  #stuck = 0;
  readonly #log: Logger;
  readonly #graceMs: number;
  readonly #onStuck: () => void;

  constructor(log: Logger, onStuck: () => void, graceMs = ABANDONED_GRACE_MS) {
    this.#log = log;
    this.#onStuck = onStuck;
    this.#graceMs = graceMs;
  }

  /** Jobs whose code still runs a grace period after they failed. */
  get stuck(): number {
    return this.#stuck;
  }

  watch(work: Promise<unknown>, job: AbandonedJob): void {
    let ended = false;
    let counted = false;
    const timer = setTimeout(() => {
      if (ended) return;
      counted = true;
      this.#stuck++;
      this.#log.warn(
        {
          event: 'job.abandoned',
          jobId: job.jobId,
          queue: job.queue,
          class: job.className,
          stuck: this.#stuck,
        },
        `job ${job.className} failed ${this.#graceMs / 1000} s ago and its code still runs: it ignores this.signal`,
      );
      this.#onStuck();
    }, this.#graceMs);
    timer.unref();
    const end = () => {
      ended = true;
      clearTimeout(timer);
      if (counted) this.#stuck--;
    };
    work.then(end, end);
  }

  /** Why to recycle: as many stuck jobs as the worker has slots. */
  recycleReason(slots: number): string | null {
    return this.#stuck >= slots
      ? `${this.#stuck} failed jobs still running (they ignore this.signal), as many as its ${slots} slots`
      : null;
  }
}
