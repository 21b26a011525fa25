/**
 * Retries, as resque-retry has them: a job class with `static retryLimit = n` runs again after a
 * failure, up to n more times, `retryDelay` seconds later (0 by default), or `backoffStrategy[k]`
 * seconds before retry k+1 (its last value for the retries past its end). The job goes through
 * resque-scheduler's delayed queue (finish.lua puts it there in the step that takes it out of
 * flight), its payload carrying `retry_attempt` (1 for the first retry); the failure is recorded
 * only once the retries are spent. Not retried: a job killed by USR1 (an operator's decision),
 * one that cannot run (a bad payload, an unknown class: no class to ask), and, decided elsewhere,
 * a timed-out job whose code runs on (run-entry.ts), any while another scheduler leads
 * (finish.lua), and any where our scheduler is off (scheduler.interval null).
 */
import { MAX_SECONDS } from '../config/max-seconds.ts';
import { setRawJsonValue } from '../util/raw-json-value.ts';
import type { JobDefinition } from './job.ts';

/** More retries than this is a mistake, not a policy (and each keeps the payload in the schedule). */
export const MAX_RETRY_LIMIT = 1000;

/** Failures an operator asked for: not retried. */
const NOT_RETRIED = new Set(['JobKilled']);

export interface RetryPlan {
  /** Unix second the retry is due. */
  at: number;
  /** The scheduled item: the payload with retry_attempt and queue set, every other byte kept. */
  item: string;
  /** This retry's number, 1 for the first. */
  attempt: number;
  limit: number;
  delaySeconds: number;
}

interface RetrySettings {
  retryLimit?: unknown;
  retryDelay?: unknown;
  backoffStrategy?: unknown;
}

/** The retries a job class allows: its retryLimit, or 0. */
export function retryLimitOf(def: JobDefinition): number {
  const limit = (def as RetrySettings).retryLimit;
  return typeof limit === 'number' && Number.isInteger(limit) && limit > 0
    ? Math.min(limit, MAX_RETRY_LIMIT)
    : 0;
}

/** Seconds before retry number `attempt` (1-based). */
export function retryDelayOf(def: JobDefinition, attempt: number): number {
  const { retryDelay, backoffStrategy } = def as RetrySettings;
  let delay: unknown = retryDelay;
  if (Array.isArray(backoffStrategy) && backoffStrategy.length > 0)
    delay = backoffStrategy[Math.min(attempt - 1, backoffStrategy.length - 1)];
  return typeof delay === 'number' && delay > 0 && Number.isFinite(delay) ? Math.min(delay, MAX_SECONDS) : 0;
}

/**
 * The retry of a failed job, or null when it has none left. `payload` is the job's payload text,
 * `attemptsSoFar` its retry_attempt (0 for a first run).
 */
export function retryPlan(
  def: JobDefinition,
  payload: string,
  queue: string,
  exception: string,
  attemptsSoFar: number,
  nowMs = Date.now(),
): RetryPlan | null {
  const limit = retryLimitOf(def);
  if (limit === 0 || attemptsSoFar >= limit || NOT_RETRIED.has(exception)) return null;
  const attempt = attemptsSoFar + 1;
  const delaySeconds = retryDelayOf(def, attempt);
  const item = setRawJsonValue(
    setRawJsonValue(payload, 'retry_attempt', String(attempt)),
    'queue',
    JSON.stringify(queue),
  );
  return { at: Math.ceil(nowMs / 1000 + delaySeconds), item, attempt, limit, delaySeconds };
}

/** The retry_attempt of a parsed payload: a whole number >= 0, else 0. */
export function attemptsOf(payload: Readonly<Record<string, unknown>>): number {
  const n = payload.retry_attempt;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}
