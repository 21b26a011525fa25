/**
 * Builds the effective configuration: schema defaults < config/default.json < the --config file <
 * environment < command-line flags. Validates strictly; a bad value or unknown key throws a
 * ConfigError that names the key and where it came from. The result is frozen.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseRecurringSchedule, type RecurringJob, shortestGapMs } from './recurring-schedule.ts';
import { schemaKeys } from './reference.ts';
import {
  buildConvict,
  type ConvictConfig,
  parseWorkerGroups,
  redactUrl,
  type WorkerGroup,
} from './schema.ts';

export interface Config {
  redis: { url: string; namespace: string; connectTimeout: number };
  jobs: string[];
  queues: string[];
  worker: {
    concurrency: number;
    prefetch: number;
    interval: number;
    heartbeatInterval: number;
    statusTtl: number;
    jobTimeout: number | null;
    maxJobs: number | null;
    maxMemoryMb: number | null;
    deadAfter: number;
    poisonLimit: number;
  };
  supervisor: {
    count: number;
    groups: WorkerGroup[];
    shutdownTimeout: number;
    pidfile: string;
    respawnDelay: number;
    respawnDelayMax: number;
    hangTimeout: number;
    pruneInterval: number;
    deadWorkerJobs: 'requeue' | 'fail';
    scaleGroup: string;
  };
  scheduler: { interval: number | null; schedule: RecurringJob[] };
  log: { level: string };
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};
export type ConfigOverrides = DeepPartial<Config>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const SHIPPED_DEFAULTS = new URL('../../config/default.json', import.meta.url).pathname;

export interface LoadConfigOptions {
  /** A config file (--config / RESQUE_WORKER_CONFIG); loaded over config/default.json. */
  file?: string | undefined;
  /** Values from command-line flags; they win over everything. */
  overrides?: ConfigOverrides;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = { ...(options.env ?? process.env) };
  // Resque's habits: QUEUE or QUEUES, QUEUES first (its rake task reads `ENV['QUEUES'] || ENV['QUEUE']`).
  if (env.QUEUES !== undefined) env.QUEUE = env.QUEUES;
  const files = [SHIPPED_DEFAULTS, options.file].filter((f): f is string => !!f);

  const data = files.map((file) => {
    const obj = objectSettingsAsJson(file, readConfigFile(file));
    checkFile(file, obj);
    return obj;
  });
  let raw: Config;
  // convict reads the environment while it is built and again on each load: all in here, so that
  // no value, however odd, escapes as a stack trace instead of a ConfigError.
  try {
    const config = buildConvict(env);
    for (const obj of data) config.load(obj);
    applyOverrides(config, options.overrides ?? {});
    config.validate({ allowed: 'strict' });
    raw = config.getProperties() as unknown as Config;
  } catch (e) {
    const message = (e as Error).message;
    throw new ConfigError(`invalid configuration (${sourceOf(message, env)}): ${message}`);
  }
  if (raw.worker.deadAfter <= raw.worker.heartbeatInterval * 2) {
    throw new ConfigError(
      `invalid configuration: worker.deadAfter (${raw.worker.deadAfter} s) must be more than twice worker.heartbeatInterval (${raw.worker.heartbeatInterval} s), or live workers would be pruned as dead`,
    );
  }
  const given = raw.scheduler.schedule as unknown;
  const schedule = parseRecurringSchedule(typeof given === 'string' ? JSON.parse(given) : given);
  checkScheduleAgainstInterval(schedule, raw.scheduler.interval);
  const result: Config = {
    ...raw,
    supervisor: { ...raw.supervisor, groups: parseWorkerGroups(raw.supervisor.groups) },
    scheduler: { ...raw.scheduler, schedule },
  };
  return deepFreeze(result);
}

/** The environment variables that set the keys an error names (`log.level: ...` -> LOG_LEVEL). */
function sourceOf(message: string, env: NodeJS.ProcessEnv): string {
  const vars = schemaKeys()
    .filter(([key, leaf]) => leaf.env && env[leaf.env] !== undefined && message.includes(`${key}:`))
    .map(([, leaf]) => leaf.env);
  return vars.length > 0 ? `from the environment: ${vars.join(', ')}` : 'from environment or flags';
}

function readConfigFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new ConfigError(`config file ${file}: not found`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`config file ${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${file}: must hold a JSON object`);
  }
  const obj = data as Record<string, unknown>;
  // Job paths in a file are relative to that file, so a config works from any working directory.
  if (Array.isArray(obj.jobs)) {
    obj.jobs = obj.jobs.map((p) => (typeof p === 'string' && !isAbsolute(p) ? resolve(dirname(file), p) : p));
  } else if (typeof obj.jobs === 'string') {
    obj.jobs = obj.jobs
      .split(',')
      .map((p) => (isAbsolute(p.trim()) ? p.trim() : resolve(dirname(file), p.trim())));
  }
  return obj;
}

/**
 * convict walks a plain object in a file as nested settings (and flattens it by dotted paths when
 * it validates): scheduler.schedule, whose keys are job names, goes in as its JSON text, which its
 * format reads (so a bad one is still reported with its key) and loadConfig parses.
 */
function objectSettingsAsJson(file: string, data: Record<string, unknown>): Record<string, unknown> {
  const scheduler = data.scheduler as Record<string, unknown> | undefined;
  const schedule = scheduler?.schedule;
  if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) return data;
  // Checked before it becomes text: JSON.stringify would turn an arg of 1e400 (Infinity) into null.
  try {
    parseRecurringSchedule(schedule);
  } catch (e) {
    throw new ConfigError(`config file ${file}: scheduler.schedule: ${(e as Error).message}`);
  }
  return { ...data, scheduler: { ...scheduler, schedule: JSON.stringify(schedule) } };
}

/**
 * Recurring jobs need a scheduler here, one that looks often enough: it schedules the latest run
 * due when it looks, so runs closer together than two of its looks would be missed.
 */
function checkScheduleAgainstInterval(schedule: RecurringJob[], interval: number | null): void {
  if (schedule.length === 0) return;
  if (interval === null)
    throw new ConfigError(
      'invalid configuration: scheduler.schedule has recurring jobs, but scheduler.interval is null (no scheduler here): set an interval, or leave the schedule to the processes that have one',
    );
  const now = Date.now();
  for (const job of schedule) {
    const gap = shortestGapMs(job, now);
    if (gap < 2 * interval * 1000)
      throw new ConfigError(
        `invalid configuration: scheduler.schedule: ${job.name}.cron: runs ${gap / 1000} s apart, but the scheduler looks every ${interval} s (scheduler.interval): runs closer than twice that would be missed; lower scheduler.interval or space the runs`,
      );
  }
}

/** Validates one file on its own, so an error can name the file that holds the bad key. */
function checkFile(file: string, data: Record<string, unknown>): void {
  const alone = buildConvict({});
  try {
    alone.load(data);
    alone.validate({ allowed: 'strict' });
  } catch (e) {
    throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
  }
}

function applyOverrides(config: ConvictConfig, overrides: object, prefix = ''): void {
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const path = prefix + key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      applyOverrides(config, value, `${path}.`);
    } else {
      (config as unknown as { set(k: string, v: unknown): void }).set(path, value);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The effective config as JSON with secrets (the Redis password) redacted, for `config check`. */
export function redactConfig(config: Config): Config {
  return { ...config, redis: { ...config.redis, url: redactUrl(config.redis.url) } };
}
