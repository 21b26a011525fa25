import { EventEmitter } from 'node:events';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { JobRegistry } from '../jobs/job-registry.ts';
import { host, type InvalidPayloadError, type Payload, parsePayload, payloadNames } from '../jobs/payload.ts';
import { JobAbort, REQUEUED } from '../jobs/perform-job.ts';
import { type Logger, silentLogger } from '../log.ts';
import { DEFAULT_POISON_LIMIT } from '../recovery/recover-worker.ts';
import { assertRedisVersion, closeRedis, createRedis } from '../redis/connection.ts';
import { type ResqueKeys, resqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';
import { Wakeup } from '../util/wakeup.ts';
import { AbandonedJobs } from './abandoned-jobs.ts';
import { HandOffs } from './hand-offs.ts';
import { type InFlightEntry, parseInFlightEntry } from './in-flight-entry.ts';
import { OutcomeBatch } from './outcome-batch.ts';
import { PutBack } from './put-back.ts';
import { RedisErrorStreak } from './redis-error-streak.ts';
import { ReserveRoundTrip } from './reserve-round-trip.ts';
import { type JobReport, logJobReport, type RunContext, runEntry } from './run-entry.ts';
import { recycleReason, WorkerTitle } from './worker-process.ts';
import { WorkerRegistration } from './worker-registration.ts';

export { VERSION } from './worker-process.ts';

export interface WorkerOptions {
  redisUrl: string;
  namespace?: string;
  /** Seconds to wait for a connection to Redis before retrying. */
  connectTimeout?: number;
  /** Priority order; `*` (or `name*`) matches known queues alphabetically. */
  queues: readonly string[];
  registry: JobRegistry;
  concurrency?: number;
  /** Jobs reserved beyond `concurrency`, so the next round trip overlaps running jobs (0). */
  prefetch?: number;
  /** Seconds between polls of empty queues. */
  interval?: number;
  heartbeatInterval?: number;
  statusTtl?: number;
  jobTimeout?: number | null;
  maxJobs?: number | null;
  maxMemoryMb?: number | null;
  logger?: Logger;
  /** Overrides `host:pid:queues` (several workers in one process, tests). */
  id?: string;
  /** Show `resque-<version>: ...` as the process title (Resque peers look for it in `ps`). */
  setProcessTitle?: boolean;
  /** What happens to jobs a dead predecessor with this worker's id left in flight. */
  deadWorkerJobs?: 'requeue' | 'fail';
  /** See recoverWorker: a job in flight on more dead workers than this is failed. */
  poisonLimit?: number;
  /** ABANDONED_GRACE_MS (abandoned-jobs.ts); tests shorten it. */
  abandonedGraceMs?: number;
  /**
   * Retry failed jobs of classes with a retryLimit (true): the scheduler of `start` and `work` moves
   * them back; off with scheduler.interval null, where nothing of ours would.
   */
  retries?: boolean;
}

export interface WorkerEvents {
  job: [JobReport];
  idle: [];
  paused: [];
  recycle: [reason: string];
  stopped: [];
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

interface Running {
  entry: InFlightEntry;
  abort: JobAbort;
  done: Promise<void>;
}

export class Worker extends EventEmitter<WorkerEvents> {
  readonly id: string;
  readonly keys: ResqueKeys;
  readonly redis: ScriptedRedis;
  readonly #subscriber: ScriptedRedis;
  readonly #opts: Required<
    Omit<WorkerOptions, 'id' | 'namespace' | 'logger' | 'connectTimeout' | 'abandonedGraceMs' | 'retries'>
  >;
  readonly #log: Logger;
  readonly #wakeup = new Wakeup();
  readonly #running = new Set<Running>();
  readonly #outcomes: OutcomeBatch;
  readonly #reserve: ReserveRoundTrip;
  /** Reserved (so already in this worker's in-flight list) but not started yet. */
  #prefetched: Buffer[] = [];
  /** The finish + reserve round trip in flight: at most one, so a lost reply's token is reused. */
  #roundTrip: Promise<void> | null = null;
  /**
   * No reserve before this time (ms) unless an enqueue wakes the worker: its last reserve drained
   * its queues and put it in the idle set, where an enqueue of ours finds it.
   */
  #holdUntil = 0;
  /**
   * Wakes the loop when a hold ends: one timer per hold (undefined once it fired), not one per wait
   * of the loop, as an idle worker handed jobs waits twice per job.
   */
  #holdTimer: NodeJS.Timeout | undefined;
  /** No round trip of any kind before this time (ms): Redis failed the last one. */
  #backoffUntil = 0;
  readonly #errors: RedisErrorStreak;
  /** The last reserve found jobs but drained the queues: a finished job lifts its hold. */
  #liftHoldOnJobDone = false;
  /** A 'w' arrived: the next reserve's room counts every job handed to this worker (reserve.lua). */
  #roomIsFresh = false;
  /** Counts enqueue wake-ups, so a reserve that crossed one does not put the worker on hold. */
  #wakes = 0;
  readonly #title: WorkerTitle | null;
  #state: State = 'new';
  /** start()'s work while it is not done. */
  #starting: Promise<void> | null = null;
  #paused = false;
  /** The loop is putting back and recording for a pause (or waits paused): hand-offs hold their looks. */
  #pausing = false;
  #jobsDone = 0;
  #loop: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #deadline = Number.POSITIVE_INFINITY;
  readonly #registration: WorkerRegistration;
  readonly #putBack: PutBack;
  readonly #handOffs: HandOffs;
  readonly #abandoned: AbandonedJobs;
  /** What every job runs with: one object, not one per job. */
  readonly #runContext: RunContext;

  constructor(options: WorkerOptions) {
    super();
    this.#opts = {
      redisUrl: options.redisUrl,
      queues: options.queues,
      registry: options.registry,
      concurrency: options.concurrency ?? 1,
      prefetch: options.prefetch ?? 0,
      interval: options.interval ?? 5,
      heartbeatInterval: options.heartbeatInterval ?? 60,
      statusTtl: options.statusTtl ?? 86400,
      jobTimeout: options.jobTimeout ?? null,
      maxJobs: options.maxJobs ?? null,
      maxMemoryMb: options.maxMemoryMb ?? null,
      setProcessTitle: options.setProcessTitle ?? false,
      deadWorkerJobs: options.deadWorkerJobs ?? 'requeue',
      poisonLimit: options.poisonLimit ?? DEFAULT_POISON_LIMIT,
    };
    this.#title = this.#opts.setProcessTitle
      ? new WorkerTitle(() => ({
          stopping: this.#state === 'stopping',
          paused: this.#paused,
          queues: this.#opts.queues,
        }))
      : null;
    this.keys = resqueKeys(options.namespace);
    this.id = options.id ?? `${host()}:${process.pid}:${options.queues.join(',')}`;
    this.#log = (options.logger ?? silentLogger).child({ workerId: this.id });
    this.#errors = new RedisErrorStreak(this.#log);
    this.#abandoned = new AbandonedJobs(this.#log, () => this.#checkRecycle(), options.abandonedGraceMs);
    this.#runContext = {
      registry: this.#opts.registry,
      workerId: this.id,
      defaultTimeout: this.#opts.jobTimeout,
      log: this.#log,
      retries: options.retries ?? true,
    };
    const connectTimeoutMs = (options.connectTimeout ?? 10) * 1000;
    this.redis = createRedis({
      url: options.redisUrl,
      name: `resque-worker:${this.id}`,
      logger: this.#log,
      connectTimeoutMs,
    });
    this.#subscriber = createRedis({
      url: options.redisUrl,
      name: `resque-worker:${this.id}:wake`,
      logger: this.#log,
      connectTimeoutMs,
    });
    this.#outcomes = new OutcomeBatch(this.keys, this.id, this.#opts.statusTtl, (report) =>
      this.#report(report),
    );
    this.#reserve = new ReserveRoundTrip(this.redis, this.keys, this.id, this.#opts.queues);
    this.#putBack = new PutBack(this.redis, this.keys, this.id, this.#log, this.#opts.statusTtl);
    this.#registration = new WorkerRegistration(this.redis, this.keys, this.id, this.#log, this.#opts);
    this.#handOffs = new HandOffs({
      redis: this.redis,
      subscriber: this.#subscriber,
      keys: this.keys,
      id: this.id,
      log: this.#log,
      running: () => this.#state === 'running',
      paused: () => this.#paused || this.#pausing,
      roundTrip: () => this.#roundTrip,
      held: () => this.#heldEntries(),
      adopt: (entry) => this.#prefetched.push(entry),
      reserveNow: (freshRoom) => {
        if (freshRoom) this.#roomIsFresh = true;
        this.#wake();
      },
      notify: () => this.#wakeup.notify(),
      retrying: (what, step) => this.#retrying(what, step),
    });
  }

  get state(): State {
    return this.#state;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Jobs running now. */
  get busy(): number {
    return this.#running.size;
  }

  /** The jobs running now, by name (for a crash report). */
  runningJobs(): { jobId?: string; queue: string; className?: string }[] {
    return [...this.#running].map(({ entry }) => ({ queue: entry.queue, ...payloadNames(entry.payload) }));
  }

  /**
   * Registers and starts taking jobs. A stop() meanwhile (say Redis is not there yet) ends it:
   * start() then resolves with the worker stopped or stopping, having taken no job.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`worker ${this.id} already started`);
    this.#state = 'running';
    this.#starting = this.#start();
    try {
      await this.#starting;
    } catch (err) {
      if (this.#state === 'running') throw err; // else a stop cut it short: not a failure
    } finally {
      this.#starting = null;
    }
  }

  async #start(): Promise<void> {
    await assertRedisVersion(this.redis);
    // Registering first recovers what a dead worker with this id left; only then may jobs be
    // handed to this one (before it subscribes, a hand-off to this id reaches nobody and is undone).
    await this.#registration.register(() => this.#state === 'running');
    await this.#handOffs.listen(this.#opts.heartbeatInterval * 1000);
    if (this.#state !== 'running') return; // stopped meanwhile: #stop goes on from here
    this.#log.info(
      { event: 'worker.start', queues: this.#opts.queues, concurrency: this.#opts.concurrency },
      'worker started',
    );
    this.#title?.now();
    this.#loop = this.#run();
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#clearHoldTimer(); // a paused loop wakes only to resume or stop
    this.#log.info({ event: 'worker.pause' }, 'paused: running jobs finish, no new ones start');
    this.#title?.now();
    this.#wakeup.notify();
  }

  resume(): void {
    if (!this.#paused || this.#state !== 'running') return;
    this.#paused = false;
    this.#log.info({ event: 'worker.resume' }, 'resumed');
    this.#title?.now();
    this.#wake(); // the loop tells the hand-offs once it is done with the pause: see #run
  }

  /** Resque's USR1: fail the running jobs now (their abort signals fire), keep the worker. */
  killRunningJobs(reason = 'killed by USR1'): void {
    for (const job of this.#running) job.abort.abort(Object.assign(new Error(reason), { name: 'JobKilled' }));
  }

  /**
   * Stops taking jobs, lets running ones finish until `deadline` (ms since epoch; none = wait
   * forever), then puts back what is still running, records everything, and unregisters.
   * Calling it again (a second TERM) only brings the deadline forward.
   */
  stop(deadline?: number): Promise<void> {
    if (deadline !== undefined) this.#deadline = Math.min(this.#deadline, deadline);
    if (this.#stopping) {
      this.#wakeup.notify();
      return this.#stopping;
    }
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      await this.#close();
      return;
    }
    this.#state = 'stopping';
    this.#log.info(
      { event: 'worker.stopping', running: this.#running.size },
      'stopping: finishing running jobs',
    );
    this.#title?.now();
    this.#wakeup.notify();
    if (this.#starting && !(await this.#startCompletes(this.#starting))) {
      // It holds no job yet, and without Redis there is nothing to record: its commands, queued
      // for a Redis that may never come, are dropped with the connections. A registration it made
      // before Redis went away is the pruner's (process gone).
      await this.#close();
      this.#state = 'stopped';
      this.#log.info({ event: 'worker.stopped', processed: 0 }, 'worker stopped before it started');
      this.emit('stopped');
      return;
    }
    await this.#loop;
    await this.#handOffs.settled();
    await this.#handOffs.leaveIdleSet();
    // Other workers can take them while this one finishes what it runs.
    await this.#retrying('requeue', () => this.#putBackPrefetched('stopping'));
    for (
      let left = this.#deadline - Date.now();
      this.#running.size > 0 && left > 0;
      left = this.#deadline - Date.now()
    ) {
      await this.#wakeup.wait(left);
    }
    if (this.#running.size > 0) {
      const left = [...this.#running];
      // A job in its onFailure hook has failed: recorded as such (by #perform) rather than run again.
      const failed = left.filter((j) => j.abort.inOnFailure);
      const cutOff = left.filter((j) => !j.abort.inOnFailure);
      for (const job of failed) {
        const { jobId, className } = payloadNames(job.entry.payload);
        this.#log.warn(
          { event: 'job.on-failure-abandoned', jobId, queue: job.entry.queue, class: className },
          'stop deadline reached after the job failed (in its onFailure hook, or waiting for its code to end): the failure is recorded',
        );
        job.abort.stopWaitingForHook();
      }
      for (const job of cutOff) {
        this.#running.delete(job); // its outcome, should it still come, is not recorded
        job.abort.abort(
          Object.assign(new Error('worker stopped at its deadline: job put back'), { name: REQUEUED }),
        );
      }
      if (cutOff.length > 0)
        await this.#retrying('requeue', () => this.#putBack.running(cutOff.map((j) => j.entry)));
      await Promise.all(failed.map((j) => j.done));
    }
    await this.#retrying('finish', () => this.#outcomes.flushAll(this.redis));
    await this.#retrying('requeue', () => this.#putBack.unclaimed());
    await this.#retrying('unregister', () => this.#registration.unregister());
    await this.#close();
    this.#state = 'stopped';
    this.#log.info({ event: 'worker.stopped', processed: this.#jobsDone }, 'worker stopped');
    this.emit('stopped');
  }

  /**
   * A stop during start(): true once the start is done (moments, with Redis up; the stop then goes
   * on as usual), false as soon as Redis is not there (now, or when the connection drops).
   */
  #startCompletes(starting: Promise<void>): Promise<boolean> {
    if (this.redis.status !== 'ready') return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const down = () => resolve(false);
      this.redis.once('close', down);
      starting
        .then(
          () => true,
          () => false,
        )
        .then((done) => {
          this.redis.off('close', down);
          resolve(done);
        });
    });
  }

  /**
   * Dies as SIGKILL would, inside this process (tests of recovery): connections cut, timers
   * cleared, running jobs aborted and nothing recorded: they stay in flight for a recoverer.
   */
  crash(): void {
    this.#state = 'stopped';
    this.#clearHoldTimer();
    this.#handOffs.stopListening();
    this.#registration.stopHeartbeat();
    this.redis.disconnect();
    this.#subscriber.disconnect();
    const running = [...this.#running];
    this.#running.clear();
    for (const job of running)
      job.abort.abort(Object.assign(new Error('worker crashed'), { name: 'JobKilled' }));
    this.#wakeup.notify();
  }

  /**
   * Redis can answer with an error for a while (MISCONF on a full disk, READONLY after a
   * failover; at a stop, a failed list that is not a list): what must be recorded is tried again
   * every second until it is, never given up.
   */
  async #retrying(what: string, step: () => Promise<unknown>): Promise<void> {
    for (;;) {
      try {
        await step();
      } catch (err) {
        this.#errors.failed('worker.redis-error', what, err);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      this.#errors.ok();
      return;
    }
  }

  async #close(): Promise<void> {
    this.#clearHoldTimer();
    this.#title?.close();
    this.#handOffs.stopListening();
    this.#registration.stopHeartbeat();
    this.#subscriber.disconnect();
    await closeRedis(this.redis);
  }

  // ---- the loop ----

  /**
   * One pass per wake-up: start prefetched jobs in free slots, then send the next round trip if
   * none is in flight: finish what is done + reserve more when there is room for more jobs, or
   * only finish when the queues were drained. With prefetch the round trip goes out while the jobs
   * just started run, so the worker does not sit idle waiting for Redis; without it this is
   * Resque's reserve-run-repeat.
   */
  async #run(): Promise<void> {
    const capacity = this.#opts.concurrency + this.#opts.prefetch;
    while (this.#state === 'running') {
      // Let jobs that just finished settle in this turn, so their outcomes go out in one batch
      // (an idle worker woken by an enqueue has none, and goes straight to its reserve).
      if (this.#running.size > 0) {
        await yieldToIo();
        if (this.#state !== 'running') break;
      }
      if (this.#paused) {
        this.#pausing = true;
        try {
          await this.#roundTrip;
          await this.#handOffs.settled();
          await this.#handOffs.leaveIdleSet();
          await this.#retrying('requeue', () => this.#putBackPrefetched('paused'));
          await this.#retrying('finish', () => this.#outcomes.flush(this.redis));
          if (this.#paused) {
            this.emit('paused');
            await this.#wakeup.wait();
          }
        } finally {
          this.#pausing = false;
        }
        // Only now, with nothing being put back or recorded, may a look run (a resume during the
        // steps above would have started one that took those entries for lost ones), and only
        // now is the ZREM above surely done, so the worker's next reserve may rejoin the idle set.
        if (!this.#paused && this.#state === 'running') this.#handOffs.resumed();
        continue;
      }
      this.#startPrefetched();
      // Refill once less than one round of jobs is left, so a deep prefetch means bigger batches
      // (fewer round trips per job), not a round trip per finished job.
      const wanted =
        this.#prefetched.length < this.#opts.concurrency
          ? capacity - this.#running.size - this.#prefetched.length
          : 0;
      await this.#wakeup.wait(this.#roundTrip ? undefined : this.#nextRoundTrip(wanted));
    }
    await this.#roundTrip;
  }

  /**
   * Starts the round trip that is due, if any; else returns how long (ms) the loop may sleep
   * before one is (undefined: until woken). A job that finishes while the queues are drained
   * sends its outcome alone: reserving again would only find them empty and cost a round trip.
   */
  #nextRoundTrip(wanted: number): number | undefined {
    if (this.#handOffs.looking) return undefined;
    const now = Date.now();
    const backoff = this.#backoffUntil - now;
    const held = this.#holdUntil - now;
    const due = this.#outcomes.size > 0 || (wanted > 0 && held <= 0);
    // Held: the hold timer wakes the loop (a timer of its own only if that one fired early).
    if (!due) return wanted > 0 && !this.#holdTimer ? held : undefined;
    if (backoff > 0) return backoff;
    this.#roundTrip = wanted > 0 && held <= 0 ? this.#reserveMore(wanted) : this.#recordOutcomes();
    return undefined;
  }

  /** Sends one round trip; its reply lands in the prefetch list, then the loop is woken. */
  async #reserveMore(wanted: number): Promise<void> {
    const wakesBefore = this.#wakes;
    const fresh = this.#roomIsFresh;
    this.#roomIsFresh = false;
    try {
      const { state, entries } = await this.#reserve.run(wanted, this.#outcomes, fresh);
      this.#errors.ok();
      for (const entry of entries) this.#prefetched.push(entry);
      // Drained (this worker is now in the idle set, so enqueues reach it) or paused by the flag:
      // wait for a wake-up or the next poll. A wake-up during the round trip may be for a job
      // this reserve ran too early to see, so it lifts the hold.
      if ((state === 'idle' || state === 'paused') && this.#wakes === wakesBefore) {
        this.#holdUntil = Date.now() + this.#opts.interval * 1000;
        this.#armHoldTimer();
        // Jobs were there a moment ago: others (pushed by peers' clients, which wake nobody) may
        // follow, so a slot that frees looks again, as it did before a reserve ever held.
        this.#liftHoldOnJobDone = entries.length > 0;
        this.#emitIdleIfSo();
      }
    } catch (err) {
      this.#roundTripFailed('worker.reserve-error', 'reserve', err);
    } finally {
      this.#roundTripDone();
    }
  }

  /** Records finished jobs' outcomes without reserving (the queues were drained). */
  async #recordOutcomes(): Promise<void> {
    try {
      await this.#outcomes.flush(this.redis);
      this.#errors.ok();
      this.#emitIdleIfSo();
    } catch (err) {
      this.#roundTripFailed('worker.finish-error', 'recording outcomes', err);
    } finally {
      this.#roundTripDone();
    }
  }

  #armHoldTimer(): void {
    this.#clearHoldTimer();
    if (this.#paused || this.#state !== 'running') return; // resume lifts the hold; stop ends it
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = undefined;
      this.#wakeup.notify();
    }, this.#opts.interval * 1000);
  }

  #clearHoldTimer(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  /** Redis failed a round trip: what it carried is kept, and nothing goes out for a second. */
  #roundTripFailed(event: string, what: string, err: unknown): void {
    this.#errors.failed(event, what, err);
    this.#backoffUntil = Date.now() + 1000;
  }

  #roundTripDone(): void {
    this.#roundTrip = null;
    this.#wakeup.notify();
  }

  #emitIdleIfSo(): void {
    if (this.#running.size > 0 || this.#prefetched.length > 0 || this.#outcomes.size > 0) return;
    if (this.#holdUntil <= Date.now()) return;
    this.#title?.soon();
    this.emit('idle');
  }

  /** Every entry this worker holds: prefetched, running, finished but not yet recorded. */
  *#heldEntries(): Iterable<Buffer> {
    yield* this.#prefetched;
    for (const job of this.#running) yield job.entry.raw;
    yield* this.#outcomes.entries();
  }

  /** An enqueue (or resume) wakes the loop and lifts a hold, so the worker reserves at once. */
  #wake(): void {
    this.#wakes++;
    this.#holdUntil = 0;
    this.#wakeup.notify();
  }

  /** Runs prefetched jobs in the free slots; reserve.lua has marked tracked ones running (php-resque 2). */
  #startPrefetched(): void {
    const free = this.#opts.concurrency - this.#running.size;
    if (free <= 0 || this.#prefetched.length === 0) return;
    let batch = this.#prefetched;
    if (batch.length <= free) this.#prefetched = [];
    else batch = this.#prefetched.splice(0, free);
    let first: InFlightEntry | undefined;
    for (const buf of batch) {
      const entry = parseInFlightEntry(buf);
      first ??= entry;
      const job: Running = { entry, abort: new JobAbort(), done: Promise.resolve() };
      job.done = this.#perform(job, tryParsePayload(entry.payload));
      this.#running.add(job);
    }
    if (first) this.#title?.soon(first.queue);
  }

  /** Prefetched jobs go back to the head of their queues when this worker pauses or stops. */
  async #putBackPrefetched(why: 'paused' | 'stopping'): Promise<void> {
    // A hand-off adopted during the round trip (its message can trail the ZREM that left the idle
    // set) goes back too, rather than be dropped with the list that was sent.
    while (this.#prefetched.length > 0) {
      const sent = this.#prefetched;
      this.#prefetched = [];
      try {
        await this.#putBack.prefetched(sent, why);
      } catch (err) {
        this.#prefetched = sent.concat(this.#prefetched);
        throw err;
      }
    }
  }

  async #perform(job: Running, payload: Payload | InvalidPayloadError): Promise<void> {
    const [ack, report] = await runEntry(job.entry, payload, this.#runContext, job.abort);
    if (!this.#running.delete(job)) return; // put back at a stop deadline: its outcome is not recorded
    const abandoned = job.abort.abandonedWork;
    if (abandoned) this.#abandoned.watch(abandoned, report);
    this.#outcomes.add(ack);
    this.#jobsDone++;
    // A retry is reported once finish.lua has scheduled it: it may record the failure instead.
    if (ack.retry) ack.report = report;
    else this.#report(report);
    this.#checkRecycle();
    if (this.#liftHoldOnJobDone) this.#holdUntil = 0;
    // Its outcome is due: the loop sends it (with a reserve unless the queues are drained).
    this.#wakeup.notify();
  }

  #report(report: JobReport): void {
    if (this.listenerCount('job') > 0) this.emit('job', report);
    logJobReport(this.#log, report);
  }

  #checkRecycle(): void {
    if (this.#state !== 'running') return;
    const reason =
      recycleReason(this.#jobsDone, this.#opts) ?? this.#abandoned.recycleReason(this.#opts.concurrency);
    if (reason) {
      this.#log.info({ event: 'worker.recycle', reason }, 'recycling worker');
      this.emit('recycle', reason);
      void this.stop();
    }
  }
}

function tryParsePayload(raw: string): Payload | InvalidPayloadError {
  try {
    return parsePayload(raw);
  } catch (err) {
    return err as InvalidPayloadError;
  }
}
