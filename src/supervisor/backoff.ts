/**
 * Respawn back-off for one worker group, pure apart from the `now` it is given.
 *
 * Duties:
 *  1. count crashes in a row; a child that stayed up for `stableMs` starts a new series, and one
 *     that became ready after the last crash and stayed up that long ends it (ChildHealth)
 *  2. delay the next spawn exponentially (delay, 2*delay, 4*delay ... up to max)
 *  3. say when the group is in a crash loop (so it is logged and shown in STATUS)
 */

export interface BackoffOptions {
  /** First respawn delay, ms. */
  delayMs: number;
  maxMs: number;
  /** A child up this long before it crashed resets the series. */
  stableMs: number;
  /** Crashes in a row that make a crash loop. */
  loopAfter?: number;
}

export class Backoff {
  crashes = 0;
  /** When the last crash was recorded (ms since epoch): only a child ready after it ends the series. */
  lastCrashAt = Number.NEGATIVE_INFINITY;
  /** No spawn before this time (ms since epoch). */
  notBefore = 0;
  readonly #opts: Required<BackoffOptions>;

  constructor(opts: BackoffOptions) {
    this.#opts = { loopAfter: 3, ...opts };
  }

  /** Records a crash of a child that was up for `uptimeMs`; returns the delay before the next spawn. */
  crashed(now: number, uptimeMs: number): number {
    this.crashes = uptimeMs >= this.#opts.stableMs ? 1 : this.crashes + 1;
    this.lastCrashAt = now;
    const delay = Math.min(this.#opts.maxMs, this.#opts.delayMs * 2 ** (this.crashes - 1));
    this.notBefore = Math.max(this.notBefore, now + delay);
    return delay;
  }

  /** A child of the group has been up for `stableMs`: the series is over. */
  stable(): void {
    this.crashes = 0;
  }

  get crashLoop(): boolean {
    return this.crashes >= this.#opts.loopAfter;
  }

  get stableMs(): number {
    return this.#opts.stableMs;
  }

  /** ms until a spawn is allowed (0: now). */
  wait(now: number): number {
    return Math.max(0, this.notBefore - now);
  }

  setOptions(opts: Partial<BackoffOptions>): void {
    Object.assign(this.#opts, opts);
  }
}
