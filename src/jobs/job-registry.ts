/**
 * Maps a payload's `class` to a job definition exported by the user's job modules. A path is a
 * module file or a directory whose .ts/.js/.mjs/.cjs files (not .d.ts, not tests) are loaded.
 * Every export that is a class, function or object with `perform` becomes a job of that name;
 * a default export object is read as a map of names to jobs. A job with a `jobName` (the name
 * `enqueueJob` sends) is known by it too. A TypeScript module gets tsx registered first (once per
 * process; already there when the daemon runs from src/).
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerTsx, TYPESCRIPT_MODULE } from '../util/runtime.ts';
import { type JobDefinition, jobNameOf } from './job.ts';

export class UnknownJobClassError extends Error {
  override name = 'UnknownJobClass';
}

export class JobLoadError extends Error {
  override name = 'JobLoadError';
}

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

export class JobRegistry {
  readonly #jobs = new Map<string, JobDefinition>();
  /** The module each loaded job came from, to name both when two export one name. */
  readonly #from = new Map<string, string>();
  readonly #searched: string[] = [];

  /** Registers jobs by name directly (tests, embedded use). */
  register(jobs: Record<string, JobDefinition>): this {
    for (const [name, job] of Object.entries(jobs)) {
      this.#jobs.set(name, job);
      const alias = jobNameOf(job);
      if (alias) this.#jobs.set(alias, job);
    }
    return this;
  }

  /** Imports every module under the given paths. Throws JobLoadError naming the module that failed. */
  async load(paths: readonly string[]): Promise<this> {
    for (const path of paths) {
      const abs = resolve(path);
      let files: string[];
      try {
        files = statSync(abs).isDirectory() ? moduleFilesIn(abs) : [abs];
      } catch {
        throw new JobLoadError(`job path ${abs} does not exist`);
      }
      this.#searched.push(abs);
      for (const file of files) {
        let mod: Record<string, unknown>;
        try {
          if (TYPESCRIPT_MODULE.test(file)) await registerTsx();
          mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        } catch (e) {
          throw new JobLoadError(`cannot load job module ${file}: ${describeThrown(e)}`, { cause: e });
        }
        this.#addModule(commonJsExports(mod), file);
      }
    }
    return this;
  }

  #addModule(mod: Record<string, unknown>, file: string): void {
    for (const [name, value] of Object.entries(mod)) {
      if (name === 'default') {
        if (isJob(value)) {
          const own = (value as { name?: string }).name;
          if (own) this.#add(own, value, file);
        } else if (value && typeof value === 'object') {
          for (const [k, v] of Object.entries(value)) if (isJob(v)) this.#add(k, v, file);
        }
      } else if (isJob(value)) {
        this.#add(name, value, file);
      }
    }
  }

  /**
   * One job per name: two modules exporting different jobs with `perform` under one name is an
   * error, not a coin toss. Plain functions are jobs too but may be any module's helpers (two
   * `validate`s): for them the last loaded wins, as before. `module.exports` is not a name (newer
   * Node lists a CommonJS module's whole export under it).
   */
  #add(name: string, job: JobDefinition, file: string): void {
    if (name === 'module.exports') return;
    this.#addName(name, job, file);
    const alias = jobNameOf(job);
    if (alias && alias !== name) this.#addName(alias, job, file);
  }

  #addName(name: string, job: JobDefinition, file: string): void {
    const known = this.#jobs.get(name);
    if (known !== undefined && known !== job && hasPerform(known) && hasPerform(job))
      throw new JobLoadError(`job class "${name}" is exported by both ${this.#from.get(name)} and ${file}`);
    this.#jobs.set(name, job);
    this.#from.set(name, file);
  }

  get(className: string): JobDefinition {
    const job = this.#jobs.get(className);
    if (job === undefined) {
      const where = this.#searched.length ? this.#searched.join(', ') : 'no job modules (set --jobs)';
      const known = [...this.#jobs.keys()].sort().join(', ') || 'none';
      // enqueueJob sends the class's own name: a class exported under another one is not found.
      const renamed = [...this.#jobs].find(([, j]) => (j as { name?: unknown }).name === className)?.[0];
      const hint = renamed
        ? `; the job known as "${renamed}" is named ${className} in its code: give it \`static jobName = '${renamed}'\``
        : '';
      throw new UnknownJobClassError(
        `unknown job class "${className}": not exported by ${where} (known: ${known})${hint}`,
      );
    }
    return job;
  }

  has(className: string): boolean {
    return this.#jobs.has(className);
  }

  get names(): string[] {
    return [...this.#jobs.keys()].sort();
  }
}

/**
 * A CommonJS module compiled from ESM (tsx's CommonJS hook for a .ts file outside a
 * `"type": "module"` package, or tsc/Babel output) reaches import() as `{ default: exports }`,
 * marked `__esModule`: its exports are the named ones, as TypeScript's esModuleInterop reads them.
 */
function commonJsExports(mod: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(mod).filter((k) => k !== 'module.exports');
  const exports = mod.default as { __esModule?: unknown } | null | undefined;
  return keys.length === 1 && keys[0] === 'default' && exports?.__esModule === true
    ? (exports as Record<string, unknown>)
    : mod;
}

/** A class with a perform (instance or static), or an object with one: surely meant as a job. */
function hasPerform(job: JobDefinition): boolean {
  const j = job as { perform?: unknown; prototype?: { perform?: unknown } };
  return typeof j.perform === 'function' || typeof j.prototype?.perform === 'function';
}

function describeThrown(e: unknown): string {
  try {
    return e instanceof Error ? e.message : `it threw ${String(e)}`;
  } catch {
    return 'it threw a value that cannot be shown';
  }
}

function moduleFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter(
      (f) =>
        MODULE_EXTENSIONS.has(extname(f)) && !f.endsWith('.d.ts') && !/\.(test|spec)\.[cm]?[jt]s$/.test(f),
    )
    .sort()
    .map((f) => join(dir, f));
}

function isJob(value: unknown): value is JobDefinition {
  if (typeof value === 'function') return true;
  return (
    !!value && typeof value === 'object' && typeof (value as { perform?: unknown }).perform === 'function'
  );
}
