/** Public API: the client, jobs and their types, the worker, and configuration. */
export {
  type ClientOptions,
  type EnqueueOptions,
  type JobSpec,
  type JobStatus,
  RedisUnavailableError,
  ResqueClient,
  STATUS,
  type Stats,
  type WorkerInfo,
} from './client/client.ts';
export type { FailureRecord } from './client/failures.ts';
export { type Config, ConfigError, loadConfig } from './config/load-config.ts';
export { InvalidQueueNameError } from './config/schema.ts';
export {
  DontPerform,
  Job,
  type JobArgs,
  type JobContext,
  type JobDefinition,
  JobTimeoutError,
} from './jobs/job.ts';
export { JobRegistry, UnknownJobClassError } from './jobs/job-registry.ts';
export { JobArgsError } from './jobs/json-args.ts';
export { resqueKeys } from './redis/keys.ts';
export { VERSION, Worker, type WorkerOptions } from './worker/worker.ts';
