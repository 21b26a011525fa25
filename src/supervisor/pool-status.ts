/**
 * What the pool looks like, as data (PoolSnapshot, built from the supervisor's children) and as
 * the one line that systemd STATUS= and the supervisor's process title show; and whether it is
 * complete (every wanted child registered).
 */
import type { PoolChild } from './pool-child.ts';
import type { WantedGroup } from './reconcile.ts';

export interface PoolSnapshot {
  state: 'new' | 'running' | 'stopping' | 'stopped';
  paused: boolean;
  /** Worker processes the config (and TTIN/TTOU) asks for. */
  wanted: number;
  /** No job modules configured, so no workers (pool-config.ts wantedGroups). */
  noJobs: boolean;
  /** Live children not being retired. */
  workers: number;
  /** Of those, registered in Redis. */
  ready: number;
  /** Children finishing their last job before they exit (rolling restart, TTOU). */
  retiring: number;
  /** Jobs running now, over all children. */
  busy: number;
  /** Jobs finished since the supervisor started. */
  processed: number;
  redis: 'up' | 'down';
  crashLoops: { group: string; crashes: number; retryInS: number }[];
  children: Record<string, unknown>[];
}

/** What the supervisor knows besides its children. */
export interface PoolFacts {
  state: PoolSnapshot['state'];
  paused: boolean;
  wanted: readonly WantedGroup[];
  noJobs: boolean;
  /** Jobs finished by children that have exited. */
  processedByExited: number;
  redis: PoolSnapshot['redis'];
  crashLoops: PoolSnapshot['crashLoops'];
}

export function snapshotOf(facts: PoolFacts, children: readonly PoolChild[]): PoolSnapshot {
  const live = children.filter((c) => c.state !== 'retiring');
  return {
    state: facts.state,
    paused: facts.paused,
    wanted: facts.wanted.reduce((n, g) => n + g.count, 0),
    noJobs: facts.noJobs,
    workers: live.length,
    ready: live.filter((c) => c.state === 'ready').length,
    retiring: children.length - live.length,
    busy: children.reduce((n, c) => n + c.busy, 0),
    processed: facts.processedByExited + children.reduce((n, c) => n + c.processed, 0),
    redis: facts.redis,
    crashLoops: facts.crashLoops,
    children: children.map((c) => ({
      ...c.describe(),
      state: c.state,
      busy: c.busy,
      paused: c.paused,
      processed: c.processed,
    })),
  };
}

/** Every wanted group has at least its count of registered children. */
export function poolComplete(wanted: readonly WantedGroup[], children: readonly PoolChild[]): boolean {
  return wanted.every(
    (g) => children.filter((c) => c.group === g.name && c.state === 'ready').length >= g.count,
  );
}

/** e.g. `3/4 workers busy, paused, 120 processed, redis up, crash loop: high (4 crashes, retry in 8 s)` */
export function statusLine(s: PoolSnapshot): string {
  const parts = [`${s.busy}/${s.workers} workers busy`];
  if (s.noJobs) parts.push('no job modules configured');
  if (s.ready < s.workers) parts.push(`${s.workers - s.ready} starting`);
  if (s.retiring > 0) parts.push(`${s.retiring} retiring`);
  if (s.state === 'stopping') parts.push('stopping');
  else if (s.paused) parts.push('paused');
  parts.push(`${s.processed} processed`, `redis ${s.redis}`);
  for (const l of s.crashLoops)
    parts.push(`crash loop: ${l.group} (${l.crashes} crashes, retry in ${l.retryInS} s)`);
  return parts.join(', ');
}

export function processTitle(s: PoolSnapshot): string {
  return `resque-pool-supervisor: ${statusLine(s)}`;
}
