/**
 * One round trip to Redis per batch: record the outcomes waiting in the batch (finish.lua), then
 * take up to `count` new jobs (reserve.lua), in one pipeline; a bare reserve when none wait.
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
import type { Ack } from './run-entry.ts';

/** What reserve.lua says besides the jobs (see its header). */
export type ReserveState = 'more' | 'idle' | 'paused' | 'again';

export interface Reservation {
  state: ReserveState;
  entries: Buffer[];
}

/** reserve.lua's KEYS, which are a worker's own (its ARGV follow them). */
export function reserveKeys(keys: ResqueKeys, workerId: string): string[] {
  return [
    keys.workerInflight(workerId),
    keys.workerLastReserve(workerId),
    keys.worker(workerId),
    keys.queues,
    keys.pauseAllWorkers,
    keys.idleWorkers,
  ];
}

export class ReserveRoundTrip {
  /** Per instance, so two workers that share an id (a bug, or a reused pid) never share a token. */
  readonly #tokenPrefix = `${randomBytes(4).toString('hex')}.`;
  #seq = 0;
  /** Token of a reserve sent without a reply yet; reused until one comes. */
  #unansweredToken: string | null = null;
  readonly #keys: string[];

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: ResqueKeys,
    private readonly workerId: string,
    private readonly queues: readonly string[],
  ) {
    this.#keys = reserveKeys(keys, workerId);
  }

  /** `fresh`: `count` includes every job handed to this worker so far (see reserve.lua ARGV[7]). */
  async run(count: number, outcomes: OutcomeBatch, fresh: boolean): Promise<Reservation> {
    const k = this.keys;
    const acks = outcomes.take();
    const token = this.#unansweredToken ?? `${this.#tokenPrefix}${++this.#seq}`;
    this.#unansweredToken = token;
    // biome-ignore format: the reserve.lua header, one line per ARGV group
    const reserveArgs = [
      ...this.#keys,
      token, count, runAtNow(), this.workerId, k.queuePrefix, k.jobStatusPrefix, fresh ? 'fresh' : '',
      ...this.queues,
    ];
    // Nothing to record: a bare call, not a one-command pipeline (see OutcomeBatch.flush).
    const reply =
      acks.length === 0
        ? await this.redis.reserveBuffer(...reserveArgs)
        : await this.#finishAndReserve(acks, outcomes, reserveArgs);
    this.#unansweredToken = null;
    const [state, ...entries] = reply;
    return { state: String(state) as ReserveState, entries };
  }

  /**
   * finish.lua and reserve.lua in one pipeline; the outcomes go back unless finish is known to have
   * run, and failures it ran but could not record are kept (OutcomeBatch).
   */
  async #finishAndReserve(
    acks: Ack[],
    outcomes: OutcomeBatch,
    reserveArgs: (string | number)[],
  ): Promise<Buffer[]> {
    const pipe = this.redis.pipeline();
    outcomes.queueFinish(pipe, acks);
    (pipe as unknown as ScriptedRedis).reserveBuffer(...reserveArgs);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipe.exec();
    } catch (err) {
      outcomes.putBack(acks); // finish is idempotent: safe to send again
      throw err;
    }
    const finishError = results?.[0]?.[0];
    if (finishError) {
      outcomes.putBack(acks);
      throw finishError; // what the reserve took, if it ran, comes back with the same token
    }
    // Failures finish.lua could not record go out again with the next round trip; the reserve
    // goes ahead, so a damaged failed list does not stop the worker (Redis logs it).
    outcomes.settle(acks, results?.[0]?.[1]);
    const last = results?.[1];
    if (!last || last[0]) throw last?.[0] ?? new Error('reserve: no reply');
    return last[1] as Buffer[];
  }
}
