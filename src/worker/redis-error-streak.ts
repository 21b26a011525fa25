/**
 * Redis errors a worker retries every second (MISCONF on a full disk, READONLY after a failover,
 * an outage): one line at the first and one a minute while they go on (with the count), not 3,600
 * an hour, then one when a round trip goes through again.
 */
import type { Logger } from '../log.ts';

const REPEAT_EVERY_MS = 60_000;

export class RedisErrorStreak {
  #count = 0;
  #since = 0;
  #loggedAt = 0;

  constructor(private readonly log: Logger) {}

  failed(event: string, what: string, err: unknown): void {
    const now = Date.now();
    if (this.#count === 0) this.#since = now;
    this.#count++;
    if (this.#count > 1 && now - this.#loggedAt < REPEAT_EVERY_MS) return;
    this.#loggedAt = now;
    this.log.error(
      { event, step: what, err: (err as Error).message, failures: this.#count },
      `${what} failed; retrying every second`,
    );
  }

  /** A round trip went through: the end of a streak is logged once. */
  ok(): void {
    if (this.#count === 0) return;
    this.log.info(
      {
        event: 'worker.redis-ok',
        failures: this.#count,
        seconds: Math.round((Date.now() - this.#since) / 1000),
      },
      'Redis answers again',
    );
    this.#count = 0;
  }
}
