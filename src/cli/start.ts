/**
 * `resque-worker start`: the supervisor in the foreground (systemd style, no self-daemonising).
 * The entry point that touches the process: cluster setup, signals, systemd, pidfile, title, exit.
 *
 * Signals (queued, one at a time, see signals.ts):
 *   TERM/INT  graceful stop within supervisor.shutdownTimeout (one deadline for every child);
 *             a second one stops now (running jobs are put back)
 *   QUIT      graceful stop with no deadline
 *   USR2/CONT pause/resume every worker (CONT is ignored during a stop: systemd sends it after TERM)
 *   USR1      kill the running jobs, keep the workers
 *   HUP       reload the config (a bad file keeps the old one)
 *   TTIN/TTOU one worker more/less in supervisor.scaleGroup (default the first group)
 */

import cluster from 'node:cluster';
import { loadConfig } from '../config/load-config.ts';
import { createLogger } from '../log.ts';
import { pruneAtStart, pruneTask } from '../recovery/prune-dead-workers.ts';
import { resqueKeys } from '../redis/keys.ts';
import { scheduleTask } from '../scheduler/move-due-jobs.ts';
import { clusterLauncher } from '../supervisor/launcher.ts';
import { checkPoolConfig } from '../supervisor/pool-config.ts';
import { processTitle, statusLine } from '../supervisor/pool-status.ts';
import { removeStatusFile, writeStatusFile } from '../supervisor/status-file.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { CONT_GRACE_MS } from '../supervisor/worker-child.ts';
import { createNotifier, monotonicUsec } from '../systemd/notify.ts';
import { removePidfile, writePidfile } from '../util/pidfile.ts';
import { RUNNING_FROM } from '../util/runtime.ts';
import { workerNodeFlags } from '../worker/worker-process.ts';
import { configFile, noMorePositionals, overridesFrom, parseCommon } from './args.ts';
import { onSignals } from './signals.ts';
import { watchForUnusableRedis } from './unusable-redis.ts';

export const START_USAGE = `usage: resque-worker start [--config FILE] [--jobs ./jobs] [--queues high,default] [--redis URL]
                           [--namespace NS] [--concurrency N] [--prefetch N] [--interval S] [--log-level LEVEL]
  Runs the worker pool in the foreground: supervisor.groups from the config, or COUNT workers on QUEUE.
  env: REDIS_URL, QUEUE/QUEUES, COUNT, INTERVAL, CONCURRENCY, PREFETCH, RESQUE_JOBS, PIDFILE, RESQUE_WORKER_CONFIG`;

const STATUS_EVERY_MS = 250;
const BIN = new URL('../../bin/resque-worker.mjs', import.meta.url).pathname;

export async function start(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommon(argv);
  if (values.help) {
    console.log(START_USAGE);
    return 0;
  }
  noMorePositionals('start', positionals);
  const load = () => loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  const config = load();
  checkPoolConfig(config);
  const log = createLogger(config.log.level, { role: 'supervisor' });
  const pidfile = config.supervisor.pidfile;
  if (pidfile) {
    writePidfile(pidfile);
    process.on('exit', () => {
      removeStatusFile(pidfile);
      removePidfile(pidfile);
    });
  }

  // The children run the code this process runs (dist/ or src/), even if src/ changes meanwhile:
  // bin/resque-worker.mjs obeys RESQUE_WORKER_FROM instead of looking again.
  process.env.RESQUE_WORKER_FROM = RUNNING_FROM;
  cluster.setupPrimary({
    exec: BIN,
    args: ['__child'],
    execArgv: [...process.execArgv, ...workerNodeFlags(process.execArgv, process.env.NODE_OPTIONS)],
    silent: false,
  });
  const supervisor = new Supervisor({ config, log, launcher: clusterLauncher, loadConfig: load });
  const notifier = createNotifier(log);

  let readySent = false;
  let lastLine = '';
  const refresh = (force = false) => {
    const snap = supervisor.snapshot();
    const line = statusLine(snap);
    if (line === lastLine && !force) return;
    lastLine = line;
    process.title = processTitle(snap);
    if (pidfile) writeStatusFile(pidfile, line);
    notifier.send(`STATUS=${line}`);
  };
  // Beats make many small changes: refresh the status line at most once per STATUS_EVERY_MS.
  let pending: NodeJS.Timeout | null = null;
  supervisor.on('change', () => {
    pending ??= setTimeout(() => {
      pending = null;
      refresh();
    }, STATUS_EVERY_MS);
  });
  supervisor.on('ready', () => {
    readySent = true;
    notifier.send('READY=1', `STATUS=${statusLine(supervisor.snapshot())}`);
  });
  supervisor.on('reloading', () => {
    // Before the first READY systemd is still starting us: a reload is not a state change for it.
    if (readySent) notifier.send('RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`);
  });
  supervisor.on('reloaded', (ok, error) => {
    const line = statusLine(supervisor.snapshot());
    lastLine = line;
    const status = ok ? line : `${line}, reload rejected: ${error?.split('\n')[0]}`;
    if (pidfile) writeStatusFile(pidfile, status);
    // READY=1 ends the reload for systemd; before the first READY it would claim start-up is done.
    notifier.send(...(readySent ? ['READY=1'] : []), `STATUS=${status}`);
  });
  supervisor.on('stopping', () => notifier.send('STOPPING=1', 'STATUS=stopping: finishing running jobs'));

  const shutdownMs = () => supervisor.config.supervisor.shutdownTimeout * 1000;
  const graceful = (again: boolean) => supervisor.stop(again ? Date.now() : Date.now() + shutdownMs());
  onSignals(log, {
    SIGTERM: graceful,
    SIGINT: graceful,
    SIGQUIT: () => supervisor.stop(null),
    SIGUSR2: () => supervisor.pause(),
    // systemd sends CONT right after TERM, and Node may run this handler first: give the TERM a
    // moment to arrive, and resume() does nothing once a stop began.
    SIGCONT: () => setTimeout(() => supervisor.resume(), CONT_GRACE_MS),
    SIGUSR1: () => supervisor.killRunningJobs(),
    SIGHUP: () => supervisor.reload(),
    SIGTTIN: () => supervisor.scale(+1),
    SIGTTOU: () => supervisor.scale(-1),
  });

  const unusableRedis = watchForUnusableRedis(supervisor, log);

  const stopWatchdog = notifier.startWatchdog();
  const stopped = new Promise<void>((resolve) => supervisor.once('stopped', resolve));
  supervisor.addPeriodicTask(pruneTask(config.supervisor.pruneInterval * 1000));
  if (config.scheduler.interval !== null)
    supervisor.addPeriodicTask(scheduleTask(config.scheduler.interval * 1000));
  supervisor.start();
  refresh(true);
  // Dead workers of a previous run (this supervisor SIGKILLed, a host that died) are recovered at once.
  pruneAtStart(supervisor.redis, resqueKeys(config.redis.namespace), config, log);
  await stopped;
  if (pending) clearTimeout(pending);
  stopWatchdog();
  if (pidfile) {
    removeStatusFile(pidfile);
    removePidfile(pidfile);
  }
  const unusable = unusableRedis();
  if (unusable) throw unusable;
  // Job code in no child can hold us now; exit even if a stray handle is left.
  process.exit(0);
}
