/**
 * Recovers a worker that died with jobs in flight (SIGKILL, OOM, a hung child killed by the
 * supervisor, a host gone): its jobs go back to the head of their queues, or become failures
 * (mode 'fail', or a poison job past the limit), and the worker is unregistered. See recover.lua.
 *
 * A peer's worker (Ruby, php, node) keeps its job only in `worker:<id>`; that record is parsed
 * here (Lua's cjson would turn `[]` into `{}`) and handed to the script, which uses it only if it
 * is unchanged. A record that is not readable JSON is kept, as text, in a failure record.
 */
import { payloadNames, rubyFailedAt } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { rawJsonValue } from '../util/raw-json-value.ts';

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
  /**
   * Recover only if the decision still holds (the pruner's check and the recovery are one atomic
   * step): 'heartbeat' = the heartbeat is still `seenHeartbeat`; 'orphan' = also still unregistered.
   */
  guard?: { kind: 'heartbeat' | 'orphan'; seenHeartbeat: string | null };
  /** Gets a `job.recovered` line per job, naming it, the dead worker and what became of the job. */
  log?: Logger;
}

export interface RecoverResult {
  requeued: number;
  failed: number;
  /** True when the guard no longer held: the worker showed a sign of life and was left alone. */
  skipped?: boolean;
}

export const DEFAULT_POISON_LIMIT = 3;

export async function recoverWorker(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  workerId: string,
  options: RecoverOptions,
): Promise<RecoverResult> {
  const record = await peerRecord(redis, keys, workerId);
  const [requeued, failed, skipped, ...outcomes] = await redis.recover(
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
    keys.ourWorkers,
    keys.queues,
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
    options.guard?.kind ?? '',
    options.guard?.seenHeartbeat ?? '',
    record.raw,
    record.payload,
    record.queue,
  );
  if (options.log) logRecoveredJobs(options.log, workerId, outcomes);
  return skipped ? { requeued, failed, skipped: true } : { requeued, failed };
}

/** One line per job, as for a job that ends: they went back to their queues or were failed. */
function logRecoveredJobs(log: Logger, deadWorker: string, outcomes: string[]): void {
  for (let i = 0; i + 2 < outcomes.length; i += 3) {
    const [outcome, queue, payload] = [outcomes[i]!, outcomes[i + 1]!, outcomes[i + 2]!];
    const { jobId, className } = payloadNames(payload);
    const fields = { event: 'job.recovered', jobId, queue, class: className, deadWorker, outcome };
    if (outcome === 'requeued') log.warn(fields, 'job of a dead worker put back at the head of its queue');
    else log.error(fields, `job of a dead worker failed: ${outcome}`);
  }
}

/** The `worker:<id>` record of a worker without an in-flight list (a peer's), parsed. */
async function peerRecord(
  redis: ScriptedRedis,
  keys: ResqueKeys,
  workerId: string,
): Promise<{ raw: string; payload: string; queue: string }> {
  const none = { raw: '', payload: '', queue: '' };
  const [[, len], [, raw]] = ((await redis
    .pipeline()
    .llen(keys.workerInflight(workerId))
    .get(keys.worker(workerId))
    .exec()) ?? []) as [unknown, unknown][] as [[unknown, number], [unknown, string | null]];
  if (len !== 0 || typeof raw !== 'string' || raw === '') return none;
  try {
    const rec = JSON.parse(raw) as { queue?: unknown; payload?: unknown };
    // The payload goes back byte for byte, as its client wrote it: re-serialising it would round
    // big integers and turn 1.0 into 1, so the job would run with other arguments.
    const payload =
      typeof rec.payload === 'string'
        ? rec.payload
        : rec.payload
          ? (rawJsonValue(raw, 'payload') ?? JSON.stringify(rec.payload))
          : '';
    const queue = typeof rec.queue === 'string' ? rec.queue : '';
    return { raw, payload: queue ? payload : '', queue };
  } catch {
    return { raw, payload: '', queue: '' };
  }
}
