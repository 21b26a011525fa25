/**
 * The pool as the config describes it: its groups (or the one implicit group of `count` workers on
 * `queues`), each with the key that changes when its children must be restarted, and the checks
 * the schema cannot make on its own. Pure functions of a Config.
 */
import { existsSync } from 'node:fs';
import { type Config, ConfigError } from '../config/load-config.ts';
import type { WorkerGroup } from '../config/schema.ts';
import type { WantedGroup } from './reconcile.ts';

export type PoolGroup = WantedGroup & { spec: WorkerGroup };

/**
 * Whether a group's workers hold one job at a time (concurrency 1, no prefetch): then the job in a
 * hung worker's in-flight list is the one that blocked it (child-recovery.ts).
 */
export function holdsOneJobAtATime(config: Readonly<Config>, group: WorkerGroup): boolean {
  return (group.concurrency ?? config.worker.concurrency) === 1 && config.worker.prefetch === 0;
}

/**
 * The groups of a config, with TTIN/TTOU counts and the key that says "restart me" when it changes.
 * With no job modules configured every count is 0: a worker would take jobs (from every queue, with
 * the starter config's "*", peers' too) only to fail each as UnknownJobClass.
 */
export function wantedGroups(config: Readonly<Config>, counts: ReadonlyMap<string, number>): PoolGroup[] {
  const { jobs, redis, worker, log, supervisor } = config;
  return groupsOf(config).map((g) => {
    const spec = { ...g, count: jobs.length === 0 ? 0 : (counts.get(g.name) ?? g.count) };
    const { count: _count, ...startedWith } = spec;
    const key = JSON.stringify({
      group: startedWith,
      jobs,
      redis,
      worker,
      log,
      shutdownTimeout: supervisor.shutdownTimeout,
    });
    return { name: g.name, key, count: spec.count, spec };
  });
}

function groupsOf(config: Readonly<Config>): readonly WorkerGroup[] {
  const s = config.supervisor;
  if (s.groups.length > 0) return s.groups;
  return [{ name: config.queues.join(','), queues: [...config.queues], count: s.count }];
}

export function countsOf(config: Readonly<Config>): Map<string, number> {
  return new Map(groupsOf(config).map((g) => [g.name, g.count]));
}

/**
 * Checks what the schema cannot see alone: job paths exist, unique group names, scaleGroup names a
 * group. Throws a ConfigError, as the schema does: `start`, `config check` and a reload refuse the
 * same files.
 */
export function checkPoolConfig(config: Readonly<Config>): void {
  const missing = config.jobs.find((p) => !existsSync(p));
  if (missing !== undefined) throw invalid(`jobs: ${missing} does not exist`);
  const names = groupsOf(config).map((g) => g.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw invalid(
      `supervisor.groups: two groups are named ${JSON.stringify(dup)}; give them distinct "name"s`,
    );
  const target = config.supervisor.scaleGroup;
  if (target && !names.includes(target))
    throw invalid(
      `supervisor.scaleGroup: no group is named ${JSON.stringify(target)} (groups: ${names.join(' | ')})`,
    );
}

function invalid(message: string): ConfigError {
  return new ConfigError(`invalid configuration: ${message}`);
}
