/**
 * Recovers a worker that died with jobs in flight (SIGKILL, OOM, a hung child killed by the
 * supervisor, a host gone): its jobs go back to the head of their queues, or become failures
 * (mode 'fail', or a poison job past the limit), and the worker is unregistered. See recover.lua.
 */
import { rubyFailedAt } from '../jobs/payload.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';

export interface RecoverOptions {
  /** 'requeue' (at-least-once, the default) or 'fail' (record a dirty-exit failure). */
  mode?: 'requeue' | 'fail';
  /** Why the worker is dead; goes into failure records. */
  reason: string;
  /** Exception name of the failure record (Ruby uses Resque::DirtyExit). */
  exception?: string;
  /** A job in flight on more dead workers than this is failed as a poison job. */
  poisonLimit?: number;
  statusTtl?: number;
}

export interface RecoverResult {
  requeued: number;
  failed: number;
}

export const DEFAULT_POISON_LIMIT = 3;

export async function recoverWorker(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  workerId: string,
  options: RecoverOptions,
): Promise<RecoverResult> {
  const [requeued, failed] = await redis.recover(
    keys.workerInflight(workerId),
    keys.worker(workerId),
    keys.workers,
    keys.workerStarted(workerId),
    keys.heartbeats,
    keys.statProcessed,
    keys.statFailed,
    keys.workerStatProcessed(workerId),
    keys.workerStatFailed(workerId),
    keys.failed,
    keys.workerLastReserve(workerId),
    workerId,
    options.mode ?? 'requeue',
    options.poisonLimit ?? DEFAULT_POISON_LIMIT,
    keys.queuePrefix,
    keys.jobStatusPrefix,
    keys.recoveredPrefix,
    Math.floor(Date.now() / 1000),
    rubyFailedAt(),
    options.exception ?? 'DirtyExit',
    options.reason,
    options.statusTtl ?? 86400,
  );
  return { requeued, failed };
}
