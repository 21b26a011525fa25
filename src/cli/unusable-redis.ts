/**
 * `start` gives up on a Redis that will never serve the pool, rather than crash-loop its children:
 * one that refuses redis.url's password or database (configuration: exit 78), or one too old to
 * run our scripts (exit 69, as `work`); systemd restarts neither (RestartPreventExitStatus).
 * redis.url cannot change on reload, so waiting would not help. The supervisor's own connection
 * tells.
 */

import { ConfigError } from '../config/load-config.ts';
import type { Logger } from '../log.ts';
import {
  assertRedisVersion,
  lastRedisError,
  REFUSED_SETTING,
  redisAddress,
  UnsupportedRedisError,
} from '../redis/connection.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';

/** How long Redis must refuse redis.url's password or database before start gives up. */
export const REFUSED_FOR_MS = 10_000;

/**
 * Stops the pool (now: it runs nothing) once Redis proves unusable; returns what to exit with
 * afterwards, null while it is usable.
 */
export function watchForUnusableRedis(supervisor: Supervisor, log: Logger): () => Error | null {
  const { redis } = supervisor;
  let unusable: Error | null = null;
  const giveUp = (err: Error, reason: string, event: string, msg: string) => {
    if (unusable || supervisor.state !== 'running') return; // a stop already under way decides
    unusable = err;
    log.error({ event, err: reason }, msg);
    void supervisor.stop(Date.now());
  };

  // A refusal only counts once it has lasted REFUSED_FOR_MS (not a password applied just after
  // Redis started listening), and never after Redis was once ready: a password rotated then is an
  // outage of the pool, not a setting of this run.
  let hadRedis = false;
  let refusal: NodeJS.Timeout | null = null;
  // The version on every connection: Redis may come back from a restart as another one. A check
  // that fails otherwise (the connection dropped) is made again when it is back.
  redis.on('ready', () => {
    hadRedis = true;
    if (refusal) clearTimeout(refusal);
    assertRedisVersion(redis).catch((err: Error) => {
      if (err instanceof UnsupportedRedisError)
        giveUp(err, err.message, 'supervisor.redis-unsupported', `${err.message}: stopping`);
    });
  });
  redis.on('error', (err: Error) => {
    if (hadRedis || refusal || !REFUSED_SETTING.test(err.message)) return;
    refusal = setTimeout(() => {
      refusal = null;
      const last = lastRedisError(redis) ?? '';
      if (hadRedis || !REFUSED_SETTING.test(last)) return;
      giveUp(
        new ConfigError(`redis.url: Redis at ${redisAddress(redis)} refused it: ${last}`),
        last,
        'supervisor.redis-refused',
        `Redis at ${redisAddress(redis)} refused redis.url for ${REFUSED_FOR_MS / 1000} s: stopping`,
      );
    }, REFUSED_FOR_MS);
  });
  return () => unusable;
}
