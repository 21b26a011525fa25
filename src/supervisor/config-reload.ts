/**
 * HUP for the pool: read the new config, or say why it is rejected.
 *
 * Duties:
 *  1. load and check the new config (schema + checkPoolConfig); a bad one is logged
 *     (`supervisor.reload-failed`) and the caller keeps the old one
 *  2. log what the reload changes (`supervisor.reload`): the groups, and those whose children
 *     restart because their spec key changed
 *
 * Applying it (counts, back-off, reconcile) stays with the supervisor.
 */
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../log.ts';
import { checkPoolConfig, type PoolGroup } from './pool-config.ts';

export type ReloadResult = { ok: true; config: Readonly<Config> } | { ok: false; message: string };

export function readNewConfig(loadConfig: () => Readonly<Config>, log: Logger): ReloadResult {
  try {
    const config = loadConfig();
    checkPoolConfig(config);
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
