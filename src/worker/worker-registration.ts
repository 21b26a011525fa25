/**
 * A worker's presence in Redis, as Resque peers expect it.
 *
 * Duties:
 *  1. register: heartbeat first (as Ruby does), then `workers` and `started`, in one script, and
 *     mark the id as ours; first recover jobs a dead predecessor with the same id left in flight
 *  2. heartbeat every interval with Redis's clock; register again if a peer pruned us while alive
 *  3. unregister, as Ruby's unregister_worker does
 */

import { host } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import { recoverWorker } from '../recovery/recover-worker.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { pidNamespace } from '../util/process-alive.ts';

export interface RegistrationOptions {
  queues: readonly string[];
  heartbeatInterval: number;
  deadWorkerJobs: 'requeue' | 'fail';
  poisonLimit: number;
  statusTtl: number;
}

export class WorkerRegistration {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: ResqueKeys,
    private readonly id: string,
    private readonly log: Logger,
    private readonly opts: RegistrationOptions,
  ) {}

  /** Registers and starts heartbeating; `alive()` says whether a re-registration is news. */
  async register(alive: () => boolean): Promise<void> {
    const k = this.keys;
    // A dead predecessor with this id may still be in the idle set: nothing is handed to this
    // worker until its own first reserve says how much room it has.
    await this.redis.zrem(k.idleWorkers, this.id);
    // A pid reused after a restart (pid 1 in a container) may find a dead predecessor's jobs.
    if ((await this.redis.llen(k.workerInflight(this.id))) > 0) {
      const r = await recoverWorker(this.redis, k, this.id, {
        mode: this.opts.deadWorkerJobs,
        poisonLimit: this.opts.poisonLimit,
        statusTtl: this.opts.statusTtl,
        reason: `worker ${this.id} died (a new worker started with the same id)`,
        log: this.log,
      });
      this.log.warn(
        { event: 'worker.recovered-previous', ...r },
        'a previous worker with this id left jobs in flight: recovered',
      );
    }
    await this.#heartbeat('register');
    this.#timer = setInterval(() => void this.#beat(alive), this.opts.heartbeatInterval * 1000);
  }

  stopHeartbeat(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async unregister(): Promise<void> {
    this.stopHeartbeat();
    const k = this.keys;
    await this.redis
      .multi()
      .srem(k.workers, this.id)
      .del(
        k.worker(this.id),
        k.workerStarted(this.id),
        k.workerStatProcessed(this.id),
        k.workerStatFailed(this.id),
        k.workerLastReserve(this.id),
      )
      .hdel(k.heartbeats, this.id)
      .hdel(k.ourWorkers, this.id)
      .zrem(k.idleWorkers, this.id)
      .exec();
  }

  #heartbeat(mode: 'register' | 'ensure'): Promise<[string, number]> {
    const k = this.keys;
    return this.redis.heartbeat(
      k.heartbeats,
      k.ourWorkers,
      k.workers,
      k.workerStarted(this.id),
      this.id,
      host(),
      pidNamespace(),
      process.pid,
      mode,
      new Date().toISOString(),
      JSON.stringify(this.opts.queues),
    );
  }

  async #beat(alive: () => boolean): Promise<void> {
    try {
      const [, added] = await this.#heartbeat('ensure');
      if (added === 1 && alive())
        this.log.warn(
          { event: 'worker.reregistered' },
          'this worker had been unregistered (pruned by a peer?) while alive: registered again',
        );
    } catch (err) {
      this.log.warn({ event: 'worker.heartbeat-error', err: (err as Error).message }, 'heartbeat failed');
    }
  }
}
