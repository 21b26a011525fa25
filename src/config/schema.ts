/**
 * The one configuration schema (convict). Every key has doc, format and default; most have an env
 * variable. Used by `work`, `start` (and on HUP) and `config check`. Load it with `loadConfig`.
 */
import convict from 'convict';
import { checkRedisUrl } from '../redis/redis-url.ts';
import { MAX_SECONDS } from './max-seconds.ts';
import { assertQueueName } from './queue-name.ts';
import { parseRecurringSchedule } from './recurring-schedule.ts';

export { redactUrl } from '../redis/redis-url.ts';
export { assertQueueName, InvalidQueueNameError } from './queue-name.ts';

/** JSON.stringify writes NaN and Infinity (numbers given in code) as null. */
function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

function positiveInt(v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new Error(`must be a positive integer, got ${shown(v)}`);
}

function nonNegativeInt(v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 0) throw new Error(`must be an integer >= 0, got ${shown(v)}`);
}

export { MAX_SECONDS };

function positiveSeconds(v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_SECONDS) {
    throw new Error(`must be a number of seconds > 0 and <= ${MAX_SECONDS}, got ${shown(v)}`);
  }
}

/**
 * Numbers from the environment arrive as strings. One that is not a number stays as given, so the
 * error shows what the user wrote (convict's own coercion would make "abc" NaN, shown as null).
 */
function toNumber(v: unknown): unknown {
  if (typeof v !== 'string' || v.trim() === '') return v;
  const n = Number(v);
  return Number.isNaN(n) ? v : n;
}

/** A nullable number: convict coerces only by the default's type, and null has none. */
function numberOrNull(v: unknown): unknown {
  return v === '' || v === 'null' ? null : toNumber(v);
}

/**
 * For a coerce: a throw there escapes convict's report, which names the key. Keeping the raw value
 * lets validate refuse it with the key and the value as given.
 */
function orAsGiven(parse: (v: unknown) => unknown): (v: unknown) => unknown {
  return (v) => {
    try {
      return parse(v);
    } catch {
      return v;
    }
  };
}

const optionalPositiveSeconds = {
  name: 'optional-positive-seconds',
  validate: (v: unknown) => {
    if (v !== null) positiveSeconds(v);
  },
  coerce: numberOrNull,
};

const optionalPositiveInt = {
  name: 'optional-positive-int',
  validate: (v: unknown) => {
    if (v !== null) positiveInt(v);
  },
  coerce: numberOrNull,
};

/** "high, default" -> ["high", "default"]; `*` means every queue, alphabetically. */
export function parseQueueList(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
  const queues = list.map((q) => q.trim()).filter((q) => q !== '');
  if (queues.length === 0) throw new Error('must name at least one queue (or * for all)');
  for (const q of queues) assertQueueName(q);
  return queues;
}

const queueList = {
  name: 'queue-list',
  validate: (v: unknown) => void parseQueueList(v),
  coerce: orAsGiven(parseQueueList),
};

const pathList = {
  name: 'path-list',
  validate: (v: unknown) => {
    if (!Array.isArray(v) || v.some((p) => typeof p !== 'string' || p === '')) {
      throw new Error('must be a list of file or directory paths');
    }
  },
  coerce: (v: unknown) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
};

const redisUrl = { name: 'redis-url', validate: checkRedisUrl };

export interface WorkerGroup {
  /** Display name; TTIN/TTOU may target it. Defaults to the queue list. */
  name: string;
  queues: string[];
  /** Worker processes in this group. */
  count: number;
  /** Jobs run at once inside each worker process (overrides worker.concurrency). */
  concurrency?: number;
}

function parseGroups(v: unknown): WorkerGroup[] {
  if (!Array.isArray(v)) throw new Error('must be a list of {"queues": "a,b", "count": N} objects');
  return v.map((g, i) => {
    const at = `group ${i}`;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new Error(`${at}: must be an object`);
    const { queues, count, concurrency, name, ...rest } = g as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0)
      throw new Error(`${at}: unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
    let list: string[];
    try {
      list = parseQueueList(queues ?? '');
    } catch (e) {
      throw new Error(`${at}.queues: ${(e as Error).message}`);
    }
    if (!Number.isInteger(count) || (count as number) < 0) {
      throw new Error(`${at}.count: must be an integer >= 0, got ${JSON.stringify(count)}`);
    }
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || (concurrency as number) < 1)) {
      throw new Error(`${at}.concurrency: must be a positive integer, got ${JSON.stringify(concurrency)}`);
    }
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      throw new Error(`${at}.name: must be a non-empty string`);
    }
    const group: WorkerGroup = {
      name: (name as string | undefined) ?? list.join(','),
      queues: list,
      count: count as number,
    };
    if (concurrency !== undefined) group.concurrency = concurrency as number;
    return group;
  });
}

function parseJson(v: unknown): unknown {
  try {
    return JSON.parse(String(v));
  } catch (e) {
    throw new Error(`not valid JSON: ${(e as Error).message}`);
  }
}

const workerGroups = {
  name: 'worker-groups',
  validate: (v: unknown) => void parseGroups(typeof v === 'string' ? parseJson(v) : v),
  coerce: orAsGiven(parseJson),
};

convict.addFormats({
  'positive-int': { validate: positiveInt, coerce: toNumber },
  'non-negative-int': { validate: nonNegativeInt, coerce: toNumber },
  'positive-seconds': { validate: positiveSeconds, coerce: toNumber },
  'optional-positive-seconds': optionalPositiveSeconds,
  'optional-positive-int': optionalPositiveInt,
  'queue-list': queueList,
  'path-list': pathList,
  'redis-url': redisUrl,
  'worker-groups': workerGroups,
  // Kept as JSON text through convict (see loadConfig), which would walk an object by its keys.
  'recurring-schedule': {
    validate: (v: unknown) => void parseRecurringSchedule(typeof v === 'string' ? parseJson(v) : v),
  },
});

export const schema = {
  redis: {
    url: {
      doc: 'Redis to use: redis://[:password@]host:port/db, or rediss:// for TLS.',
      format: 'redis-url',
      default: 'redis://127.0.0.1:6379',
      env: 'REDIS_URL',
      sensitive: true,
    },
    namespace: {
      doc: 'Key prefix shared with peers (Ruby Resque, php-resque, node-resque all default to "resque").',
      format: String,
      default: 'resque',
      env: 'RESQUE_NAMESPACE',
    },
    connectTimeout: {
      doc: 'Seconds to wait for a connection to Redis before retrying.',
      format: 'positive-seconds',
      default: 10,
      env: 'REDIS_CONNECT_TIMEOUT',
    },
  },
  jobs: {
    doc: 'Job modules: files, or directories whose .ts/.js/.mjs/.cjs files are loaded. Each export names a job class.',
    format: 'path-list',
    default: [] as string[],
    env: 'RESQUE_JOBS',
  },
  queues: {
    doc: 'Queues a worker takes jobs from, in priority order ("high,default"); * means all, alphabetically.',
    format: 'queue-list',
    default: ['*'],
    env: 'QUEUE',
  },
  worker: {
    concurrency: {
      doc: 'Jobs one worker process runs at once. 1 is Resque semantics; higher suits I/O-bound jobs.',
      format: 'positive-int',
      default: 1,
      env: 'CONCURRENCY',
    },
    prefetch: {
      doc: 'Jobs a worker process reserves beyond those it runs, so its next Redis round trip overlaps running jobs. 0 (Resque semantics) holds only what runs; more raises throughput of short jobs, but a reserved job waits for this worker even if another is idle (pause and stop put it back).',
      format: 'non-negative-int',
      default: 0,
      env: 'PREFETCH',
    },
    interval: {
      doc: 'Seconds between polls of empty queues. Jobs enqueued by this library wake workers at once; this bounds pickup of jobs pushed by other Resque clients.',
      format: 'positive-seconds',
      default: 5,
      env: 'INTERVAL',
    },
    heartbeatInterval: {
      doc: "Seconds between worker heartbeats: Ruby Resque's 60 by default (it prunes workers silent for 300 s; a worker whose event loop stalls is the supervisor's hangTimeout's business).",
      format: 'positive-seconds',
      default: 60,
      env: 'HEARTBEAT_INTERVAL',
    },
    statusTtl: {
      doc: 'Seconds a final job status (failed/complete) is kept, as php-resque does.',
      format: 'positive-int',
      default: 86400,
      env: 'STATUS_TTL',
    },
    jobTimeout: {
      doc: 'Seconds a job may run before it is failed with a timeout error; null for no limit. A job class may set its own `static timeout`.',
      format: 'optional-positive-seconds',
      default: null as number | null,
      nullable: true,
      env: 'JOB_TIMEOUT',
    },
    maxJobs: {
      doc: 'Recycle a worker process after this many jobs (null: never).',
      format: 'optional-positive-int',
      default: null as number | null,
      nullable: true,
      env: 'MAX_JOBS',
    },
    maxMemoryMb: {
      doc: 'Recycle a worker process, between jobs, once its RSS exceeds this many MiB (null: never).',
      format: 'optional-positive-int',
      default: null as number | null,
      nullable: true,
      env: 'MAX_MEMORY_MB',
    },
    deadAfter: {
      doc: "Seconds without a heartbeat after which a worker of ours is pruned as dead and its in-flight jobs recovered, judged by Redis time (a peer's after 300 s at least, Ruby's limit; none right after an outage). Must be more than twice heartbeatInterval.",
      format: 'positive-seconds',
      default: 300,
      env: 'DEAD_AFTER',
    },
    poisonLimit: {
      doc: "A job that was in flight on more dead workers than this is failed as a poison job instead of being requeued again. Counted per job id (a payload without one, as Ruby's, by its bytes: identical ones share a count), kept 24 h after the last recovery.",
      format: 'positive-int',
      default: 3,
      env: 'POISON_LIMIT',
    },
  },
  supervisor: {
    count: {
      doc: 'Worker processes when no groups are configured (they take `queues`).',
      format: 'non-negative-int',
      default: 1,
      env: 'COUNT',
    },
    groups: {
      doc: 'Worker groups, as resque-pool: [{"queues": "high,default", "count": 3, "concurrency": 5}]. Empty: one group of `count` workers on `queues`.',
      format: 'worker-groups',
      default: [] as unknown[],
      env: 'RESQUE_GROUPS',
    },
    shutdownTimeout: {
      doc: 'Seconds a graceful stop (TERM/INT) waits for running jobs before they are put back and their workers killed.',
      format: 'positive-seconds',
      default: 25,
      env: 'SHUTDOWN_TIMEOUT',
    },
    pidfile: {
      doc: 'Where the supervisor writes its pid (for `resque-worker pause|resume|reload|stop`); empty for none.',
      format: String,
      default: '',
      env: 'PIDFILE',
    },
    respawnDelay: {
      doc: 'Seconds before a crashed worker process is respawned; doubles with each crash in a row (exponential back-off).',
      format: 'positive-seconds',
      default: 1,
      env: 'RESPAWN_DELAY',
    },
    respawnDelayMax: {
      doc: 'Upper bound in seconds of the respawn back-off; a group crashing this often is reported as a crash loop.',
      format: 'positive-seconds',
      default: 60,
      env: 'RESPAWN_DELAY_MAX',
    },
    hangTimeout: {
      doc: 'Seconds a worker process may go without its 1 s IPC heartbeat (its event loop blocked, e.g. a synchronous endless loop) before it is killed and replaced. At concurrency 1 without prefetch its job is failed with JobTimeout; with more jobs in flight they are recovered per supervisor.deadWorkerJobs (which one blocked cannot be told). Keep well above GC pauses.',
      format: 'positive-seconds',
      default: 30,
      env: 'HANG_TIMEOUT',
    },
    pruneInterval: {
      doc: 'Seconds between runs of the dead-worker pruner in `start` and `work` (it also runs at start-up): our dead pids on this machine, stale heartbeats, orphan in-flight lists.',
      format: 'positive-seconds',
      default: 60,
      env: 'PRUNE_INTERVAL',
    },
    deadWorkerJobs: {
      doc: 'What happens to the jobs of a worker process that died (crash, SIGKILL, OOM): "requeue" puts them back at the head of their queues (at-least-once), "fail" records them as failures (DirtyExit).',
      format: ['requeue', 'fail'],
      default: 'requeue',
      env: 'DEAD_WORKER_JOBS',
    },
    scaleGroup: {
      doc: 'Name of the group that TTIN/TTOU add a worker to or remove one from; empty: the first group.',
      format: String,
      default: '',
      env: 'SCALE_GROUP',
    },
  },
  scheduler: {
    interval: {
      doc: "Seconds between moves of due scheduled jobs (ResqueClient.enqueueAt/enqueueIn, resque-scheduler's delayed queue) onto their queues, by `start` and by `work`: one Redis call each time, so 2 s keeps an idle pool of one worker under 1 call/s. A job runs up to this late (resque-scheduler polls every 5 s). null: not here (another process, such as Ruby's resque-scheduler, moves them). Read at start: a reload (HUP) that changes it is refused.",
      format: 'optional-positive-seconds',
      default: 2 as number | null,
      env: 'SCHEDULER_INTERVAL',
    },
    schedule: {
      doc: 'Recurring jobs, as resque-scheduler\'s schedule: {"nightly-report": {"cron": "0 3 * * *", "class": "NightlyReport", "queue": "reports", "args": [], "timezone": "Europe/Paris", "description": "..."}} (no class: the name is the class). `cron` has 5 fields, or 6 with seconds first, or is @hourly, @daily, ...; it is read in `timezone` (an IANA zone, or one after the fields, as rufus reads it; else the machine\'s). Each run is enqueued once, however many `start` and `work` processes share the Redis; a job first seen, or whose cron or timezone changed, starts with its next run; runs missed while no scheduler ran are logged and skipped, but the latest is still enqueued within 60 s (or 3 scheduler.interval) of its time. Needs scheduler.interval, at most half the shortest time between two runs. Reloaded on HUP by `start`.',
      format: 'recurring-schedule',
      default: {} as Record<string, unknown> | string,
      env: 'RESQUE_SCHEDULE',
      // Its args may carry secrets: an error does not echo the value.
      sensitive: true,
    },
  },
  log: {
    level: {
      doc: 'Log level: fatal, error, warn, info, debug, trace, or silent (no log at all).',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'LOG_LEVEL',
    },
  },
};

export type ConvictConfig = ReturnType<typeof buildConvict>;

export function buildConvict(env: NodeJS.ProcessEnv) {
  return convict(schema, { env, args: [] });
}

export function parseWorkerGroups(v: unknown): WorkerGroup[] {
  return parseGroups(v);
}
