/**
 * The one Redis factory. Every connection is named (CLIENT SETNAME, visible in CLIENT LIST), has
 * an `error` listener (an unhandled one would crash the process), and has the Lua scripts defined.
 * Blocking or subscribing work gets its own connection from here too.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';
import { defineScripts, type ScriptedRedis } from './scripts.ts';

export interface ConnectionOptions {
  url: string;
  /** Shown in CLIENT LIST, e.g. `resque-worker:worker:host:123`. */
  name: string;
  logger?: Logger;
  connectTimeoutMs?: number;
  /**
   * Fail commands at once while Redis is unreachable instead of queueing them (clients that must
   * answer fast, e.g. enqueue from a web request). Workers keep queueing and retrying instead.
   */
  failFast?: boolean;
}

export function createRedis(options: ConnectionOptions): ScriptedRedis {
  const redisOptions: RedisOptions = {
    connectionName: options.name.replace(/[^\x21-\x7e]/g, '_'),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // Back off from 50 ms to 2 s between reconnection attempts, forever.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    maxRetriesPerRequest: options.failFast ? 1 : null,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
  const redis = new Redis(options.url, redisOptions);
  trackOutages(redis, options.name, options.logger);
  return defineScripts(redis);
}

/** Logs an outage once when it starts and once when Redis is back, not a line per retry. */
function trackOutages(redis: Redis, name: string, logger: Logger | undefined): void {
  let downSince: number | null = null;
  let lastError = '';
  redis.on('error', (err: Error) => {
    lastError = err.message;
    if (downSince === null) {
      downSince = Date.now();
      logger?.warn(
        { event: 'redis.down', connection: name, err: err.message },
        'Redis unreachable, retrying',
      );
    }
  });
  redis.on('ready', () => {
    if (downSince !== null) {
      const seconds = (Date.now() - downSince) / 1000;
      logger?.info(
        { event: 'redis.up', connection: name, downSeconds: seconds, lastError },
        `Redis back after ${seconds.toFixed(1)} s`,
      );
      downSince = null;
    }
  });
}

export function isRedisUp(redis: Redis): boolean {
  return redis.status === 'ready';
}
