/**
 * Puts a worker's in-flight entries back at the head of their queues, in order (requeue.lua), and
 * says in the log why: prefetched jobs at a pause or stop, running jobs at a stop deadline, and
 * entries no running job claims (a reserve whose reply never came before the stop). A job whose
 * queue key is not a list cannot go back: requeue.lua records it as a failure, logged here too.
 */
import { payloadNames, rubyFailedAt } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { type InFlightEntry, parseInFlightEntry } from './in-flight-entry.ts';

export class PutBack {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: ResqueKeys,
    private readonly workerId: string,
    private readonly log: Logger,
    /** Expiry of the failed status of a tracked job that could not go back (worker.statusTtl). */
    private readonly statusTtl = 86400,
  ) {}

  async prefetched(entries: Buffer[], why: 'paused' | 'stopping'): Promise<void> {
    if (entries.length === 0) return;
    const moved = await this.#requeue(entries);
    this.log.info(
      { event: 'worker.prefetch-returned', count: moved.length, reason: why },
      'prefetched jobs put back at the head of their queues',
    );
  }

  async running(entries: InFlightEntry[]): Promise<void> {
    const moved = await this.#requeue(entries.map((e) => e.raw));
    // One line per job, as for a job that ends: these were cut off mid-run and will run again.
    for (const raw of moved) {
      const { queue, payload } = parseInFlightEntry(raw);
      const { jobId, className } = payloadNames(payload);
      this.log.warn(
        { event: 'job.requeued', jobId, queue, class: className },
        'stop deadline reached: job put back at the head of its queue',
      );
    }
    this.log.warn(
      { event: 'worker.requeued', queues: entries.map((e) => e.queue), count: moved.length },
      'stop deadline reached: running jobs put back at the head of their queues',
    );
  }

  /** Whatever is still in flight after a stop belongs to no running job: back rather than left for the pruner. */
  async unclaimed(): Promise<void> {
    const moved = await this.#requeue([]);
    if (moved.length > 0)
      this.log.warn(
        { event: 'worker.requeued-unclaimed', count: moved.length },
        'jobs reserved without a reply (Redis outage) put back at the head of their queues',
      );
  }

  /** Entries given, or none for every entry in the in-flight list; returns those moved. */
  async #requeue(entries: Buffer[]): Promise<Buffer[]> {
    const k = this.keys;
    const reply = await this.redis.requeueBuffer(
      k.workerInflight(this.workerId),
      k.worker(this.workerId),
      this.workerId,
      k.queuePrefix,
      k.jobStatusPrefix,
      Math.floor(Date.now() / 1000),
      k.failed,
      k.statProcessed,
      k.statFailed,
      rubyFailedAt(),
      this.statusTtl,
      k.queues,
      ...entries,
    );
    // An empty entry (a real one never is) comes before those failed instead of put back.
    const split = reply.findIndex((entry) => entry.length === 0);
    if (split < 0) return reply;
    const failed = reply.slice(split + 1);
    this.log.error(
      {
        event: 'worker.requeue-failed',
        queues: failed.map((entry) => parseInFlightEntry(entry).queue),
        count: failed.length,
      },
      'jobs could not be put back: their queue key is not a list; recorded as failures (QueueNotAList)',
    );
    return reply.slice(0, split);
  }
}
