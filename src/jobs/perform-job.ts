/**
 * Runs one job definition: hooks in Resque's order, args spread (Ruby's `perform(*args)`), an
 * optional timeout, and an abort handle. Resolves with the outcome; never rejects.
 *
 * This is the per-job hot path, so it allocates little: no closures or bound functions per job,
 * and the AbortController behind `this.signal` is made only if the job reads it (JobAbort).
 */
import { MAX_SECONDS } from '../config/max-seconds.ts';
import { type Logger, silentLogger } from '../log.ts';
import { endsWithin } from '../util/wait-until.ts';
import { DontPerform, type JobContext, type JobDefinition, JobTimeoutError } from './job.ts';

/** Abort reason name for a job put back in its queue at a stop deadline (not a failure). */
export const REQUEUED = 'JobRequeued';

export type JobOutcome =
  | { kind: 'done'; result: unknown }
  | { kind: 'skipped' }
  | { kind: 'failed'; error: unknown };

type Hookable = Record<string, unknown>;
type Fn = (...a: unknown[]) => unknown;

/**
 * A running job's abort handle. `abort(reason)` fails the job at once (USR1, stop deadline,
 * timeout) and fires its signal. The AbortController (an EventTarget, costly to make) exists only
 * once the job reads `signal`; most jobs never do.
 */
export class JobAbort {
  #controller: AbortController | null = null;
  #reject: ((reason: unknown) => void) | null = null;
  #aborted = false;
  #reason: unknown;
  #inOnFailure = false;
  #endHookWait: (() => void) | null = null;
  #work: Promise<unknown> | null = null;
  #settled = false;

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#watchWork();
    this.#reject?.(reason);
  }

  /** The job failed and its onFailure hook runs: its outcome is decided, whatever the hook does. */
  get inOnFailure(): boolean {
    return this.#inOnFailure;
  }

  /** Waits for the failed job's onFailure hook until it settles or `stopWaitingForHook()`. */
  waitForOnFailure(hook: Promise<unknown>): Promise<void> {
    this.#inOnFailure = true;
    return new Promise<void>((resolve) => {
      const done = () => resolve();
      this.#endHookWait = done;
      hook.then(done, done);
    });
  }

  /**
   * A stop deadline: a job still in its onFailure hook has failed, so the worker records that
   * rather than put it back to run again; the hook is left to finish (or not) on its own.
   */
  stopWaitingForHook(): void {
    this.#endHookWait?.();
  }

  /**
   * Settles as `work` does, or rejects with the reason as soon as the job is aborted: one promise
   * per job, where racing `work` against an abort promise took three and an array.
   */
  race<T>(work: Promise<T>): Promise<T> {
    this.#work = work;
    if (this.#aborted) {
      this.#watchWork(); // and it may still reject later: not an unhandled rejection
      return Promise.reject(this.#reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#reject = reject;
      work.then(resolve, reject);
    });
  }

  /**
   * From the abort on, whether the job's code has ended. Watched only then, to keep the common
   * path to one `then`: code that had ended already marks itself in the next microtask, before
   * the worker, several awaits later, asks for abandonedWork.
   */
  #watchWork(): void {
    const ended = () => {
      this.#settled = true;
    };
    this.#work?.then(ended, ended);
  }

  /**
   * The job's code, still running after the job was aborted (it ignored its signal): JavaScript
   * cannot stop it. Null if it ended, or the job was never aborted.
   */
  get abandonedWork(): Promise<unknown> | null {
    return this.#aborted && !this.#settled ? this.#work : null;
  }
}

/** The context a job sees, without the signal (JobAbort provides it lazily) and the logger (made on first read). */
export type JobInfo = Omit<JobContext, 'signal' | 'log'>;

/** The job's logger: the worker's, its lines carrying the job's id, queue and class. */
function jobLogger(log: Logger, info: JobInfo): Logger {
  return log.child({ jobId: info.jobId, queue: info.queue, class: info.className });
}

/**
 * How a job definition runs: 'class' (an instance's perform, `new` needed), 'static' (Ruby's
 * `def self.perform`: the class's own perform, hooks static too, run like an object job),
 * 'function', or 'object'. Worked out once per definition: telling a class from a function
 * reads its source text.
 */
type Shape = 'class' | 'static' | 'function' | 'object';
const shapes = new WeakMap<object, Shape>();

function shapeOf(def: JobDefinition): Shape {
  let shape = shapes.get(def);
  if (shape === undefined) {
    shape = typeof def !== 'function' ? 'object' : classShape(def);
    shapes.set(def, shape);
  }
  return shape;
}

function classShape(def: JobDefinition): Shape {
  if (typeof (def as { prototype?: { perform?: unknown } }).prototype?.perform === 'function') return 'class';
  if (typeof (def as { perform?: unknown }).perform === 'function') return 'static';
  return /^class[\s{]/.test(Function.prototype.toString.call(def)) ? 'class' : 'function';
}

/** An error's name, read safely (a getter may throw). */
function nameOf(error: unknown): string | undefined {
  try {
    return (error as Error | undefined)?.name;
  } catch {
    return undefined;
  }
}

/** Finds a hook on the instance first, then as a static on the class; returns it with its `this`. */
function hook(target: Hookable, holder: Hookable | undefined, name: string): [Fn, unknown] | undefined {
  const own = target[name];
  if (typeof own === 'function') return [own as Fn, target];
  const stat = holder?.[name];
  if (typeof stat === 'function') return [stat as Fn, holder];
  return undefined;
}

async function callHook(h: [Fn, unknown], ...a: unknown[]): Promise<unknown> {
  return h[0].apply(h[1], a);
}

/** A class's `static timeout` in seconds: none when not a positive finite number; capped as config values are. */
export function jobTimeoutOf(def: JobDefinition): number | undefined {
  const t = (def as { timeout?: unknown }).timeout;
  return typeof t === 'number' && t > 0 && Number.isFinite(t) ? Math.min(t, MAX_SECONDS) : undefined;
}

/**
 * `this` of a class job: the instance, given the context fields, `args`, and a `signal` made on
 * first read.
 */
function bindContext(
  target: Hookable,
  info: JobInfo,
  args: unknown[],
  abort: JobAbort,
  log: Logger,
): Hookable {
  Object.assign(target, info);
  target.args = args;
  Object.defineProperty(target, 'signal', {
    get: () => abort.signal,
    enumerable: true,
    configurable: true,
  });
  // A job class with a `log` of its own (a field, or set in setUp) keeps it: ours is made on first
  // read only when there is none, and a job may still assign one.
  if (target.log === undefined) {
    Object.defineProperty(target, 'log', {
      get: () => {
        const jobLog = jobLogger(log, info);
        Object.defineProperty(target, 'log', { value: jobLog, writable: true, configurable: true });
        return jobLog;
      },
      set: (value: unknown) => {
        Object.defineProperty(target, 'log', { value, writable: true, configurable: true });
      },
      enumerable: false,
      configurable: true,
    });
  }
  return target;
}

/**
 * `this` of a function or object job. A class of its own, so every job's `this` has the same
 * shape (a null-prototype object with a property defined on it per job was a slow dictionary).
 */
class JobThis {
  readonly queue: string;
  readonly jobId: string | undefined;
  readonly className: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly workerId: string;
  readonly args: unknown[];
  readonly #abort: JobAbort;
  readonly #workerLog: Logger;
  /** The job's logger, made on first read (or one the job set). */
  #log: Logger | undefined;

  constructor(info: JobInfo, args: unknown[], abort: JobAbort, log: Logger) {
    this.queue = info.queue;
    this.jobId = info.jobId;
    this.className = info.className;
    this.payload = info.payload;
    this.workerId = info.workerId;
    this.args = args;
    this.#abort = abort;
    this.#workerLog = log;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get log(): Logger {
    this.#log ??= jobLogger(this.#workerLog, this);
    return this.#log;
  }

  /** A function job may keep a logger of its own in `this.log`. */
  set log(value: Logger) {
    this.#log = value;
  }
}

export async function performJob(
  def: JobDefinition,
  info: JobInfo,
  args: unknown[],
  timeoutSeconds: number | undefined,
  abort: JobAbort,
  log: Logger = silentLogger,
): Promise<JobOutcome> {
  let instance: Hookable;
  let holder: Hookable | undefined;
  let perform: Fn;
  try {
    const shape = shapeOf(def);
    if (shape === 'class') {
      instance = bindContext(new (def as unknown as new () => Hookable)(), info, args, abort, log);
      holder = def as unknown as Hookable;
      perform = instance.perform as Fn;
      if (typeof perform !== 'function')
        throw new TypeError(`job class ${info.className} has no perform method`);
    } else if (shape === 'function') {
      instance = new JobThis(info, args, abort, log) as unknown as Hookable;
      holder = def as unknown as Hookable;
      perform = def as Fn;
    } else {
      // An object job, or a class with a static perform: perform runs with the context as `this`,
      // its hooks with the object (the class).
      holder = undefined;
      instance = def as unknown as Hookable;
      const self = new JobThis(info, args, abort, log);
      const fn = (def as unknown as { perform: Fn }).perform;
      perform = (...a: unknown[]) => fn.apply(self, a);
    }
  } catch (error) {
    return { kind: 'failed', error };
  }

  let timer: NodeJS.Timeout | undefined;
  try {
    if (timeoutSeconds) {
      timer = setTimeout(() => {
        abort.abort(new JobTimeoutError(`job ${info.className} timed out after ${timeoutSeconds} s`));
      }, timeoutSeconds * 1000);
    }
    return await abort.race(runWithHooks(instance, holder, perform, args));
  } catch (error) {
    // By name too: a job module may import DontPerform from another copy of this library (its own
    // node_modules, or src/ while the daemon runs from dist/), whose class is not ours.
    const name = nameOf(error);
    if (error instanceof DontPerform || name === 'DontPerform') return { kind: 'skipped' };
    const onFailure = hook(instance, holder, 'onFailure');
    // A job put back in its queue at a stop deadline has not failed: it will run again.
    if (onFailure && name !== REQUEUED) {
      // The job's own failure is what gets recorded; a failing (or hung) hook must not hide it.
      // Limited to the job's timeout: a hook that never ends would hold its slot for good.
      await abort.waitForOnFailure(
        endsWithin(callHook(onFailure, error, ...args), timeoutSeconds ? timeoutSeconds * 1000 : undefined),
      );
    }
    return { kind: 'failed', error };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

async function runWithHooks(
  instance: Hookable,
  holder: Hookable | undefined,
  perform: Fn,
  args: unknown[],
): Promise<JobOutcome> {
  const before = hook(instance, holder, 'beforePerform');
  if (before && (await callHook(before, ...args)) === false) return { kind: 'skipped' };
  let failed = false;
  try {
    const setUp = hook(instance, holder, 'setUp');
    if (setUp) await callHook(setUp);
    const around = hook(instance, holder, 'aroundPerform');
    const result = around
      ? await callHook(around, () => perform.apply(instance, args), ...args)
      : await perform.apply(instance, args);
    const after = hook(instance, holder, 'afterPerform');
    if (after) await callHook(after, ...args);
    return { kind: 'done', result };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // Always, setUp failing included; a tearDown that fails after the job did must not hide why.
    const tearDown = hook(instance, holder, 'tearDown');
    if (tearDown) await (failed ? callHook(tearDown).catch(() => {}) : callHook(tearDown));
  }
}
