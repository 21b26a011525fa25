/**
 * The `resque-worker` command. Only entry points touch the process: exit codes, signals, titles.
 */
import { ConfigError } from '../config/load-config.ts';
import { JobLoadError } from '../jobs/job-registry.ts';
import { enqueueCommand, statusCommand } from './client-commands.ts';
import { configCheck } from './config-check.ts';
import { WORK_USAGE, work } from './work.ts';

const USAGE = `resque-worker: Resque-compatible job workers

  resque-worker work      run one worker in the foreground
  resque-worker enqueue   <queue> <Class> [json-arg ...] [--track]
  resque-worker status    <job-id>
  resque-worker config check [--config FILE]

${WORK_USAGE}`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  work,
  enqueue: enqueueCommand,
  status: statusCommand,
  config: async (argv) => {
    if (argv[0] !== 'check') {
      console.error('usage: resque-worker config check [--config FILE]');
      return 2;
    }
    return configCheck(argv.slice(1));
  },
};

/** Registered by later modules (supervisor commands) without this file importing them all eagerly. */
export function addCommand(name: string, command: Command): void {
  COMMANDS[name] = command;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`resque-worker: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    const expected =
      err instanceof ConfigError ||
      err instanceof JobLoadError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`resque-worker: ${expected ? err.message : (err.stack ?? err.message)}`);
    process.exitCode = expected ? 78 : 1; // 78 = EX_CONFIG
  },
);
