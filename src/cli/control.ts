/**
 * Operating a running supervisor through its pidfile:
 *   resque-worker pause|resume|reload|stop|kill-jobs [--pidfile F | --config F]
 *   resque-worker status [--pidfile F | --config F] [--json]   (the pool; `status <job-id>` is a job)
 * The pidfile comes from --pidfile, else supervisor.pidfile of the config (--config, PIDFILE).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { ResqueClient, type WorkerInfo } from '../client/client.ts';
import { loadConfig } from '../config/load-config.ts';
import { host } from '../jobs/payload.ts';
import { checkPoolConfig } from '../supervisor/pool-config.ts';
import { readStatusFile } from '../supervisor/status-file.ts';
import { KILL_GRACE_MS } from '../supervisor/supervisor.ts';
import { isAlive, isSupervisor, readPidfile } from '../util/pidfile.ts';
import { waitUntil } from '../util/wait-until.ts';
import { configFile, noMorePositionals, overridesFrom, parseCommon, UsageError } from './args.ts';
import { statusCommand } from './client-commands.ts';
import { describeWorker } from './inspect-commands.ts';

export const SIGNAL_OF = {
  pause: 'SIGUSR2',
  resume: 'SIGCONT',
  reload: 'SIGHUP',
  stop: 'SIGTERM',
  'kill-jobs': 'SIGUSR1',
} as const;

const EXTRA = {
  pidfile: { type: 'string' },
  json: { type: 'boolean' },
  nowait: { type: 'boolean' },
} as const;

export const CONTROL_USAGE = `usage: resque-worker pause|resume|reload|stop|kill-jobs|status [--pidfile F | --config F]
  Signal the supervisor whose pid is in the pidfile (--pidfile, else supervisor.pidfile of the
  config, PIDFILE): pause USR2, resume CONT, reload HUP, stop TERM (waits until it exited;
  --nowait does not), kill-jobs USR1. status prints the pool (--json), exit 3 if none runs.
  reload --config F checks F first, as start would; the supervisor re-reads the file it was
  started with (the same one when F names its pidfile, as under systemd).`;

function context(argv: string[]) {
  const { values, positionals } = parseCommon(argv, EXTRA);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  const pidfile = values.pidfile ?? config.supervisor.pidfile;
  return { values, positionals, config, pidfile };
}

/** `pause`, `resume`, `reload`, `stop`, `kill-jobs`: signal the supervisor named by the pidfile. */
export function controlCommand(action: keyof typeof SIGNAL_OF) {
  return async (argv: string[]): Promise<number> => {
    const { values, positionals, config, pidfile } = context(argv);
    noMorePositionals(action, positionals);
    if (!pidfile)
      throw new UsageError(`${action}: no pidfile (pass --pidfile, or set supervisor.pidfile / PIDFILE)`);
    // The supervisor would refuse a bad file and keep the old config, saying so only in its log.
    if (action === 'reload' && configFile(values)) checkPoolConfig(config);
    const pid = readPidfile(pidfile);
    if (pid === null || !isSupervisor(pid)) {
      console.error(`resque-worker ${action}: no supervisor running (pidfile ${pidfile}${stale(pid)})`);
      return 1;
    }
    try {
      process.kill(pid, SIGNAL_OF[action]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      console.error(
        `resque-worker ${action}: not allowed to signal supervisor ${pid}: run as root or as its user`,
      );
      return 1;
    }
    if (action !== 'stop' || values.nowait) {
      const outcome =
        action === 'reload' ? ' (its log says supervisor.reload, or reload-failed and why)' : '';
      console.log(`sent ${SIGNAL_OF[action]} to supervisor ${pid}${outcome}`);
      return 0;
    }
    const timeoutMs = config.supervisor.shutdownTimeout * 1000 + KILL_GRACE_MS + 10_000;
    if (await waitUntil(() => !isAlive(pid), timeoutMs)) {
      console.log(`supervisor ${pid} stopped`);
      return 0;
    }
    console.error(`resque-worker stop: supervisor ${pid} still running after ${timeoutMs / 1000} s`);
    return 1;
  };
}

/** Why a pidfile naming a live process does not count: that process is not a supervisor. */
function stale(pid: number | null): string {
  return pid !== null && isAlive(pid) ? `: stale, pid ${pid} is another program now` : '';
}

/** `status` with a job id is the job's status; without one it is the pool's. */
export async function statusOrPool(argv: string[]): Promise<number> {
  const { positionals } = parseCommon(argv, EXTRA);
  if (positionals.length > 0) return statusCommand(withoutFlag(argv, '--pidfile'));
  return poolStatus(argv);
}

export async function poolStatus(argv: string[]): Promise<number> {
  const { values, config, pidfile } = context(argv);
  const pid = pidfile ? readPidfile(pidfile) : null;
  const alive = pid !== null && isSupervisor(pid);
  const children = alive ? childrenOf(pid) : [];
  const client = new ResqueClient({ redisUrl: config.redis.url, namespace: config.redis.namespace });
  let workers: WorkerInfo[] = [];
  let redisError: string | null = null;
  try {
    const all = await client.workers();
    workers = all.filter((w) => w.host === host() && (!alive || children.includes(Number(w.pid))));
  } catch (err) {
    redisError = (err as Error).message;
  } finally {
    await client.close();
  }
  const report = {
    pidfile: pidfile || null,
    supervisor: alive
      ? { pid, title: titleOf(pid), status: pidfile ? readStatusFile(pidfile, pid) : null }
      : null,
    children,
    workers: workers.map((w) => ({ id: w.id, job: w.job, processed: w.processed, failed: w.failed })),
    redisError,
  };
  if (values.json) {
    console.log(JSON.stringify(report));
  } else {
    console.log(
      alive
        ? `supervisor ${pid}: ${report.supervisor?.status ?? report.supervisor?.title}`
        : `no supervisor running${pidfile ? ` (pidfile ${pidfile})` : ' (no pidfile configured)'}`,
    );
    for (const w of workers) console.log(`  ${describeWorker(w)}`);
    if (redisError) console.log(`  (Redis: ${redisError})`);
  }
  return alive ? 0 : 3; // 3: "not running", as LSB status
}

function titleOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** argv without `--flag value` / `--flag=value` (for a command that does not know the flag). */
function withoutFlag(argv: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) i++;
    else if (!argv[i]!.startsWith(`${flag}=`)) out.push(argv[i]!);
  }
  return out;
}
