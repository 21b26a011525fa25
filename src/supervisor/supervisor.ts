/**
 * The worker pool (resque-pool's master): one child process per configured worker.
 *
 * Duties:
 *  1. keep the children the config wants: feed facts to `reconcile` (start, child exited, reload,
 *     scale) and carry out its plan
 *  2. respawn a child that died, with exponential back-off per group; report crash loops
 *  3. recover the jobs of a child that died (requeue, or fail per supervisor.deadWorkerJobs), and
 *     kill a child whose event loop went silent and replace it (child-recovery.ts: what becomes of its jobs)
 *  4. pause() / resume() / killRunningJobs() / reload() / scale() for the signal table
 *  5. stop(deadline): one deadline, passed down to every child; at deadline + grace what is still
 *     alive is killed and its jobs put back
 *  6. run periodic maintenance tasks from its loop (addPeriodicTask)
 *
 * It never touches the process (signals, exit, systemd): src/cli/start.ts does that and listens to
 * the events here. Its helpers, one role each: child-health.ts (hangs, exits, back-off),
 * child-recovery.ts (the jobs of the dead), stop-deadline.ts (the deadline and the kill after it),
 * config-reload.ts (reading a new config), reconcile.ts (how many children to run).
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../config/load-config.ts';
import { host } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import { closeRedis, createRedis } from '../redis/connection.ts';
import { type ResqueKeys, resqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { ChildHealth } from './child-health.ts';
import { Recoveries } from './child-recovery.ts';
import { logReload, readNewConfig } from './config-reload.ts';
import { childEnv, isChildMessage, type SupervisorMessage } from './ipc.ts';
import type { Launcher } from './launcher.ts';
import { type PeriodicTask, PeriodicTasks } from './periodic-tasks.ts';
import { PoolChild } from './pool-child.ts';
import { countsOf, holdsOneJobAtATime, type PoolGroup, wantedGroups } from './pool-config.ts';
import { type PoolSnapshot, poolComplete, snapshotOf } from './pool-status.ts';
import { reconcile } from './reconcile.ts';
import { killStragglers, StopDeadline } from './stop-deadline.ts';

export { STABLE_MS } from './child-health.ts';
export { KILL_GRACE_MS } from './stop-deadline.ts';

const TICK_MS = 500;
/** Recoveries wait for Redis; a stop waits this long for them, not for an outage to end. */
const RECOVERY_WAIT_MS = 5000;

export interface SupervisorEvents {
  /** Every wanted child registered (once, after start). */
  ready: [];
  reloading: [];
  /** ok false: the new file was rejected and the old config keeps running. */
  reloaded: [ok: boolean, error?: string];
  stopping: [];
  stopped: [];
  /** Something shown in the status line changed. */
  change: [];
}

export interface SupervisorOptions {
  config: Readonly<Config>;
  log: Logger;
  launcher: Launcher;
  /** Re-reads the configuration for HUP; throws (ConfigError) on a bad file. */
  loadConfig: () => Readonly<Config>;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly redis: ScriptedRedis;
  readonly #log: Logger;
  readonly #launcher: Launcher;
  readonly #loadConfig: () => Readonly<Config>;
  #config: Readonly<Config>;
  #keys: ResqueKeys;
  #state: State = 'new';
  #paused = false;
  #ready = false;
  #nextId = 1;
  readonly #children = new Map<number, PoolChild>();
  /** Worker count per group name, from the config, moved by TTIN/TTOU. */
  #counts = new Map<string, number>();
  readonly #health: ChildHealth;
  #processedByExited = 0;
  readonly #recoveries = new Recoveries();
  readonly #tasks = new PeriodicTasks();
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Immediate | null = null;
  readonly #stop = new StopDeadline();

  constructor(options: SupervisorOptions) {
    super();
    this.#log = options.log;
    this.#launcher = options.launcher;
    this.#loadConfig = options.loadConfig;
    this.#config = options.config;
    this.#keys = resqueKeys(options.config.redis.namespace);
    this.#counts = countsOf(options.config);
    this.#health = new ChildHealth(options.config, options.log);
    this.redis = createRedis({
      url: options.config.redis.url,
      name: `resque-worker:supervisor:${host()}:${process.pid}`,
      logger: this.#log,
    });
    for (const ev of ['ready', 'close', 'end'] as const) this.redis.on(ev, () => this.emit('change'));
  }

  get config(): Readonly<Config> {
    return this.#config;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get state(): State {
    return this.#state;
  }

  /** Forks the configured children; `ready` follows once all registered. */
  start(): void {
    if (this.#state !== 'new') throw new Error('supervisor already started');
    this.#state = 'running';
    this.#log.info(
      {
        event: 'supervisor.start',
        groups: wantedGroups(this.#config, this.#counts).map((g) => ({ ...g.spec, key: undefined })),
      },
      'supervisor starting',
    );
    this.#warnIfNoJobs();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#reconcile();
    this.#checkReady();
  }

  /** A maintenance task run every `intervalMs` from the supervisor loop, never two at once. */
  addPeriodicTask(task: PeriodicTask): void {
    this.#tasks.add(task);
  }

  pause(): void {
    if (this.#state !== 'running' || this.#paused) return;
    this.#paused = true;
    this.#log.info({ event: 'supervisor.pause' }, 'pausing all workers: running jobs finish');
    this.#broadcast({ type: 'pause' });
    this.emit('change');
  }

  resume(): void {
    if (this.#state !== 'running' || !this.#paused) return;
    this.#paused = false;
    this.#log.info({ event: 'supervisor.resume' }, 'resuming all workers');
    this.#broadcast({ type: 'resume' });
    this.emit('change');
  }

  /** Resque's USR1: the running jobs fail now; the workers go on. */
  killRunningJobs(): void {
    if (this.#state !== 'running') return;
    this.#log.info({ event: 'supervisor.kill-jobs' }, 'killing running jobs');
    this.#broadcast({ type: 'kill-jobs' });
  }

  /** HUP: re-read the config. A bad one is logged and the old one keeps running. */
  reload(): boolean {
    if (this.#state !== 'running') return false;
    this.emit('reloading');
    const read = readNewConfig(this.#loadConfig, this.#config, this.#log);
    if (!read.ok) {
      this.emit('reloaded', false, read.message);
      return false;
    }
    const next = read.config;
    const before = wantedGroups(this.#config, this.#counts);
    this.#config = next;
    this.#counts = countsOf(next);
    this.#health.setConfig(next);
    logReload(this.#log, before, wantedGroups(next, this.#counts));
    this.#warnIfNoJobs();
    this.#reconcile();
    this.#checkReady(); // a smaller pool may be complete now
    this.emit('reloaded', true);
    this.emit('change');
    return true;
  }

  #warnIfNoJobs(): void {
    if (this.#config.jobs.length > 0) return;
    this.#log.warn(
      { event: 'supervisor.no-jobs' },
      'no job modules configured ("jobs" is empty): no workers run until they are listed and the config reloaded',
    );
  }

  /** TTIN (+1) / TTOU (-1): one worker more or less in supervisor.scaleGroup (default the first group). */
  scale(delta: number): void {
    if (this.#state !== 'running') return;
    const groups = wantedGroups(this.#config, this.#counts);
    const name = this.#config.supervisor.scaleGroup || groups[0]?.name;
    if (name === undefined) return;
    const count = Math.max(0, (this.#counts.get(name) ?? 0) + delta);
    this.#counts.set(name, count);
    this.#log.info({ event: 'supervisor.scale', group: name, count }, `group ${name}: ${count} workers`);
    this.#reconcile();
    this.#checkReady();
  }

  /**
   * Graceful stop: every child finishes its running jobs until `deadline` (ms since epoch; null =
   * no limit, Resque's QUIT), then puts back what still runs. Calling again only brings the
   * deadline forward (a second INT: `stop(Date.now())`).
   */
  stop(deadline: number | null): Promise<void> {
    if (this.#state === 'stopped') return this.#stop.stopped ?? Promise.resolve();
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return this.#stop.finishNow(this.#finish());
    }
    const first = this.#state === 'running';
    this.#stop.tighten(deadline);
    if (first) {
      this.#state = 'stopping';
      this.#stop.begin();
      this.emit('stopping');
      this.emit('change');
    }
    this.#log.info(
      {
        event: 'supervisor.stopping',
        deadline: this.#stop.deadline && new Date(this.#stop.deadline).toISOString(),
        children: this.#children.size,
      },
      'stopping: workers finish their running jobs',
    );
    this.#broadcast({ type: 'stop', deadline: this.#stop.deadline });
    this.#stop.arm(() => killStragglers(this.#children.values(), this.#log));
    this.#maybeStopped();
    return this.#stop.stopped!;
  }

  snapshot(): PoolSnapshot {
    const facts = {
      state: this.#state,
      paused: this.#paused,
      wanted: wantedGroups(this.#config, this.#counts),
      noJobs: this.#config.jobs.length === 0,
      processedByExited: this.#processedByExited,
      redis: this.redis.status === 'ready' ? ('up' as const) : ('down' as const),
      crashLoops: this.#health.crashLoops(Date.now()),
    };
    return snapshotOf(facts, [...this.#children.values()]);
  }

  // ---- the loop ----

  #tick(): void {
    const now = Date.now();
    this.#health.checkAlive(this.#children.values(), performance.now());
    if (this.#state !== 'running') return;
    this.#health.settleStable(this.#children.values(), now, () => this.emit('change'));
    this.#reconcile();
    this.#runTasks(now);
  }

  /** Coalesces the facts of one turn (several exits, a reload) into one reconcile. */
  #reconcileSoon(): void {
    this.#soon ??= setImmediate(() => {
      this.#soon = null;
      this.#reconcile();
    });
  }

  #reconcile(): void {
    if (this.#state !== 'running') return;
    const wanted = wantedGroups(this.#config, this.#counts);
    const plan = reconcile(
      wanted,
      [...this.#children.values()].map((c) => c.facts()),
    );
    for (const id of plan.retire) {
      const child = this.#children.get(id);
      if (child) this.#retire(child);
    }
    const now = Date.now();
    for (const { group, count } of plan.spawn) {
      const g = wanted.find((w) => w.name === group)!;
      if (!this.#health.maySpawn(group, now)) continue; // the tick comes back to it
      for (let i = 0; i < count; i++) this.#spawn(g);
    }
  }

  #spawn(group: PoolGroup): void {
    const handle = this.#launcher.launch(
      childEnv({ config: this.#config, group: group.spec, paused: this.#paused }),
    );
    const child = new PoolChild(
      this.#nextId++,
      group.name,
      group.spec.queues,
      group.key,
      handle,
      holdsOneJobAtATime(this.#config, group.spec),
    );
    this.#children.set(child.id, child);
    handle.onMessage((m) => this.#onMessage(child, m));
    handle.onExit((code, signal) => this.#onExit(child, code, signal));
    const respawn = this.#health.spawned(group.name);
    this.#log.info(
      { event: respawn ? 'child.respawned' : 'child.spawned', ...child.describe(), paused: this.#paused },
      respawn ? 'worker process respawned' : 'worker process spawned',
    );
    this.emit('change');
  }

  #retire(child: PoolChild): void {
    child.state = 'retiring';
    this.#log.info({ event: 'child.retiring', ...child.describe() }, 'retiring worker process');
    child.handle.send({ type: 'stop', deadline: null });
    this.emit('change');
  }

  #onMessage(child: PoolChild, m: unknown): void {
    if (!isChildMessage(m)) return;
    const first = child.lastContact === null;
    child.lastContact = performance.now();
    if (first) this.#catchUp(child);
    switch (m.type) {
      case 'beat':
        if (child.beat(m)) this.emit('change');
        return;
      case 'registered':
        child.registered(m.workerId);
        this.#log.info({ event: 'child.registered', ...child.describe() }, 'worker registered');
        this.#checkReady();
        this.#reconcileSoon(); // a rolling restart may retire an outdated child now
        this.emit('change');
        return;
      case 'stopping':
        child.stopping = true;
        return;
    }
  }

  /**
   * A child's first message says it listens: what was sent before (Node drops IPC messages that
   * arrive before a listener) is sent again. A stop sent to a child still starting (a TTOU right
   * after a TTIN, a QUIT right after a spawn) was lost that way, and the child worked on.
   */
  #catchUp(child: PoolChild): void {
    child.handle.send({ type: this.#paused ? 'pause' : 'resume' });
    if (this.#state === 'stopping') child.handle.send({ type: 'stop', deadline: this.#stop.deadline });
    else if (child.state === 'retiring') child.handle.send({ type: 'stop', deadline: null });
  }

  #onExit(child: PoolChild, code: number | null, signal: string | null): void {
    this.#children.delete(child.id);
    this.#processedByExited += child.processed;
    const now = Date.now();
    const asked = child.state === 'retiring' || this.#state !== 'running';
    const clean = this.#health.exited(child, code, signal, asked, now);
    // A child's jobs may still be in flight: put them back (or fail them), at once.
    if (!clean)
      this.#recoveries.start(child, {
        redis: this.redis,
        keys: this.#keys,
        config: this.#config,
        log: this.#log,
      });
    if (this.#state === 'running' && child.state !== 'retiring')
      this.#health.replacementDue(child, !clean || child.readyAt === null, asked, now);
    this.emit('change');
    this.#reconcileSoon();
    this.#maybeStopped();
  }

  #checkReady(): void {
    if (this.#ready || this.#state !== 'running') return;
    if (!poolComplete(wantedGroups(this.#config, this.#counts), [...this.#children.values()])) return;
    this.#ready = true;
    this.#log.info(
      { event: 'supervisor.ready', workers: this.#children.size },
      'all worker processes registered',
    );
    this.emit('ready');
  }

  #maybeStopped(): void {
    if (this.#state !== 'stopping' || this.#children.size > 0) return;
    this.#state = 'stopped';
    void this.#finish().then(() => this.#stop.resolve());
  }

  async #finish(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#stop.clear();
    if (this.#soon) clearImmediate(this.#soon);
    // Do not hang the stop on a Redis outage: the pruner catches up later.
    await this.#recoveries.settle(RECOVERY_WAIT_MS);
    await closeRedis(this.redis);
    this.#log.info(
      { event: 'supervisor.stopped', processed: this.snapshot().processed },
      'supervisor stopped',
    );
    this.emit('stopped');
  }

  #broadcast(m: SupervisorMessage): void {
    for (const c of this.#children.values()) c.handle.send(m);
  }

  #runTasks(now: number): void {
    this.#tasks.runDue(now, () => ({
      redis: this.redis,
      keys: this.#keys,
      config: this.#config,
      log: this.#log,
    }));
  }
}
