/**
 * Entry point of one worker child process (`resque-worker __child`, forked by the supervisor
 * through node:cluster). Wraps one Worker; the Worker itself knows nothing of the pool.
 *
 * Duties:
 *  1. run one Worker from the spec in its environment (config + group), process title on
 *  2. beat over IPC every second from the event loop (a blocked loop goes silent: the supervisor
 *     kills and replaces it) carrying busy/paused/processed; say when registered
 *  3. obey the supervisor: pause, resume, stop{deadline}, kill-jobs
 *  4. cope with signals sent to every process of the unit (systemd KillMode=control-group,
 *     `systemctl kill`, Ctrl-C to the process group): TERM/INT stop gracefully with the configured
 *     shutdown timeout, and the supervisor's own stop only brings the deadline forward; CONT right
 *     after TERM is not a resume; USR1 from both signal and IPC kills the running jobs once
 *  5. stop by itself when the supervisor vanishes (IPC disconnect)
 */

import cluster from 'node:cluster';
import { logFatalErrors, onSignals } from '../cli/signals.ts';
import { JobRegistry } from '../jobs/job-registry.ts';
import { createLogger } from '../log.ts';
import { REFUSED_SETTING, startFailure } from '../redis/connection.ts';
import { RUNNING_FROM, tsxRegistered } from '../util/runtime.ts';
import { Worker } from '../worker/worker.ts';
import { workerOptionsFrom } from '../worker/worker-options.ts';
import { collectStartupGarbage } from '../worker/worker-process.ts';
import {
  BEAT_INTERVAL_MS,
  CHILD_SPEC_ENV,
  type ChildMessage,
  type ChildSpec,
  isSupervisorMessage,
} from './ipc.ts';

/** systemd sends CONT right after TERM, and Node may run the CONT handler first. */
export const CONT_GRACE_MS = 250;
/** USR1 sent to the whole unit arrives twice (signal + the supervisor's IPC): act once. */
const KILL_DEDUPE_MS = 1000;
/** How long an exiting child waits for its last beat to be written to the supervisor. */
const FINAL_BEAT_WAIT_MS = 1000;

export async function runWorkerChild(): Promise<never> {
  const raw = process.env[CHILD_SPEC_ENV];
  if (!raw || !process.send) {
    console.error('resque-worker __child: only the supervisor starts worker children');
    process.exit(2);
  }
  // Gone before any job runs: it holds the whole config, the Redis password in redis.url too, and
  // every program a job starts would inherit it.
  delete process.env[CHILD_SPEC_ENV];
  const spec = JSON.parse(raw) as ChildSpec;
  const { config, group } = spec;
  const log = createLogger(config.log.level, { role: 'worker', group: group.name });
  const shutdownMs = config.supervisor.shutdownTimeout * 1000;

  let worker: Worker | null = null;
  /** A Worker is stopped only once its registration is done (a stop during start waits for it). */
  let paused = spec.paused;
  let processed = 0;
  /** undefined: not stopping; null: stop without deadline (QUIT); number: deadline. */
  let stopAt: number | null | undefined;
  let lastKill = 0;

  const send = (m: ChildMessage) => {
    if (process.connected) process.send?.(m, undefined, undefined, () => {});
  };
  const beat = () =>
    send({ type: 'beat', busy: worker?.busy ?? 0, paused: worker?.paused ?? paused, processed });
  const beatTimer = setInterval(beat, BEAT_INTERVAL_MS);
  beat();

  const stop = (deadline: number | null, why: string) => {
    const first = stopAt === undefined;
    if (stopAt === undefined || stopAt === null) stopAt = first ? deadline : (deadline ?? null);
    else if (deadline !== null) stopAt = Math.min(stopAt, deadline);
    if (first) {
      log.info(
        { event: 'worker.stop-requested', why, deadline: deadline && new Date(deadline).toISOString() },
        `stopping (${why})`,
      );
      send({ type: 'stopping' });
    }
    // A worker still starting stops too: at once if Redis is not there (it holds nothing yet).
    if (worker) void worker.stop(stopAt ?? undefined);
    else if (first) exit(0); // nothing registered yet: nothing to finish
  };
  const pause = () => {
    paused = true;
    worker?.pause();
    beat();
  };
  const resume = () => {
    if (stopAt !== undefined) return;
    paused = false;
    worker?.resume();
    beat();
  };
  const killJobs = () => {
    if (Date.now() - lastKill < KILL_DEDUPE_MS) return;
    lastKill = Date.now();
    worker?.killRunningJobs();
  };
  let exiting: number | null = null;
  const exit = (code: number): Promise<never> => {
    // The first reason wins: a disconnect while the last beat is written must not turn a 78 into 0.
    if (exiting !== null) return new Promise<never>(() => {});
    exiting = code;
    clearInterval(beatTimer);
    // A last beat, so the jobs done since the one before count in the pool's total; exit once
    // it is written, or at once if the supervisor is gone.
    if (!process.connected) process.exit(code);
    setTimeout(() => process.exit(code), FINAL_BEAT_WAIT_MS);
    process.send?.(
      { type: 'beat', busy: 0, paused: worker?.paused ?? paused, processed } satisfies ChildMessage,
      undefined,
      undefined,
      () => process.exit(code),
    );
    return new Promise<never>(() => {});
  };

  process.on('message', (m: unknown) => {
    if (!isSupervisorMessage(m)) return;
    switch (m.type) {
      case 'pause':
        return pause();
      case 'resume':
        return resume();
      case 'stop':
        return stop(m.deadline, 'supervisor');
      case 'kill-jobs':
        return killJobs();
    }
  });
  // node:cluster makes a worker exit at once when its IPC channel closes unexpectedly, unless this
  // flag is set: we want a graceful stop instead, so running jobs finish or go back to their queue.
  if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
  process.on('disconnect', () => {
    log.warn({ event: 'worker.orphaned' }, 'supervisor gone: stopping');
    stop(Date.now() + shutdownMs, 'supervisor gone');
  });
  const graceful = (signal: string) => (again: boolean) =>
    stop(again ? Date.now() : Date.now() + shutdownMs, signal);
  onSignals(log, {
    SIGTERM: graceful('SIGTERM'),
    SIGINT: graceful('SIGINT'),
    SIGQUIT: () => stop(null, 'SIGQUIT'),
    SIGUSR2: pause,
    SIGCONT: () => setTimeout(resume, CONT_GRACE_MS),
    SIGUSR1: killJobs,
    // The supervisor handles these; without a handler HUP would kill us and TTIN/TTOU stop us.
    SIGHUP: () => {},
    SIGTTIN: () => {},
    SIGTTOU: () => {},
  });

  let registry: JobRegistry;
  try {
    registry = await new JobRegistry().load(config.jobs);
  } catch (err) {
    log.error({ event: 'worker.jobs-error', err: (err as Error).message }, 'could not load job modules');
    return exit(78);
  }
  // Which code runs (dist/ or src/), with which node flags, and whether tsx had to be loaded.
  log.info(
    {
      event: 'worker.jobs',
      jobs: registry.names,
      from: RUNNING_FROM,
      tsx: tsxRegistered(),
      nodeFlags: process.execArgv,
    },
    `${registry.names.length} job classes loaded`,
  );
  if (stopAt !== undefined) return exit(0);
  collectStartupGarbage();

  const w = new Worker(
    workerOptionsFrom(config, {
      queues: group.queues,
      concurrency: group.concurrency,
      registry,
      logger: log,
    }),
  );
  worker = w;
  logFatalErrors(log.child({ workerId: w.id }), () => w.runningJobs());
  if (paused) w.pause();
  // Counted here, reported with the next beat: one IPC message per job would cost throughput.
  w.on('job', () => {
    processed++;
  });
  w.on('paused', beat);
  w.once('stopped', () => exit(0));
  try {
    await w.start();
  } catch (err) {
    const message = startFailure(w.redis, err);
    log.error({ event: 'worker.start-error', err: message }, 'worker failed to start');
    // 78 (EX_CONFIG), as for a job module that does not load: a setting to fix, not a crash.
    return exit(REFUSED_SETTING.test(message) ? 78 : 1);
  }
  if (w.state !== 'running') return new Promise<never>(() => {}); // stopped while starting: 'stopped' exits
  send({ type: 'registered', workerId: w.id });
  beat();
  // A stop that arrived while registering.
  if (stopAt !== undefined) void w.stop(stopAt ?? undefined);
  return new Promise<never>(() => {});
}
