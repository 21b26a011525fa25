/**
 * What the pool looks like, as data (PoolSnapshot) and as the one line that systemd STATUS= and
 * the supervisor's process title show.
 */

export interface PoolSnapshot {
  state: 'new' | 'running' | 'stopping' | 'stopped';
  paused: boolean;
  /** Worker processes the config (and TTIN/TTOU) asks for. */
  wanted: number;
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

/** e.g. `3/4 workers busy, paused, 120 processed, redis up, crash loop: high (4 crashes, retry in 8 s)` */
export function statusLine(s: PoolSnapshot): string {
  const parts = [`${s.busy}/${s.workers} workers busy`];
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
