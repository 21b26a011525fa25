/**
 * The Redis state from the shell, as resque-web shows it in a browser: queues and their jobs,
 * workers, stats, and the failed list with its retry and remove. Plain lines for people, `--json`
 * for scripts. What deletes jobs (`queue <name> remove`, `failures clear`) asks for `--yes`.
 */
import type { ResqueClient, WorkerInfo } from '../client/client.ts';
import type { FailureRecord } from '../client/failures.ts';
import type { Config } from '../config/load-config.ts';
import { nextRunAt } from '../config/recurring-schedule.ts';
import { assertQueueName } from '../config/schema.ts';
import { noMorePositionals, UsageError } from './args.ts';
import { clientFrom } from './client-commands.ts';

export const INSPECT_USAGE = `usage: resque-worker queues|workers|stats [--json]
       resque-worker queue <name> [--start N] [--count N] [--json]    the jobs waiting in it
       resque-worker queue <name> remove --yes                        the queue and its jobs
       resque-worker failures [list] [--start N] [--count N] [--json]
       resque-worker failures count | retry <index>... | retry --all | remove <index> | clear --yes
       resque-worker scheduled [--count N] [--json]                   the next scheduled jobs
       resque-worker scheduled cancel <id>...                         take them out of the schedule
       resque-worker recurring [--json]        the config's recurring jobs: last run handled, next run
  Each takes --redis URL, --namespace NS, --config FILE as the other commands do. Failure indexes
  are positions in the failed list (0 = oldest), as \`failures list\` shows them.`;

const FLAGS = {
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  all: { type: 'boolean' },
  start: { type: 'string' },
  count: { type: 'string' },
} as const;

type Values = { json?: boolean; yes?: boolean; all?: boolean; start?: string; count?: string };

/** A whole number >= 0 from the command line; `what` names it in the error (`--count`, `index`). */
function whole(what: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new UsageError(`${what} must be a whole number >= 0, got ${JSON.stringify(text)}`);
  return n;
}

async function withClient(
  argv: string[],
  run: (
    client: ResqueClient,
    positionals: string[],
    values: Values,
    config: Readonly<Config>,
  ) => Promise<number>,
): Promise<number> {
  const { client, config, positionals, values } = clientFrom(argv, FLAGS);
  try {
    return await run(client, positionals, values as Values, config);
  } finally {
    await client.close();
  }
}

const print = (json: boolean | undefined, data: unknown, lines: () => string[]) =>
  console.log(json ? JSON.stringify(data) : lines().join('\n'));

export function scheduledCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values) => {
    const [action, ...ids] = positionals;
    if (action === 'cancel') {
      if (ids.length === 0)
        throw new UsageError('scheduled cancel: which? give job ids (scheduled lists them)');
      let missing = 0;
      for (const id of new Set(ids)) {
        if (await client.cancelScheduled(id)) {
          console.log(`cancelled ${id}`);
        } else {
          missing++;
          console.error(`resque-worker: no scheduled job ${id} (it may have run already)`);
        }
      }
      return missing > 0 ? 1 : 0;
    }
    if (action !== undefined)
      throw new UsageError(`scheduled: unknown action ${JSON.stringify(action)}\n${INSPECT_USAGE}`);
    const jobs = await client.scheduled(whole('--count', values.count, 20));
    print(values.json, jobs, () =>
      jobs.length
        ? jobs.map(({ at, job }) => {
            const when = isoSecond(at * 1000);
            if (typeof job !== 'object' || job === null) return `${when}  ${JSON.stringify(job)}`;
            const { queue, class: cls, args, id } = job as Record<string, unknown>;
            return `${when}  ${queue}  ${cls}  ${JSON.stringify(args ?? [])}${id ? `  ${id}` : ''}`;
          })
        : ['nothing scheduled'],
    );
    return 0;
  });
}

const isoSecond = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The config's recurring jobs (the schedule is not in Redis), with Redis's record of their runs. */
export function recurringCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values, config) => {
    noMorePositionals('recurring', positionals);
    const { schedule } = config.scheduler;
    const handled = await client.lastHandledRuns(schedule);
    const now = Date.now();
    const rows = schedule.map((job) => {
      const last = handled[job.name];
      const next = nextRunAt(job, now);
      return {
        name: job.name,
        cron: job.cron,
        timezone: job.timezone ?? null,
        class: job.className,
        queue: job.queue,
        args: job.args,
        description: job.description ?? null,
        // Enqueued, skipped as missed, or where the job started: what its schedulers last handled.
        lastHandled: last == null ? null : isoSecond(last * 1000),
        nextRun: next === null ? null : isoSecond(next),
      };
    });
    print(values.json, rows, () =>
      rows.length
        ? rows.map(
            (r) =>
              `${r.name}  ${r.cron}${r.timezone ? ` (${r.timezone})` : ''}  ${r.queue}  ${r.class}  ${JSON.stringify(r.args)}  last handled ${r.lastHandled ?? 'none'}  next ${r.nextRun ?? 'never'}`,
          )
        : ['no recurring jobs (scheduler.schedule in the config file)'],
    );
    return 0;
  });
}

export function queuesCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values) => {
    noMorePositionals('queues', positionals);
    const names = await client.queues();
    const sizes = await Promise.all(names.map((q) => client.size(q)));
    const rows = names.map((name, i) => ({ name, size: sizes[i] }));
    print(values.json, rows, () => (rows.length ? rows.map((r) => `${r.name}  ${r.size}`) : ['no queues']));
    return 0;
  });
}

export function describeWorker(w: WorkerInfo): string {
  const doing = !w.job
    ? 'idle'
    : typeof w.job === 'string'
      ? `working (unreadable record: ${w.job.slice(0, 60)})`
      : `working on ${w.job.queue} since ${w.job.run_at}`;
  return `${w.id}  ${doing}  processed ${w.processed}, failed ${w.failed}`;
}

export function workersCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values) => {
    noMorePositionals('workers', positionals);
    const workers = await client.workers();
    print(values.json, workers, () => (workers.length ? workers.map(describeWorker) : ['no workers']));
    return 0;
  });
}

export function statsCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values) => {
    noMorePositionals('stats', positionals);
    const stats = await client.stats();
    print(values.json, stats, () => Object.entries(stats).map(([k, v]) => `${k}: ${v}`));
    return 0;
  });
}

export function queueCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values) => {
    const [name, action] = positionals;
    if (!name) throw new UsageError(`queue: a queue name is needed\n${INSPECT_USAGE}`);
    assertQueueName(name);
    if (action === 'remove') {
      noMorePositionals('queue remove', positionals, 2);
      if (!values.yes) throw new UsageError(`queue ${name} remove deletes its jobs: add --yes`);
      const removed = await client.removeQueue(name);
      console.log(`removed queue ${name} and its ${removed} jobs`);
      return 0;
    }
    if (action !== undefined)
      throw new UsageError(`queue: unknown action ${JSON.stringify(action)}\n${INSPECT_USAGE}`);
    const start = whole('--start', values.start, 0);
    const jobs = await client.peek(name, start, whole('--count', values.count, 10));
    print(values.json, jobs, () =>
      jobs.length ? jobs.map((j, i) => `${start + i}  ${JSON.stringify(j)}`) : [`queue ${name} is empty`],
    );
    return 0;
  });
}

function describeFailure(f: FailureRecord | string, index: number): string {
  if (typeof f === 'string') return `${index}  (unreadable record) ${f.slice(0, 100)}`;
  const payload = f.payload as { class?: unknown } | null;
  const cls =
    payload && typeof payload === 'object' && typeof payload.class === 'string' ? payload.class : '?';
  const retried = f.retried_at ? `  (retried ${f.retried_at})` : '';
  return `${index}  ${f.failed_at}  ${f.queue}  ${cls}  ${f.exception}: ${f.error}${retried}`;
}

/** Failure indexes, each once (retrying one twice would queue its job twice). */
function indexes(args: string[]): number[] {
  if (args.length === 0) throw new UsageError('failures: which? give indexes (failures list shows them)');
  return [...new Set(args.map((a) => whole('a failure index', a, 0)))];
}

export function failuresCommand(argv: string[]): Promise<number> {
  return withClient(argv, async (client, positionals, values) => {
    const [action = 'list', ...rest] = positionals;
    const failures = client.failures;
    switch (action) {
      case 'list': {
        noMorePositionals('failures list', rest);
        const start = whole('--start', values.start, 0);
        const records = await failures.list(start, whole('--count', values.count, 20));
        print(values.json, records, () =>
          records.length ? records.map((f, i) => describeFailure(f, start + i)) : ['no failures'],
        );
        return 0;
      }
      case 'count':
        noMorePositionals('failures count', rest);
        console.log(await failures.count());
        return 0;
      case 'retry': {
        if (values.all) {
          noMorePositionals('failures retry --all', rest);
          console.log(`retried ${await failures.retryAll()} failures`);
          return 0;
        }
        const wanted = indexes(rest);
        // All or none for a mistyped index: not half of a list retried before the error.
        const count = await failures.count();
        const absent = wanted.filter((i) => i >= count);
        if (absent.length > 0) {
          console.error(
            `resque-worker: no failure at index ${absent.join(', ')} (${count} failures${count ? `: 0-${count - 1}` : ''}); nothing retried`,
          );
          return 1;
        }
        let missing = 0;
        for (const i of wanted) {
          if (await failures.retry(i)) {
            console.log(`retried failure ${i}`);
            continue;
          }
          missing++;
          console.error(
            i >= (await failures.count())
              ? `resque-worker: no failure at index ${i}`
              : `resque-worker: failure ${i} cannot be retried: its record is unreadable, or it changed meanwhile`,
          );
        }
        return missing > 0 ? 1 : 0;
      }
      case 'remove': {
        const [i] = indexes(rest);
        noMorePositionals('failures remove', rest, 1);
        if (await failures.remove(i!)) {
          console.log(`removed failure ${i}`);
          return 0;
        }
        console.error(`resque-worker: no failure at index ${i}`);
        return 1;
      }
      case 'clear':
        noMorePositionals('failures clear', rest);
        if (!values.yes) throw new UsageError('failures clear deletes every failure record: add --yes');
        console.log(`removed ${await failures.clear()} failures`);
        return 0;
      default:
        throw new UsageError(`failures: unknown action ${JSON.stringify(action)}\n${INSPECT_USAGE}`);
    }
  });
}
