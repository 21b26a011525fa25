/**
 * What a worker shows of itself as a process: the `resque-<version>: ...` title Resque peers look
 * for in `ps` before they prune a worker, and when it should be recycled (long-running Node
 * processes leak: php-resque#48, bullmq#2422).
 */
export const VERSION = '0.1.0';

export type TitleState = {
  stopping: boolean;
  paused: boolean;
  queues: readonly string[];
  processing?: string;
};

/** Resque's procline: `resque-0.1.0: Waiting for high,default` / `Processing high since 1700000000`. */
export function processTitle(s: TitleState, now = Date.now()): string {
  let what: string;
  if (s.stopping) what = 'Stopping';
  else if (s.paused) what = 'Paused';
  else if (s.processing !== undefined) what = `Processing ${s.processing} since ${Math.floor(now / 1000)}`;
  else what = `Waiting for ${s.queues.join(',')}`;
  return `resque-${VERSION}: ${what}`;
}

/** How long after a job starts the title may show it (see WorkerTitle). */
const TITLE_DELAY_MS = 100;

/**
 * The title of a worker process. State changes (start, pause, resume, stop) show at once; a job's
 * start and the end of the last one show TITLE_DELAY_MS later, if still true then: setting the
 * title is a system call, and most jobs are over sooner.
 */
export class WorkerTitle {
  #shown = '';
  /** The queue of the job to show (the latest started), and since when (ms). */
  #queue: string | undefined;
  #since = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly state: () => Omit<TitleState, 'processing'>) {}

  /** Shows the state now, with no job. */
  now(): void {
    this.#queue = undefined;
    this.#show();
  }

  /** A job from `queue` started, or (undefined) the worker ran out of jobs: shown a moment later. */
  soon(queue?: string): void {
    this.#queue = queue;
    if (queue !== undefined) this.#since = Date.now();
    else if (this.#shown === this.#text()) {
      // The jobs it was armed for are over and the title never changed: no wake-up for nothing.
      this.close();
      return;
    }
    this.#timer ??= setTimeout(this.#show, TITLE_DELAY_MS).unref();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #show = (): void => {
    this.close();
    const title = this.#text();
    if (title !== this.#shown) process.title = this.#shown = title;
  };

  #text(): string {
    return processTitle({ ...this.state(), processing: this.#queue }, this.#since);
  }
}

/** Why the worker should be recycled now, between jobs, or null. */
export function recycleReason(
  jobsDone: number,
  limits: { maxJobs: number | null; maxMemoryMb: number | null },
  rss: () => number = process.memoryUsage.rss,
): string | null {
  if (limits.maxJobs !== null && jobsDone >= limits.maxJobs)
    return `ran ${jobsDone} jobs (maxJobs ${limits.maxJobs})`;
  if (limits.maxMemoryMb !== null && rss() > limits.maxMemoryMb * 1024 * 1024)
    return `RSS above ${limits.maxMemoryMb} MiB`;
  return null;
}

/**
 * Node flags for worker processes (the supervisor's children):
 *  - `--max-semi-space-size=4`: V8 sizes the young generation for throughput-heavy apps (16 MiB
 *    semi-spaces); a worker's garbage is short-lived per-job objects, and 4 MiB costs ~10 MB less
 *    RSS per worker at the same jobs/s (measured in scripts/bench).
 *  - `--expose-gc`, for collectStartupGarbage.
 *  - `--no-lazy-feedback-allocation`: V8 gives a function its type-feedback vector on its first
 *    call instead of after several, so the job path collects feedback and is optimised from its
 *    first jobs. An idle worker's first jobs are what its pickup latency is made of: p99 0.88-0.96x
 *    of without in three side-by-side runs, lower in 13 of 15 rounds, RSS no higher (scripts/bench
 *    --baseline; bench/RESULTS.md, "Eighth pass").
 * A flag the user set in NODE_OPTIONS or on the command line wins, in either of V8's spellings
 * (dashes or underscores).
 */
export function workerNodeFlags(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = `${execArgv.join(' ')} ${nodeOptions}`;
  const flags: string[] = [];
  if (!/--max[-_]semi[-_]space[-_]size/.test(given)) flags.push('--max-semi-space-size=4');
  if (!/--expose[-_]gc/.test(given)) flags.push('--expose-gc');
  if (!/--(no[-_])?lazy[-_]feedback[-_]allocation/.test(given)) flags.push('--no-lazy-feedback-allocation');
  return flags;
}

/**
 * One full GC after start-up (modules compiled, job modules loaded), before the first job. Left to
 * V8, that garbage is collected by the first major GC, which came ~170 jobs into a worker's life
 * and paused it for 10-20 ms on a 2-core machine: jobs handed to it meanwhile waited (pickup
 * latency, scripts/bench --latency-dump). A no-op when the process runs without --expose-gc.
 */
export function collectStartupGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
