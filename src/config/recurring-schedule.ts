/**
 * scheduler.schedule: recurring jobs, as resque-scheduler's schedule file has them (`cron`,
 * `class`, `queue`, `args`, `description`), checked whole at load so a typo stops start-up or a
 * reload, naming the job and the key. Plain data: the config is frozen and sent to children.
 */
import { Cron } from 'croner';
import { jsonArgs } from '../jobs/json-args.ts';
import { assertQueueName } from './queue-name.ts';

export interface RecurringJob {
  /** Its key in scheduler.schedule; its last run is kept under it in Redis (rw:recurring). */
  name: string;
  /** Cron pattern: 5 fields, or 6 with seconds first; or @hourly, @daily, @weekly, ... */
  cron: string;
  /** IANA time zone the pattern is read in; the machine's when not given. */
  timezone?: string;
  className: string;
  queue: string;
  args: unknown[];
  description?: string;
}

const ENTRY_KEYS = new Set(['cron', 'class', 'queue', 'args', 'timezone', 'description']);
const EXAMPLE = '{"nightly-report": {"cron": "0 3 * * *", "class": "NightlyReport", "queue": "reports"}}';

export function parseRecurringSchedule(v: unknown): RecurringJob[] {
  if (!isObject(v)) throw new Error(`must be an object of named recurring jobs, e.g. ${EXAMPLE}`);
  return Object.entries(v).map(([name, spec]) => {
    try {
      return parseEntry(name, spec);
    } catch (e) {
      throw new Error(`${name}${(e as Error).message}`);
    }
  });
}

/** Errors start with the key they are about (`.cron: ...`): parseRecurringSchedule adds the name. */
function parseEntry(name: string, spec: unknown): RecurringJob {
  if (name === '') throw new Error('"": a recurring job needs a name');
  if (!isObject(spec)) throw new Error(`: must be an object, e.g. ${EXAMPLE}`);
  const unknown = Object.keys(spec).filter((k) => !ENTRY_KEYS.has(k));
  if (unknown.length > 0)
    throw new Error(
      `: unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${[...ENTRY_KEYS].join(', ')})`,
    );
  const { cron, queue, args, timezone, description } = spec;
  // resque-scheduler's rule: no class, the job's name is its class.
  const className = spec.class ?? name;
  if (typeof className !== 'string' || className === '') throw new Error('.class: must name the job class');
  if (typeof queue !== 'string') throw new Error('.queue: must name the queue its runs go to');
  try {
    assertQueueName(queue);
  } catch (e) {
    throw new Error(`.queue: ${(e as Error).message}`);
  }
  if (queue.includes('*'))
    throw new Error(
      `.queue: ${JSON.stringify(queue)}: a queue to enqueue to has no *, which queue lists read as a wildcard`,
    );
  if (description !== undefined && typeof description !== 'string')
    throw new Error('.description: must be a string');
  if (typeof cron !== 'string' || cron.trim() === '')
    throw new Error('.cron: must be a cron pattern, e.g. "0 3 * * *" (03:00 every day)');
  if (timezone !== undefined && !isTimeZone(timezone))
    throw new Error(`.timezone: not an IANA time zone: ${JSON.stringify(timezone)}`);
  const { pattern, zone } = splitZone(cron.trim());
  const fields = pattern.split(/\s+/).length;
  if (pattern.startsWith('@') ? fields !== 1 : fields < 5 || fields > 6)
    throw new Error(
      '.cron: takes 5 fields, or 6 with seconds first (no year field), or one @hourly, @daily, ...',
    );
  if (zone && timezone !== undefined)
    throw new Error('.cron: names a time zone, and so does .timezone: give one');
  const job: RecurringJob = {
    name,
    cron: pattern,
    className,
    queue,
    // resque-scheduler's rule: a single value is the one argument.
    args: args === undefined ? [] : Array.isArray(args) ? args : [args],
  };
  try {
    jsonArgs(className, job.args); // as enqueue checks them, or every run would fail to enqueue
  } catch (e) {
    throw new Error(`.args: ${(e as Error).message}`);
  }
  if (zone ?? timezone) job.timezone = (zone ?? timezone) as string;
  if (description !== undefined) job.description = description;
  let next: Date | null;
  try {
    next = cronOf(job).nextRun();
  } catch (e) {
    throw new Error(`.cron: ${(e as Error).message.replace(/\.$/, '')}`);
  }
  if (!next) throw new Error(`.cron: ${JSON.stringify(cron)} never runs`);
  return job;
}

/** The schedule as a config file writes it (what `config check` prints, to be pasted back). */
export function recurringScheduleAsInput(jobs: readonly RecurringJob[]): Record<string, unknown> {
  return Object.fromEntries(
    jobs.map(({ name, cron, className, ...job }) => [name, { cron, class: className, ...job }]),
  );
}

/**
 * resque-scheduler (rufus) reads a time zone after the fields: "0 3 * * * Europe/Paris". A last
 * word with a letter that is a time zone is one (a field may hold letters too: MON, JAN).
 */
function splitZone(cron: string): { pattern: string; zone?: string } {
  const words = cron.split(/\s+/);
  const last = words.at(-1)!;
  const fields = words[0]!.startsWith('@') ? 1 : 5;
  if (words.length > fields && /[A-Za-z]/.test(last) && isTimeZone(last))
    return { pattern: words.slice(0, -1).join(' '), zone: last };
  return { pattern: cron };
}

function isTimeZone(v: unknown): boolean {
  if (typeof v !== 'string' || v === '') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return true;
  } catch {
    return false;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parsed patterns by pattern and zone: a config is parsed once, but read every scheduler tick. */
const patterns = new Map<string, Cron>();

function cronOf(job: Pick<RecurringJob, 'cron' | 'timezone'>): Cron {
  const key = `${job.cron}\0${job.timezone ?? ''}`;
  let cron = patterns.get(key);
  if (!cron) {
    cron = new Cron(job.cron, { paused: true, ...(job.timezone ? { timezone: job.timezone } : {}) });
    patterns.set(key, cron);
  }
  return cron;
}

/**
 * Where the job's last run handled is kept in rw:recurring: by name and pattern, so a job whose
 * pattern changes starts afresh, as a new one, rather than take the runs of the old pattern as
 * missed.
 */
export function recurringRunsField(job: RecurringJob): string {
  return JSON.stringify([job.name, job.cron, job.timezone ?? null]);
}

/** The job's latest run time at or before `now` (ms since epoch), or null if none. */
export function latestRunAt(job: RecurringJob, now: number): number | null {
  const [run] = cronOf(job).previousRuns(1, new Date(now + 1));
  return run ? run.getTime() : null;
}

/**
 * The shortest time between two of the job's next runs after `now` (ms), from a sample: a pattern
 * may bunch its runs (`0,1 * * * * *`), so one gap is not enough.
 */
export function shortestGapMs(job: RecurringJob, now: number, sample = 20): number {
  const runs = cronOf(job).nextRuns(sample, new Date(now));
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i++) gap = Math.min(gap, runs[i]!.getTime() - runs[i - 1]!.getTime());
  return gap;
}

/** The job's first run time after `now` (ms since epoch), or null if none. */
export function nextRunAt(job: RecurringJob, now: number): number | null {
  return cronOf(job).nextRun(new Date(now))?.getTime() ?? null;
}
