/**
 * HUP for the pool: read the new config, or say why it is rejected.
 *
 * Duties:
 *  1. load and check the new config (schema + checkPoolConfig; redis.url, redis.namespace and
 *     scheduler.interval cannot change); a bad one is logged (`supervisor.reload-failed`) and
 *     the caller keeps the old one
 *  2. log what the reload changes (`supervisor.reload`): the groups, and those whose children
 *     restart because their spec key changed
 *
 * Applying it (counts, back-off, reconcile) stays with the supervisor.
 */
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../log.ts';
import { checkPoolConfig, type PoolGroup } from './pool-config.ts';

export type ReloadResult = { ok: true; config: Readonly<Config> } | { ok: false; message: string };

export function readNewConfig(
  loadConfig: () => Readonly<Config>,
  current: Readonly<Config>,
  log: Logger,
): ReloadResult {
  try {
    const config = loadConfig();
    checkPoolConfig(config);
    // The supervisor's own connection recovers dead children and prunes: it and the children must
    // share one Redis and namespace, so moving them is a restart, not a reload.
    for (const key of ['url', 'namespace'] as const) {
      if (config.redis[key] !== current.redis[key]) {
        throw new Error(`redis.${key} changed: a different Redis or namespace needs a restart, not a reload`);
      }
    }
    // The scheduler's timer is set at start: one that is off stays off (its recurring jobs would
    // never run), and one that runs keeps its interval.
    if (config.scheduler.interval !== current.scheduler.interval)
      throw new Error(
        `scheduler.interval changed (${current.scheduler.interval} to ${config.scheduler.interval}): the scheduler's timer is set at start: a restart, not a reload`,
      );
    return { ok: true, config };
  } catch (err) {
    const message = (err as Error).message;
    log.error({ event: 'supervisor.reload-failed', err: message }, 'reload rejected, keeping the old config');
    return { ok: false, message };
  }
}

export function logReload(log: Logger, before: PoolGroup[], after: PoolGroup[]): void {
  log.info(
    {
      event: 'supervisor.reload',
      groups: after.map((g) => ({ name: g.name, count: g.count })),
      restarted: after
        .filter((g) => before.some((b) => b.name === g.name && b.key !== g.key))
        .map((g) => g.name),
    },
    'config reloaded',
  );
}
