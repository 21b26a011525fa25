/**
 * One round trip to Redis per batch: record the outcomes waiting in the batch (finish.lua), then
 * take up to `count` new jobs (reserve.lua), in one pipeline.
 *
 * A reserve whose reply was lost (Redis restarted; ioredis aborts the rest of a pipeline it cannot
 * resend) may still have run: the next attempt reuses its token, and reserve.lua answers a known
 * token with the jobs that reservation already took instead of taking more.
 */
import { randomBytes } from 'node:crypto';
import { runAtNow } from '../jobs/payload.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import type { OutcomeBatch } from './outcome-batch.ts';

/** What reserve.lua says besides the jobs (see its header). */
export type ReserveState = 'more' | 'idle' | 'paused' | 'again';

export interface Reservation {
  state: ReserveState;
  entries: Buffer[];
}

export class ReserveRoundTrip {
  /** Per instance, so two workers that share an id (a bug, or a reused pid) never share a token. */
  readonly #tokenPrefix = `${randomBytes(4).toString('hex')}.`;
  #seq = 0;
  /** Token of a reserve sent without a reply yet; reused until one comes. */
  #unansweredToken: string | null = null;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: ResqueKeys,
    private readonly workerId: string,
    private readonly queues: readonly string[],
  ) {}

  /** `fresh`: `count` includes every job handed to this worker so far (see reserve.lua ARGV[7]). */
  async run(count: number, outcomes: OutcomeBatch, fresh: boolean): Promise<Reservation> {
    const k = this.keys;
    const acks = outcomes.take();
    const pipe = this.redis.pipeline();
    if (acks.length > 0) outcomes.queueFinish(pipe, acks);
    const token = this.#unansweredToken ?? `${this.#tokenPrefix}${++this.#seq}`;
    this.#unansweredToken = token;
    (pipe as unknown as ScriptedRedis).reserveBuffer(
      k.workerInflight(this.workerId),
      k.workerLastReserve(this.workerId),
      k.worker(this.workerId),
      k.queues,
      k.pauseAllWorkers,
      k.idleWorkers,
      token,
      count,
      runAtNow(),
      this.workerId,
      k.queuePrefix,
      k.jobStatusPrefix,
      fresh ? 'fresh' : '',
      ...this.queues,
    );
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipe.exec();
    } catch (err) {
      outcomes.putBack(acks); // finish is idempotent: safe to send again
      throw err;
    }
    const finishError = acks.length > 0 ? results?.[0]?.[0] : null;
    if (finishError) {
      outcomes.putBack(acks);
      throw finishError; // what the reserve took, if it ran, comes back with the same token
    }
    const last = results?.[results.length - 1];
    if (!last || last[0]) throw last?.[0] ?? new Error('reserve: no reply');
    this.#unansweredToken = null;
    const [state, ...entries] = last[1] as Buffer[];
    return { state: String(state) as ReserveState, entries };
  }
}
