/**
 * Runs one reserved in-flight entry to an outcome that the finish script records: parse the
 * payload, find the job class, perform it, and turn any failure (bad payload, unknown class, a
 * throw, a timeout) into a Ruby failure record. Never throws: a job is never silently dropped.
 */
import { type JobDefinition, JobTimeoutError } from '../jobs/job.ts';
import type { JobRegistry } from '../jobs/job-registry.ts';
import {
  buildFailureRecord,
  describeError,
  type FailureInfo,
  InvalidPayloadError,
  type Payload,
  payloadNames,
} from '../jobs/payload.ts';
import { type JobAbort, type JobInfo, jobTimeoutOf, performJob } from '../jobs/perform-job.ts';
import { attemptsOf, retryPlan } from '../jobs/retry.ts';
import { type Logger, writeJobLine } from '../log.ts';
import { jsonObjectOrText } from '../util/json-object-or-text.ts';
import { endsWithin } from '../util/wait-until.ts';
import type { InFlightEntry } from './in-flight-entry.ts';

/** How long a timed-out job's code may take to end before its retry is given up. */
const RETRY_WAIT_MS = 1000;

export interface Ack {
  entry: Buffer;
  /** Failure record JSON, or '' when the job succeeded (or was skipped). */
  failure: string;
  /** perform's return value as JSON for the php-resque status (finish.lua finds its key), or ''. */
  result: string;
  /** A retry (retry.ts): the unix second it is due, and its scheduled item. */
  retry?: { at: string; item: string };
  /** A retry's report, held until finish.lua has scheduled it (OutcomeBatch.settle). */
  report?: JobReport;
}

export interface JobReport {
  queue: string;
  className: string | undefined;
  jobId: string | undefined;
  outcome: 'done' | 'skipped' | 'failed';
  failure?: FailureInfo;
  /** A failed job that runs again (its failure not recorded): which retry, of how many, when. */
  retry?: { attempt: number; limit: number; inSeconds: number };
  /** Why a failed job with retries left was not retried after all (finish.lua refused it). */
  notRetried?: string;
  /**
   * A retry recorded by a finish call whose reply was lost: whether it was scheduled, or its
   * failure recorded instead, is not known (its log line says retry planned).
   */
  retryUnknown?: boolean;
  ms: number;
}

export interface RunContext {
  registry: JobRegistry;
  workerId: string;
  defaultTimeout: number | null;
  /** The worker's logger, for the jobs' own `this.log`. */
  log: Logger;
  /** Whether failed jobs may be retried: only where a scheduler of ours moves them back. */
  retries: boolean;
}

export async function runEntry(
  entry: InFlightEntry,
  parsed: Payload | InvalidPayloadError,
  ctx: RunContext,
  abort: JobAbort,
): Promise<[Ack, JobReport]> {
  const started = performance.now();
  const payload = parsed instanceof InvalidPayloadError ? undefined : parsed;
  let failure: FailureInfo | undefined;
  let result = '';
  let outcome: JobReport['outcome'] = 'failed';
  let def: JobDefinition | undefined;
  try {
    if (!payload) throw parsed;
    def = ctx.registry.get(payload.class);
    const info: JobInfo = {
      queue: entry.queue,
      jobId: payload.id,
      className: payload.class,
      payload,
      workerId: ctx.workerId,
    };
    const timeout = jobTimeoutOf(def) ?? ctx.defaultTimeout ?? undefined;
    const done = await performJob(def, info, payload.args, timeout, abort, ctx.log);
    if (done.kind === 'failed') {
      failure = describeError(done.error);
      if (done.error instanceof JobTimeoutError) failure.exception = 'JobTimeout';
    } else {
      outcome = done.kind;
      if (done.kind === 'done') result = resultJson(done.result);
    }
  } catch (error) {
    failure = describeError(error);
  }
  let retry =
    failure && def && payload && ctx.retries
      ? retryPlan(def, entry.payload, entry.queue, failure.exception, attemptsOf(payload))
      : null;
  // A timed-out job whose code ignores its signal runs on: its retry would run beside it. Its
  // failure is decided meanwhile: a stop deadline records it, as for an onFailure hook.
  const runsOn = retry && abort.abandonedWork;
  if (runsOn) {
    let ended = false;
    await abort.waitForOnFailure(
      endsWithin(runsOn, RETRY_WAIT_MS).then((e) => {
        ended = e;
      }),
    );
    if (!ended) retry = null;
  }
  const ack: Ack = {
    entry: entry.raw,
    // A retry's too: written instead should its schedule's keys be broken (finish.lua).
    failure: failure
      ? buildFailureRecord({
          rawPayload: entry.payload,
          payloadIsObject: payload !== undefined || typeof jsonObjectOrText(entry.payload) !== 'string',
          failure,
          workerId: ctx.workerId,
          queue: entry.queue,
        })
      : '',
    result,
  };
  if (retry) ack.retry = { at: String(retry.at), item: retry.item };
  const names = payload ? { className: payload.class, jobId: payload.id } : payloadNames(entry.payload);
  const report: JobReport = {
    queue: entry.queue,
    className: names.className,
    jobId: names.jobId,
    outcome,
    ms: Math.round((performance.now() - started) * 1000) / 1000,
  };
  if (failure) report.failure = failure;
  if (retry) report.retry = { attempt: retry.attempt, limit: retry.limit, inSeconds: retry.delaySeconds };
  return [ack, report];
}

function resultJson(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

const EVENT = { done: 'job.done', skipped: 'job.skipped', failed: 'job.failed' } as const;
const MSG = { done: 'job done', skipped: 'job skipped', failed: 'job failed' } as const;

/** One line per job: info for done or skipped, warn for a failure with its exception. */
export function logJobReport(log: Logger, report: JobReport): void {
  if (!report.failure) {
    // At log level warn and above a successful job costs no log object at all.
    if (!log.isLevelEnabled('info')) return;
    const { outcome } = report;
    if (
      writeJobLine(log, EVENT[outcome], MSG[outcome], report.jobId, report.queue, report.className, report.ms)
    )
      return;
  }
  const fields = {
    event: EVENT[report.outcome],
    jobId: report.jobId,
    queue: report.queue,
    class: report.className,
    ms: report.ms,
  };
  if (report.failure && report.retry) {
    const { attempt, limit, inSeconds } = report.retry;
    const unknown = report.retryUnknown === true;
    log.warn(
      {
        ...fields,
        event: 'job.retry',
        exception: report.failure.exception,
        error: report.failure.error,
        attempt,
        limit,
        inSeconds,
        ...(unknown ? { retryUnknown: true } : {}),
      },
      unknown
        ? `job failed: retry ${attempt} of ${limit} planned (recorded by a call whose reply was lost: scheduled, or its failure recorded)`
        : `job failed: retry ${attempt} of ${limit} in ${inSeconds} s`,
    );
  } else if (report.failure) {
    const { exception, error } = report.failure;
    if (report.notRetried)
      log.warn({ ...fields, exception, error, notRetried: report.notRetried }, 'job failed, not retried');
    else log.warn({ ...fields, exception, error }, 'job failed');
  } else {
    log.info(fields, MSG[report.outcome]);
  }
}
