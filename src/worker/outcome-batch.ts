/**
 * Outcomes of finished jobs waiting to be recorded. They go out in batches, one finish.lua call per
 * round trip (usually in the same pipeline as the next reserve). finish.lua is idempotent, so a
 * batch whose reply was lost is simply put back and sent again: nothing is lost or counted twice.
 */
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import type { Ack } from './run-entry.ts';

type Pipeline = ReturnType<ScriptedRedis['pipeline']>;

export class OutcomeBatch {
  #pending: Ack[] = [];

  constructor(
    private readonly keys: ResqueKeys,
    private readonly workerId: string,
    private readonly statusTtl: number,
  ) {}

  get size(): number {
    return this.#pending.length;
  }

  add(ack: Ack): void {
    this.#pending.push(ack);
  }

  /** In-flight entries of the pending outcomes. */
  *entries(): Iterable<Buffer> {
    for (const ack of this.#pending) yield ack.entry;
  }

  /** Takes every pending outcome, to be sent; hand them back with `putBack` if sending failed. */
  take(): Ack[] {
    const acks = this.#pending;
    this.#pending = [];
    return acks;
  }

  putBack(acks: Ack[]): void {
    this.#pending = acks.concat(this.#pending);
  }

  /** Adds one finish.lua call recording `acks` to a pipeline. */
  queueFinish(pipe: Pipeline, acks: Ack[]): void {
    (pipe as unknown as ScriptedRedis).finish(...this.#finishArgs(acks));
  }

  /**
   * Records everything pending now; rejects (keeping it pending) if Redis does not answer. A bare
   * script call, not a one-command pipeline: an ioredis pipeline copies every script command onto
   * itself (~2 KB a time), and an idle worker handed one job at a time makes one of these per job.
   */
  async flush(redis: ScriptedRedis): Promise<void> {
    while (this.#pending.length > 0) {
      const acks = this.take();
      try {
        await redis.finish(...this.#finishArgs(acks));
      } catch (err) {
        this.putBack(acks);
        throw err;
      }
    }
  }

  #finishArgs(acks: Ack[]): (string | number | Buffer)[] {
    const k = this.keys;
    const id = this.workerId;
    const args: (string | number | Buffer)[] = [
      k.workerInflight(id),
      k.worker(id),
      k.statProcessed,
      k.statFailed,
      k.workerStatProcessed(id),
      k.workerStatFailed(id),
      k.failed,
      k.idleWorkers,
      id,
      Math.floor(Date.now() / 1000),
      this.statusTtl,
      k.jobStatusPrefix,
    ];
    for (const ack of acks) args.push(ack.entry, ack.failure, ack.result);
    return args;
  }
}
