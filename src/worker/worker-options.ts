/**
 * The Worker's options as the config gives them, for both places that start a Worker from a
 * config (`resque-worker work` and a supervisor's child), so a new worker setting is wired once.
 */
import type { Config } from '../config/load-config.ts';
import type { JobRegistry } from '../jobs/job-registry.ts';
import type { Logger } from '../log.ts';
import type { WorkerOptions } from './worker.ts';

/** What the config alone does not say: which queues, which jobs, which log; a group may set its own concurrency. */
export interface WorkerStartFacts {
  queues: readonly string[];
  registry: JobRegistry;
  logger: Logger;
  /** Overrides worker.concurrency (a supervisor group's own). */
  concurrency?: number;
}

export function workerOptionsFrom(config: Readonly<Config>, extra: WorkerStartFacts): WorkerOptions {
  return {
    redisUrl: config.redis.url,
    namespace: config.redis.namespace,
    connectTimeout: config.redis.connectTimeout,
    queues: extra.queues,
    registry: extra.registry,
    concurrency: extra.concurrency ?? config.worker.concurrency,
    prefetch: config.worker.prefetch,
    interval: config.worker.interval,
    heartbeatInterval: config.worker.heartbeatInterval,
    statusTtl: config.worker.statusTtl,
    jobTimeout: config.worker.jobTimeout,
    maxJobs: config.worker.maxJobs,
    maxMemoryMb: config.worker.maxMemoryMb,
    deadWorkerJobs: config.supervisor.deadWorkerJobs,
    poisonLimit: config.worker.poisonLimit,
    retries: config.scheduler.interval !== null,
    logger: extra.logger,
    setProcessTitle: true,
  };
}
