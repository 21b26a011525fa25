/**
 * `resque-worker work`: one worker in the foreground until QUIT/TERM/INT.
 * TERM/INT: finish running jobs within supervisor.shutdownTimeout, then put back what still runs;
 * QUIT: finish them, however long; a second TERM/INT stops at once (jobs put back), and if Redis
 * does not take what the worker must record within FORCED_EXIT_MS, exits without it.
 * USR2/CONT pause/resume; USR1 fails the running jobs and keeps working. A recycle (maxJobs,
 * maxMemoryMb, failed jobs whose code runs on in every slot) stops the worker and exits 75
 * (EX_TEMPFAIL), so that what runs it starts it again (systemd's Restart=on-failure too).
 */

import { ConfigError, loadConfig } from '../config/load-config.ts';
import { JobRegistry } from '../jobs/job-registry.ts';
import { createLogger } from '../log.ts';
import { pruneAtStart, pruneTask } from '../recovery/prune-dead-workers.ts';
import { REFUSED_SETTING, redisAddress, startFailure } from '../redis/connection.ts';
import { scheduleTask } from '../scheduler/move-due-jobs.ts';
import { PeriodicTasks } from '../supervisor/periodic-tasks.ts';
import { CONT_GRACE_MS } from '../supervisor/worker-child.ts';
import { RUNNING_FROM, tsxRegistered } from '../util/runtime.ts';
import { Worker } from '../worker/worker.ts';
import { workerOptionsFrom } from '../worker/worker-options.ts';
import { configFile, noMorePositionals, overridesFrom, parseCommon } from './args.ts';
import { logFatalErrors, onSignals } from './signals.ts';

/**
 * How long a second TERM/INT waits for the worker to record its stop. Only an unreachable Redis
 * takes longer (the worker retries until Redis answers); exiting then loses nothing: what the
 * worker holds stays in its in-flight list, and the next worker that prunes dead ones (any
 * `work` or `start` at start-up, the supervisor every supervisor.pruneInterval) puts it back.
 */
const FORCED_EXIT_MS = 3000;

/** EX_TEMPFAIL: the worker recycled itself; start it again. */
const EXIT_RECYCLED = 75;

export const WORK_USAGE = `usage: resque-worker work [--queues high,default] [--jobs ./jobs] [--redis URL] [--namespace NS]
                          [--concurrency N] [--prefetch N] [--interval S] [--config FILE] [--log-level LEVEL]
  env: QUEUE/QUEUES, REDIS_URL, RESQUE_JOBS, INTERVAL, CONCURRENCY, PREFETCH, RESQUE_WORKER_CONFIG`;

export async function work(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommon(argv);
  if (values.help) {
    console.log(WORK_USAGE);
    return 0;
  }
  noMorePositionals('work', positionals);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  const log = createLogger(config.log.level, { role: 'worker' });
  const registry = await new JobRegistry().load(config.jobs);
  if (config.jobs.length === 0)
    log.warn(
      { event: 'worker.no-jobs' },
      'no job modules configured (--jobs): every job will fail as unknown',
    );
  const worker = new Worker(workerOptionsFrom(config, { queues: config.queues, registry, logger: log }));
  logFatalErrors(log.child({ workerId: worker.id }), () => worker.runningJobs());
  let recycled = false;
  worker.once('recycle', () => {
    recycled = true;
  });
  log.info(
    { event: 'worker.jobs', jobs: registry.names, from: RUNNING_FROM, tsx: tsxRegistered() },
    `${registry.names.length} job classes loaded`,
  );
  const shutdownMs = config.supervisor.shutdownTimeout * 1000;
  let stopping: Promise<void> | null = null;
  const stop = (deadline?: number) => {
    stopping = worker.stop(deadline);
    return stopping;
  };
  const stopNow = () => {
    setTimeout(() => {
      log.error(
        { event: 'worker.stop-abandoned', workerId: worker.id, running: worker.busy },
        `Redis did not take this worker's stop within ${FORCED_EXIT_MS} ms: exiting without it; what the worker held stays in its in-flight list until a worker that starts puts it back`,
      );
      process.exit(1);
    }, FORCED_EXIT_MS).unref();
    return stop(Date.now());
  };
  const graceful = (again: boolean) => (again ? stopNow() : stop(Date.now() + shutdownMs));
  onSignals(log, {
    SIGTERM: graceful,
    SIGINT: graceful,
    SIGQUIT: () => stop(),
    SIGUSR2: () => worker.pause(),
    // systemd sends CONT right after TERM (and the two may be handled in either order): a CONT
    // is a resume only if no stop came within the grace.
    SIGCONT: () =>
      setTimeout(() => {
        if (!stopping) worker.resume();
      }, CONT_GRACE_MS),
    SIGUSR1: () => worker.killRunningJobs(),
    // The terminal that ran it closed: stop as TERM does, rather than die with lines unwritten.
    SIGHUP: graceful,
  });
  try {
    await worker.start();
  } catch (err) {
    // Refused (a wrong password or database number, an old Redis): retrying will not help. A
    // refused setting is configuration, so it exits 78 with one line, as a bad config value does.
    const message = startFailure(worker.redis, err);
    log.error({ event: 'worker.start-error', err: message }, 'worker could not start');
    worker.crash();
    if (REFUSED_SETTING.test(message))
      throw new ConfigError(`redis.url: Redis at ${redisAddress(worker.redis)} refused it: ${message}`);
    throw err;
  }
  // Stopped while starting (a TERM while Redis was not there yet): done, or about to be.
  if (worker.state !== 'running') {
    if (worker.state !== 'stopped') await new Promise<void>((resolve) => worker.once('stopped', resolve));
    return 0;
  }
  // Dead workers are pruned at start-up and every pruneInterval, as a pool's supervisor does (a
  // verdict deferred right after an outage is made later; prune-dead-workers.ts), and due scheduled
  // jobs moved every scheduler.interval.
  pruneAtStart(worker.redis, worker.keys, config, log);
  const tasks = new PeriodicTasks();
  tasks.add(pruneTask(config.supervisor.pruneInterval * 1000));
  if (config.scheduler.interval !== null) tasks.add(scheduleTask(config.scheduler.interval * 1000));
  const stopTasks = tasks.runOnTimers(
    () => ({ redis: worker.redis, keys: worker.keys, config, log }),
    () => worker.state === 'running',
  );
  await new Promise<void>((resolve) => worker.once('stopped', resolve));
  stopTasks();
  return recycled ? EXIT_RECYCLED : 0;
}
