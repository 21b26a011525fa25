/**
 * Outcomes of finished jobs waiting to be recorded. They go out in batches, one finish.lua call per
 * round trip (usually in the same pipeline as the next reserve). finish.lua is idempotent, so a
 * batch whose reply was lost is simply put back and sent again: nothing is lost or counted twice.
 */
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import type { Ack, JobReport } from './run-entry.ts';

type Pipeline = ReturnType<ScriptedRedis['pipeline']>;

/** finish.lua's KEYS and ARGV[1] (the worker id), which are a worker's own. */
export function finishHead(keys: ResqueKeys, workerId: string): string[] {
  return [
    keys.workerInflight(workerId),
    keys.worker(workerId),
    keys.statProcessed,
    keys.statFailed,
    keys.workerStatProcessed(workerId),
    keys.workerStatFailed(workerId),
    keys.failed,
    keys.idleWorkers,
    keys.delayedSchedule,
    workerId,
  ];
}

export class OutcomeBatch {
  #pending: Ack[] = [];
  /**
   * Failures finish.lua could not record (the failed list is not a list): still in flight, sent
   * again with every round trip, but not due by themselves, or a worker would make a round trip
   * (and back off on its error) for each of them instead of running jobs.
   */
  #kept: Ack[] = [];
  /** finishHead: the same for every call. */
  readonly #head: string[];
  readonly #statusTtl: string;

  /**
   * `onRetrySettled`: a retried job's report, once finish.lua has scheduled its retry, or recorded
   * its failure instead (its `retry` then removed): its log line says what happened, not the plan.
   */
  constructor(
    private readonly keys: ResqueKeys,
    workerId: string,
    statusTtl: number,
    private readonly onRetrySettled: (report: JobReport) => void,
  ) {
    this.#head = finishHead(keys, workerId);
    this.#statusTtl = String(statusTtl);
  }

  /** Outcomes due to be recorded (kept failures are not counted: see #kept). */
  get size(): number {
    return this.#pending.length;
  }

  add(ack: Ack): void {
    this.#pending.push(ack);
  }

  /** In-flight entries of the pending and kept outcomes. */
  *entries(): Iterable<Buffer> {
    for (const ack of this.#kept) yield ack.entry;
    for (const ack of this.#pending) yield ack.entry;
  }

  /** Takes every outcome, kept ones too, to be sent; hand them back with `putBack` if sending failed. */
  take(): Ack[] {
    const acks = this.#kept.length > 0 ? this.#kept.concat(this.#pending) : this.#pending;
    this.#kept = [];
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
   * Records everything pending now (and tries the kept failures again); rejects (keeping it
   * pending) if Redis does not answer. A bare script call, not a one-command pipeline: an ioredis
   * pipeline copies every script command onto itself (~2 KB a time), and an idle worker handed one
   * job at a time makes one of these per job.
   */
  async flush(redis: ScriptedRedis): Promise<void> {
    while (this.#pending.length > 0) {
      const acks = this.take();
      let reply: unknown;
      try {
        reply = await redis.finish(...this.#finishArgs(acks));
      } catch (err) {
        this.putBack(acks);
        throw err;
      }
      this.settle(acks, reply);
    }
  }

  /** As flush, and rejects while failures are kept: a stop waits until they are recorded. */
  async flushAll(redis: ScriptedRedis): Promise<void> {
    if (this.#kept.length > 0) this.putBack(this.take());
    await this.flush(redis);
    if (this.#kept.length > 0)
      throw new Error(
        `${this.#kept.length} failed job(s) not recorded: ${this.keys.failed} is not a list; they stay in flight until it is repaired`,
      );
  }

  /**
   * Takes finish.lua's reply to `acks`: the failed jobs it could not record (their failed list is
   * not a list) are kept, to be sent again with the next round trip; retries are reported.
   */
  settle(acks: Ack[], reply: unknown): void {
    const [, left = [], refused = [], gone = []] = Array.isArray(reply)
      ? (reply as [number, number[], number[], number[]])
      : [];
    for (const position of left) this.#kept.push(acks[position - 1]!);
    for (const position of refused) {
      const report = acks[position - 1]!.report;
      if (!report) continue;
      delete report.retry;
      report.notRetried = 'another scheduler leads, or the delayed queue is broken';
    }
    // Recorded by an earlier call whose reply was lost: retried or not, that call knew.
    for (const position of gone) {
      const report = acks[position - 1]!.report;
      if (report) report.retryUnknown = true;
    }
    for (let i = 0; i < acks.length; i++) {
      const report = acks[i]!.report;
      if (report && !left.includes(i + 1)) this.onRetrySettled(report);
    }
  }

  #finishArgs(acks: Ack[]): (string | number | Buffer)[] {
    const args: (string | number | Buffer)[] = this.#head.slice();
    // Retry fields only in a call with a retry: most carry none, and each argument costs Redis.
    const retries = acks.some((ack) => ack.retry !== undefined);
    args.push(
      Math.floor(Date.now() / 1000),
      this.#statusTtl,
      this.keys.jobStatusPrefix,
      retries ? 5 : 3,
      this.keys.prefix,
    );
    if (retries)
      for (const ack of acks)
        args.push(ack.entry, ack.failure, ack.result, ack.retry?.at ?? '', ack.retry?.item ?? '');
    else for (const ack of acks) args.push(ack.entry, ack.failure, ack.result);
    return args;
  }
}
