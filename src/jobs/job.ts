/**
 * What users write. A job is a class with `perform(...args)` (sync or async), a plain function, or
 * an object with a `perform` method. The payload's `class` names the export.
 *
 * Optional, modelled on Resque and php-resque (static or instance methods):
 *   beforePerform(...args)        return false or throw DontPerform to skip the job
 *   aroundPerform(run, ...args)   wrap the job; call `run()` to perform it
 *   afterPerform(...args)         after a successful perform
 *   onFailure(error, ...args)     after a failed perform (the failure is still recorded)
 *   setUp() / tearDown()          instance methods around perform (tearDown always runs)
 *   static timeout                seconds before the job is failed with a timeout error
 *   static retryLimit             retries after a failure (resque-retry); with static retryDelay
 *                                 or static backoffStrategy = [seconds per retry] (retry.ts)
 *   static jobName                the name payloads carry, when not the class's own (an alias
 *                                 export, a Ruby or PHP name, minified code): enqueueJob sends it,
 *                                 and the worker knows the job by it too
 */
import type { Logger } from '../log.ts';

/** What a running job can read about itself, as php-resque's `$this->queue`, `$this->job`. */
export interface JobContext {
  /** The queue it came from. */
  readonly queue: string;
  /** php-resque job id (our payloads always carry one); undefined for a Ruby payload. */
  readonly jobId: string | undefined;
  /** The payload's class name. */
  readonly className: string;
  /** The whole payload as read from Redis (unknown fields kept). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** The worker running it, `host:pid:queues`. */
  readonly workerId: string;
  /** Aborted when the job times out or the worker is told to kill it (USR1). */
  readonly signal: AbortSignal;
  /**
   * The worker's pino logger, its lines carrying this job's jobId, queue and class (and the
   * workerId): one JSON line per call, in order with the worker's own (console.log is neither).
   */
  readonly log: Logger;
}

/**
 * The `jobName` a job declares, the name enqueueJob sends when there is one. Its own only: a
 * subclass does not inherit its parent's name (`class Urgent extends SendEmail {}` is a job of
 * its own, or two exports would claim one name).
 */
export function jobNameOf(job: unknown): string | undefined {
  if (
    (typeof job !== 'function' && typeof job !== 'object') ||
    job === null ||
    !Object.hasOwn(job, 'jobName')
  )
    return undefined;
  const name = (job as { jobName?: unknown }).jobName;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Throw from `beforePerform` to skip the job (Resque::Job::DontPerform). */
export class DontPerform extends Error {
  override name = 'DontPerform';
}

/** Thrown into the failure record when a job runs past its timeout. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeout';
}

/**
 * Optional base class: gives `this.queue`, `this.jobId`, `this.payload`, `this.workerId`,
 * `this.signal`, `this.log` and typed args. `class SendEmail extends Job<[to: string, subject: string]>`.
 */
export abstract class Job<Args extends unknown[] = unknown[]> implements Partial<JobContext> {
  queue!: string;
  jobId!: string | undefined;
  className!: string;
  payload!: Readonly<Record<string, unknown>>;
  workerId!: string;
  signal!: AbortSignal;
  log!: Logger;
  args!: Args;
  abstract perform(...args: Args): unknown;
}

export type JobFunction<Args extends unknown[] = any[]> = (this: JobContext, ...args: Args) => unknown;
export type JobClass<Args extends unknown[] = any[]> = new () => { perform(...args: Args): unknown };
export interface JobObject<Args extends unknown[] = any[]> {
  perform(this: JobContext, ...args: Args): unknown;
}
export type JobDefinition = JobClass | JobFunction | JobObject;

/** The argument list a job's perform takes: `JobArgs<typeof SendEmail>`. */
export type JobArgs<J> = J extends new (
  ...a: any[]
) => { perform(...args: infer A): unknown }
  ? A
  : J extends (...args: infer A) => unknown
    ? A
    : J extends { perform(...args: infer A): unknown }
      ? A
      : never;
