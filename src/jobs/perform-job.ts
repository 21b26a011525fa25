/**
 * Runs one job definition: hooks in Resque's order, args spread (Ruby's `perform(*args)`), an
 * optional timeout, and an abort signal. Resolves with the outcome; never rejects.
 */
import { DontPerform, type JobContext, type JobDefinition, JobTimeoutError } from './job.ts';

export type JobOutcome =
  | { kind: 'done'; result: unknown }
  | { kind: 'skipped' }
  | { kind: 'failed'; error: unknown };

type Hookable = Record<string, unknown>;

function isClass(def: JobDefinition): def is JobDefinition & (new () => Hookable) {
  return (
    typeof def === 'function' &&
    typeof (def as { prototype?: { perform?: unknown } }).prototype?.perform === 'function'
  );
}

/** Finds a hook on the instance first, then as a static on the class. */
function hook(
  target: Hookable,
  holder: Hookable | undefined,
  name: string,
): ((...a: unknown[]) => unknown) | undefined {
  const own = target[name];
  if (typeof own === 'function') return own.bind(target) as (...a: unknown[]) => unknown;
  const stat = holder?.[name];
  if (typeof stat === 'function') return stat.bind(holder) as (...a: unknown[]) => unknown;
  return undefined;
}

export function jobTimeoutOf(def: JobDefinition): number | undefined {
  const t = (def as { timeout?: unknown }).timeout;
  return typeof t === 'number' && t > 0 ? t : undefined;
}

export async function performJob(
  def: JobDefinition,
  context: JobContext,
  args: unknown[],
  timeoutSeconds: number | undefined,
  abort: AbortController,
): Promise<JobOutcome> {
  let instance: Hookable;
  let holder: Hookable | undefined;
  let perform: (...a: unknown[]) => unknown;
  try {
    if (isClass(def)) {
      instance = new def();
      Object.assign(instance, context, { args });
      holder = def as unknown as Hookable;
      perform = (instance.perform as (...a: unknown[]) => unknown).bind(instance);
    } else if (typeof def === 'function') {
      instance = Object.assign(Object.create(null) as Hookable, context, { args });
      holder = def as unknown as Hookable;
      perform = (def as (...a: unknown[]) => unknown).bind(instance);
    } else {
      instance = def as unknown as Hookable;
      holder = undefined;
      perform = (...a: unknown[]) =>
        (def.perform as (...x: unknown[]) => unknown).apply({ ...context, args }, a);
    }
  } catch (error) {
    return { kind: 'failed', error };
  }

  const run = async (): Promise<JobOutcome> => {
    const before = hook(instance, holder, 'beforePerform');
    if (before && (await before(...args)) === false) return { kind: 'skipped' };
    const setUp = hook(instance, holder, 'setUp');
    if (setUp) await setUp();
    try {
      const around = hook(instance, holder, 'aroundPerform');
      const result = around ? await around(() => perform(...args), ...args) : await perform(...args);
      const after = hook(instance, holder, 'afterPerform');
      if (after) await after(...args);
      return { kind: 'done', result };
    } finally {
      const tearDown = hook(instance, holder, 'tearDown');
      if (tearDown) await tearDown();
    }
  };

  let timer: NodeJS.Timeout | undefined;
  try {
    const attempt = run();
    const outcome = timeoutSeconds
      ? await Promise.race([
          attempt,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const err = new JobTimeoutError(`job ${context.className} timed out after ${timeoutSeconds} s`);
              abort.abort(err);
              reject(err);
            }, timeoutSeconds * 1000);
          }),
        ])
      : await Promise.race([attempt, aborted(abort.signal)]);
    return outcome;
  } catch (error) {
    if (error instanceof DontPerform) return { kind: 'skipped' };
    const onFailure = hook(instance, holder, 'onFailure');
    if (onFailure) {
      try {
        await onFailure(error, ...args);
      } catch {
        // The job's own failure is what gets recorded; a failing hook must not hide it.
      }
    }
    return { kind: 'failed', error };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Rejects when the signal aborts (USR1 "kill the current job"), so the job is failed at once. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
