/**
 * The worker pool (resque-pool's master): one child process per configured worker.
 *
 * Duties:
 *  1. keep the children the config wants: feed facts to `reconcile` (start, child exited, reload,
 *     scale) and carry out its plan
 *  2. respawn a child that died, with exponential back-off per group; report crash loops
 *  3. recover the jobs of a child that died (requeue, or fail per supervisor.deadWorkerJobs), and
 *     kill a child whose event loop went silent (its job is failed as JobTimeout) and replace it
 *  4. pause() / resume() / killRunningJobs() / reload() / scale() for the signal table
 *  5. stop(deadline): one deadline, passed down to every child; at deadline + grace what is still
 *     alive is killed and its jobs put back
 *  6. run periodic maintenance tasks from its loop (addPeriodicTask)
 *
 * It never touches the process (signals, exit, systemd): src/cli/start.ts does that and listens to
 * the events here.
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../config/load-config.ts';
import { host } from '../jobs/payload.ts';
import type { Logger } from '../log.ts';
import { createRedis } from '../redis/connection.ts';
import { type ResqueKeys, resqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { Backoff } from './backoff.ts';
import { recoverDeadChild } from './child-recovery.ts';
import { CHILD_SPEC_ENV, type ChildSpec, isChildMessage } from './ipc.ts';
import type { Launcher } from './launcher.ts';
import { type PeriodicTask, PeriodicTasks } from './periodic-tasks.ts';
import { PoolChild } from './pool-child.ts';
import { checkPoolConfig, countsOf, type PoolGroup, wantedGroups } from './pool-config.ts';
import type { PoolSnapshot } from './pool-status.ts';
import { reconcile } from './reconcile.ts';

/** After the stop deadline, children get this long to put their jobs back before SIGKILL. */
export const KILL_GRACE_MS = 3000;
/** A child up this long before it crashed starts a new back-off series. */
export const STABLE_MS = 30_000;
/** A child that never said a word this long after its fork is treated as hung. */
const STARTUP_SILENCE_MS = 60_000;
const TICK_MS = 500;

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
  readonly #backoff = new Map<string, Backoff>();
  /** Children that died and wait for a replacement, per group (for the `child.respawned` log). */
  readonly #toRespawn = new Map<string, number>();
  #processedByExited = 0;
  readonly #recoveries = new Set<Promise<unknown>>();
  readonly #tasks = new PeriodicTasks();
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Immediate | null = null;
  #deadline: number | null = null;
  #killTimer: NodeJS.Timeout | null = null;
  #stopped: Promise<void> | null = null;
  #resolveStopped: () => void = () => {};

  constructor(options: SupervisorOptions) {
    super();
    this.#log = options.log;
    this.#launcher = options.launcher;
    this.#loadConfig = options.loadConfig;
    this.#config = options.config;
    this.#keys = resqueKeys(options.config.redis.namespace);
    this.#counts = countsOf(options.config);
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
    for (const c of this.#children.values()) c.handle.send({ type: 'pause' });
    this.emit('change');
  }

  resume(): void {
    if (this.#state !== 'running' || !this.#paused) return;
    this.#paused = false;
    this.#log.info({ event: 'supervisor.resume' }, 'resuming all workers');
    for (const c of this.#children.values()) c.handle.send({ type: 'resume' });
    this.emit('change');
  }

  /** Resque's USR1: the running jobs fail now; the workers go on. */
  killRunningJobs(): void {
    if (this.#state !== 'running') return;
    this.#log.info({ event: 'supervisor.kill-jobs' }, 'killing running jobs');
    for (const c of this.#children.values()) c.handle.send({ type: 'kill-jobs' });
  }

  /** HUP: re-read the config. A bad one is logged and the old one keeps running. */
  reload(): boolean {
    if (this.#state !== 'running') return false;
    this.emit('reloading');
    let next: Readonly<Config>;
    try {
      next = this.#loadConfig();
      checkPoolConfig(next);
    } catch (err) {
      const message = (err as Error).message;
      this.#log.error(
        { event: 'supervisor.reload-failed', err: message },
        'reload rejected, keeping the old config',
      );
      this.emit('reloaded', false, message);
      return false;
    }
    const before = wantedGroups(this.#config, this.#counts);
    this.#config = next;
    this.#counts = countsOf(next);
    for (const b of this.#backoff.values()) b.setOptions(this.#backoffOptions());
    const after = wantedGroups(next, this.#counts);
    this.#log.info(
      {
        event: 'supervisor.reload',
        groups: after.map((g) => ({ name: g.name, count: g.count })),
        restarted: after
          .filter((g) => before.some((b) => b.name === g.name && b.key !== g.key))
          .map((g) => g.name),
      },
      'config reloaded',
    );
    this.#reconcile();
    this.#checkReady(); // a smaller pool may be complete now
    this.emit('reloaded', true);
    this.emit('change');
    return true;
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
    if (this.#state === 'stopped') return this.#stopped ?? Promise.resolve();
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#stopped = this.#finish();
      return this.#stopped;
    }
    const first = this.#state === 'running';
    if (deadline !== null)
      this.#deadline = this.#deadline === null ? deadline : Math.min(this.#deadline, deadline);
    if (first) {
      this.#state = 'stopping';
      this.#stopped = new Promise((resolve) => {
        this.#resolveStopped = resolve;
      });
      this.emit('stopping');
      this.emit('change');
    }
    this.#log.info(
      {
        event: 'supervisor.stopping',
        deadline: this.#deadline && new Date(this.#deadline).toISOString(),
        children: this.#children.size,
      },
      'stopping: workers finish their running jobs',
    );
    for (const c of this.#children.values()) c.handle.send({ type: 'stop', deadline: this.#deadline });
    if (this.#deadline !== null) {
      if (this.#killTimer) clearTimeout(this.#killTimer);
      const wait = Math.max(0, this.#deadline - Date.now()) + KILL_GRACE_MS;
      this.#killTimer = setTimeout(() => this.#killStragglers(), wait);
    }
    this.#maybeStopped();
    return this.#stopped!;
  }

  snapshot(): PoolSnapshot {
    const live = [...this.#children.values()].filter((c) => c.state !== 'retiring');
    const now = Date.now();
    const groups = wantedGroups(this.#config, this.#counts);
    return {
      state: this.#state,
      paused: this.#paused,
      wanted: groups.reduce((n, g) => n + g.count, 0),
      workers: live.length,
      ready: live.filter((c) => c.state === 'ready').length,
      retiring: this.#children.size - live.length,
      busy: [...this.#children.values()].reduce((n, c) => n + c.busy, 0),
      processed: this.#processedByExited + [...this.#children.values()].reduce((n, c) => n + c.processed, 0),
      redis: this.redis.status === 'ready' ? 'up' : 'down',
      crashLoops: [...this.#backoff.entries()]
        .filter(([, b]) => b.crashLoop)
        .map(([group, b]) => ({ group, crashes: b.crashes, retryInS: Math.ceil(b.wait(now) / 1000) })),
      children: [...this.#children.values()].map((c) => ({
        ...c.describe(),
        state: c.state,
        busy: c.busy,
        paused: c.paused,
        processed: c.processed,
      })),
    };
  }

  // ---- the loop ----

  #tick(): void {
    const now = Date.now();
    for (const c of this.#children.values()) this.#checkAlive(c, now);
    if (this.#state !== 'running') return;
    for (const [group, b] of this.#backoff) {
      if (b.crashes === 0) continue;
      const stable = [...this.#children.values()].some(
        (c) => c.group === group && c.readyAt !== null && now - c.readyAt >= b.stableMs,
      );
      if (stable) {
        if (b.crashLoop) this.#log.info({ event: 'supervisor.crash-loop-over', group }, 'crash loop over');
        b.stable();
        this.emit('change');
      }
    }
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
      if (this.#backoffOf(group).wait(now) > 0) continue; // the tick comes back to it
      for (let i = 0; i < count; i++) this.#spawn(g);
    }
  }

  #spawn(group: PoolGroup): void {
    const spec: ChildSpec = { config: this.#config, group: group.spec, paused: this.#paused };
    const handle = this.#launcher.launch({
      [CHILD_SPEC_ENV]: JSON.stringify(spec),
      // Only the supervisor talks to systemd (NotifyAccess=main); children must not try.
      NOTIFY_SOCKET: undefined,
      WATCHDOG_USEC: undefined,
      WATCHDOG_PID: undefined,
    });
    const child = new PoolChild(this.#nextId++, group.name, group.spec.queues, group.key, handle);
    this.#children.set(child.id, child);
    handle.onMessage((m) => this.#onMessage(child, m));
    handle.onExit((code, signal) => this.#onExit(child, code, signal));
    const pending = this.#toRespawn.get(group.name) ?? 0;
    if (pending > 0) this.#toRespawn.set(group.name, pending - 1);
    this.#log.info(
      { event: pending > 0 ? 'child.respawned' : 'child.spawned', ...child.describe(), paused: this.#paused },
      pending > 0 ? 'worker process respawned' : 'worker process spawned',
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
    child.lastContact = Date.now();
    switch (m.type) {
      case 'beat': {
        const changed = child.busy !== m.busy || child.paused !== m.paused || child.processed !== m.processed;
        child.busy = m.busy;
        child.paused = m.paused;
        child.processed = m.processed;
        if (changed) this.emit('change');
        return;
      }
      case 'registered':
        child.registeredId = m.workerId;
        child.readyAt = Date.now();
        if (child.state === 'starting') child.state = 'ready';
        this.#log.info({ event: 'child.registered', ...child.describe() }, 'worker registered');
        // A pause or stop sent while it was starting is in its spec or already obeyed; this covers
        // a pause toggled in between.
        child.handle.send({ type: this.#paused ? 'pause' : 'resume' });
        this.#checkReady();
        this.#reconcileSoon(); // a rolling restart may retire an outdated child now
        this.emit('change');
        return;
      case 'stopping':
        child.stopping = true;
        return;
    }
  }

  #onExit(child: PoolChild, code: number | null, signal: string | null): void {
    this.#children.delete(child.id);
    this.#processedByExited += child.processed;
    const now = Date.now();
    const clean = code === 0 && signal === null;
    const asked = child.state === 'retiring' || this.#state !== 'running';
    const crashed = !clean || child.readyAt === null;
    this.#log[clean ? 'info' : 'warn'](
      {
        event: 'child.exited',
        ...child.describe(),
        code,
        signal,
        expected: asked && clean,
        hung: child.hung,
        uptimeS: Math.round((now - child.spawnedAt) / 100) / 10,
      },
      clean ? 'worker process exited' : 'worker process died',
    );
    if (!clean) this.#recover(child);
    if (this.#state === 'running' && child.state !== 'retiring') {
      this.#toRespawn.set(child.group, (this.#toRespawn.get(child.group) ?? 0) + 1);
      if (crashed && !asked) {
        const b = this.#backoffOf(child.group);
        const delay = b.crashed(now, child.readyAt === null ? 0 : now - child.readyAt);
        const fields = { group: child.group, crashes: b.crashes, respawnInS: delay / 1000 };
        if (b.crashLoop)
          this.#log.error(
            { event: 'supervisor.crash-loop', ...fields },
            `group ${child.group} is crash-looping: respawn in ${delay / 1000} s`,
          );
        else this.#log.info({ event: 'child.respawn-scheduled', ...fields }, 'respawn scheduled');
      }
    }
    this.emit('change');
    this.#reconcileSoon();
    this.#maybeStopped();
  }

  /** A child died with jobs possibly in flight: put them back (or fail them), at once. */
  #recover(child: PoolChild): void {
    const p = recoverDeadChild(child, {
      redis: this.redis,
      keys: this.#keys,
      config: this.#config,
      log: this.#log,
    });
    this.#recoveries.add(p);
    void p.finally(() => this.#recoveries.delete(p));
  }

  #checkAlive(child: PoolChild, now: number): void {
    if (child.hung) return;
    const hangMs = this.#config.supervisor.hangTimeout * 1000;
    const silentFor = now - (child.lastContact ?? child.spawnedAt);
    const limit = child.lastContact === null ? Math.max(hangMs, STARTUP_SILENCE_MS) : hangMs;
    if (silentFor <= limit) return;
    child.hung = true;
    this.#log.error(
      { event: 'child.hung', ...child.describe(), silentS: Math.round(silentFor / 1000) },
      'worker process stopped answering (event loop blocked): killing it',
    );
    child.handle.kill('SIGKILL');
  }

  #checkReady(): void {
    if (this.#ready || this.#state !== 'running') return;
    const wanted = wantedGroups(this.#config, this.#counts);
    const ok = wanted.every(
      (g) =>
        [...this.#children.values()].filter((c) => c.group === g.name && c.state === 'ready').length >=
        g.count,
    );
    if (!ok) return;
    this.#ready = true;
    this.#log.info(
      { event: 'supervisor.ready', workers: this.#children.size },
      'all worker processes registered',
    );
    this.emit('ready');
  }

  #killStragglers(): void {
    for (const c of this.#children.values()) {
      this.#log.warn(
        { event: 'child.killed', ...c.describe() },
        'worker process still alive after the stop deadline: killing it',
      );
      c.killedForStop = true;
      c.handle.kill('SIGKILL');
    }
  }

  #maybeStopped(): void {
    if (this.#state !== 'stopping' || this.#children.size > 0) return;
    this.#state = 'stopped';
    void this.#finish().then(() => this.#resolveStopped());
  }

  async #finish(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#killTimer) clearTimeout(this.#killTimer);
    if (this.#soon) clearImmediate(this.#soon);
    // Recoveries wait for Redis; do not hang the stop on an outage (the pruner catches up later).
    await Promise.race([
      Promise.allSettled([...this.#recoveries]),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.#log.info(
      { event: 'supervisor.stopped', processed: this.snapshot().processed },
      'supervisor stopped',
    );
    this.emit('stopped');
  }

  #runTasks(now: number): void {
    this.#tasks.runDue(now, () => ({
      redis: this.redis,
      keys: this.#keys,
      config: this.#config,
      log: this.#log,
      workerIds: [...this.#children.values()].map((c) => c.workerId),
    }));
  }

  #backoffOf(group: string): Backoff {
    let b = this.#backoff.get(group);
    if (!b) {
      b = new Backoff(this.#backoffOptions());
      this.#backoff.set(group, b);
    }
    return b;
  }

  #backoffOptions() {
    const s = this.#config.supervisor;
    return { delayMs: s.respawnDelay * 1000, maxMs: s.respawnDelayMax * 1000, stableMs: STABLE_MS };
  }
}
