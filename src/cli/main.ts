/**
 * The `resque-worker` command. Only entry points touch the process: exit codes, signals, titles.
 */
import { ReplyError } from 'ioredis';
import { RedisUnavailableError } from '../client/client.ts';
import { ConfigError } from '../config/load-config.ts';
import { InvalidQueueNameError } from '../config/schema.ts';
import { JobLoadError } from '../jobs/job-registry.ts';
import { REFUSED_SETTING, UnsupportedRedisError } from '../redis/connection.ts';
import { PidfileError } from '../util/pidfile.ts';
import { RUNNING_FROM } from '../util/runtime.ts';
import { VERSION } from '../worker/worker.ts';
import { UsageError } from './args.ts';
import { ENQUEUE_USAGE, enqueueCommand, STATUS_USAGE } from './client-commands.ts';
import { CONFIG_USAGE, configCheck } from './config-check.ts';
import { CONTROL_USAGE, controlCommand, statusOrPool } from './control.ts';
import {
  failuresCommand,
  INSPECT_USAGE,
  queueCommand,
  queuesCommand,
  recurringCommand,
  scheduledCommand,
  statsCommand,
  workersCommand,
} from './inspect-commands.ts';
import { START_USAGE, start } from './start.ts';
import { WORK_USAGE, work } from './work.ts';

const USAGE = `resque-worker: Resque-compatible job workers

  resque-worker start     run the supervisor (a pool of worker processes) in the foreground
  resque-worker work      run one worker in the foreground
  resque-worker enqueue   <queue> <Class> [json-arg ...] [--track] [--in S | --at TIME]
  resque-worker status    <job-id> [--json]   a job's status (--json: with its result)
  resque-worker status    [--pidfile F | --config F] [--json]   the running pool
  resque-worker pause|resume|reload|stop|kill-jobs [--pidfile F | --config F]
  resque-worker queues|workers|stats [--json]   what resque-web shows (Redis state)
  resque-worker queue <name> [remove --yes]      the jobs waiting in a queue; remove it
  resque-worker failures [list|count|retry <i>...|retry --all|remove <i>|clear --yes]
  resque-worker scheduled [cancel <id>...]      the next scheduled jobs; cancel some
  resque-worker recurring [--json]               the config's recurring jobs: last and next runs
  resque-worker config check [--config FILE]
  resque-worker --version     the version, and whether it runs the compiled dist/ or src/ through tsx

${START_USAGE}

${WORK_USAGE}`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start,
  work,
  enqueue: enqueueCommand,
  status: statusOrPool,
  pause: controlCommand('pause'),
  resume: controlCommand('resume'),
  reload: controlCommand('reload'),
  stop: controlCommand('stop'),
  'kill-jobs': controlCommand('kill-jobs'),
  queues: queuesCommand,
  scheduled: scheduledCommand,
  recurring: recurringCommand,
  workers: workersCommand,
  stats: statsCommand,
  queue: queueCommand,
  failures: failuresCommand,
  // A worker child of `start` (node:cluster runs this file again); not for people.
  __child: async () => {
    const { runWorkerChild } = await import('../supervisor/worker-child.ts');
    return runWorkerChild();
  },
  config: async (argv) => {
    if (argv[0] !== 'check') throw new UsageError(`config: only "config check" exists\n${CONFIG_USAGE}`);
    return configCheck(argv.slice(1));
  },
};

/** `<command> --help` prints this and does nothing else (no config read, no Redis, no job queued). */
const HELP: Record<string, string> = {
  start: START_USAGE,
  work: WORK_USAGE,
  enqueue: ENQUEUE_USAGE,
  status: `${STATUS_USAGE}\n\n${CONTROL_USAGE}`,
  pause: CONTROL_USAGE,
  resume: CONTROL_USAGE,
  reload: CONTROL_USAGE,
  stop: CONTROL_USAGE,
  'kill-jobs': CONTROL_USAGE,
  config: CONFIG_USAGE,
  queues: INSPECT_USAGE,
  scheduled: INSPECT_USAGE,
  recurring: INSPECT_USAGE,
  workers: INSPECT_USAGE,
  stats: INSPECT_USAGE,
  queue: INSPECT_USAGE,
  failures: INSPECT_USAGE,
};

function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const flags = end === -1 ? argv : argv.slice(0, end);
  return flags.includes('--help') || flags.includes('-h');
}

/** Registered by later modules (supervisor commands) without this file importing them all eagerly. */
export function addCommand(name: string, command: Command): void {
  COMMANDS[name] = command;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) throw new UsageError(`a command is needed\n\n${USAGE}`);
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(
      `resque-worker ${VERSION} (${RUNNING_FROM === 'dist' ? 'compiled dist/' : 'src/ through tsx'})`,
    );
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"\n\n${USAGE}`);
  const help = HELP[name];
  if (help && asksForHelp(rest)) {
    console.log(help);
    return 0;
  }
  return command(rest);
}

/**
 * The exit code of an error: 64 = EX_USAGE (a bad argument), 69 = EX_UNAVAILABLE (Redis away or
 * too old), 78 = EX_CONFIG (a bad setting; a password or database Redis refuses too), 1 anything
 * else. Whether to print its stack: only for what is none of these, a bug.
 */
function exitCodeOf(err: Error): { code: number; expected: boolean } {
  if (
    err instanceof UsageError ||
    err instanceof InvalidQueueNameError ||
    (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') // node:util parseArgs
  )
    return { code: 64, expected: true };
  if (err instanceof RedisUnavailableError || err instanceof UnsupportedRedisError)
    return { code: REFUSED_SETTING.test(err.message) ? 78 : 69, expected: true };
  if (err instanceof ConfigError || err instanceof JobLoadError || err instanceof PidfileError)
    return { code: 78, expected: true };
  // Redis answered with an error (a key of the wrong type, say): its message says it all.
  if (err instanceof ReplyError) return { code: 1, expected: true };
  return { code: 1, expected: false };
}

main(process.argv.slice(2)).then(
  // Exit even if job code left handles open (a DB pool, a metrics timer): the command is done.
  (code) => process.exit(code),
  (err: Error) => {
    const { code, expected } = exitCodeOf(err);
    console.error(`resque-worker: ${expected ? err.message : (err.stack ?? err.message)}`);
    // Exit now: connections left open (a worker that could not start) would keep the process up.
    process.exit(code);
  },
);
