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
    // Back off from 50 ms to 2 s between reconnection attempts, forever (ioredis counts from 1).
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt - 1, 6), 2000),
    // failFast: a command issued while Redis is away is rejected at once (no offline queue that
    // could grow without bound), and so is one already sent when the connection dropped: Redis
    // may have run it, and sending it again on the next connection (ioredis' default) would
    // enqueue or retry a job twice while the caller is told it went once.
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
    lazyConnect: false,
  };
  const redis = new Redis(options.url, redisOptions);
  trackOutages(redis, options.url, options.name, options.logger);
  trackReconnects(redis);
  // ioredis carries on in database 0 when its SELECT is refused (a number past the server's
  // `databases`): every command would read and write another app's keys. Never ready then: a
  // connection that never had its database is a setting to fix, closed for good (each command
  // fails with this error as its reason); one that had it (Redis came back with fewer databases)
  // tries again with back-off, as for an outage, its commands held.
  let hadDatabase = false;
  redis.on('ready', () => {
    hadDatabase = true;
  });
  redis.on('error', (err: Error) => {
    if (REFUSED_DATABASE.test(err.message)) redis.disconnect(hadDatabase);
  });
  return defineScripts(redis);
}

/**
 * One outage per logger and Redis URL, however many connections share them (a worker has two):
 * logged once when the first connection loses Redis (`redis.down`) and once when the last one is
 * back (`redis.up`), never a line per retry.
 */
interface Outage {
  down: Set<Redis>;
  since: number;
  lastError: string;
  name: string;
}
const outagesByLogger = new WeakMap<Logger, Map<string, Outage>>();

function trackOutages(redis: Redis, url: string, name: string, logger: Logger | undefined): void {
  redis.on('error', (err: Error) => lastErrors.set(redis, err.message));
  // An outage's cause is not the next one's (a clean shutdown closes without an error).
  redis.on('ready', () => lastErrors.delete(redis));
  if (!logger) {
    redis.on('error', () => {}); // an unhandled 'error' would crash the process
    return;
  }
  let outages = outagesByLogger.get(logger);
  if (!outages) {
    outages = new Map();
    outagesByLogger.set(logger, outages);
  }
  const goneDown = (reason: string) => {
    let outage = outages.get(url);
    if (!outage) {
      outage = { down: new Set(), since: Date.now(), lastError: reason, name };
      outages.set(url, outage);
      // The address, as ioredis' errors (ETIMEDOUT, a protocol error) often do not name it.
      const address = redisAddress(redis);
      logger.warn(
        { event: 'redis.down', connection: name, address, err: reason },
        REFUSED_SETTING.test(reason)
          ? `Redis at ${address} refused this connection's settings (redis.url: password, database number)`
          : `Redis at ${address} unreachable, retrying with back-off`,
      );
    }
    outage.lastError = reason;
    outage.down.add(redis);
  };
  redis.on('error', (err: Error) => goneDown(err.message));
  // A server that goes away cleanly (shutdown, restart) closes the socket without an error first.
  redis.on('reconnecting', () => goneDown(outages.get(url)?.lastError ?? 'connection closed'));
  const backUp = () => {
    const outage = outages.get(url);
    if (!outage?.down.delete(redis) || outage.down.size > 0) return;
    outages.delete(url);
    if (redis.status === 'end') return; // closed during the outage: nothing came back
    const seconds = (Date.now() - outage.since) / 1000;
    logger.info(
      { event: 'redis.up', connection: outage.name, downSeconds: seconds, lastError: outage.lastError },
      `Redis back after ${seconds.toFixed(1)} s`,
    );
  };
  redis.on('ready', backUp);
  // A connection closed for good (quit) is no longer waiting for Redis.
  redis.on('end', backUp);
}

/** Where a connection goes, for messages: `host:port` or the socket path (never the password). */
export function redisAddress(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? path : `${host}:${port}`;
}

/** The last connection error of each connection, for messages about an outage. */
const lastErrors = new WeakMap<Redis, string>();

export function lastRedisError(redis: Redis): string | undefined {
  return lastErrors.get(redis);
}

const REFUSED_DATABASE = /DB index is out of range/;
/** Redis refused a connection's settings: the password, or the database number (configuration). */
export const REFUSED_SETTING = /WRONGPASS|NOAUTH|DB index is out of range/;

/**
 * Why a worker could not start. A refused database closes the connection (createRedis), so the
 * reason is the connection's last error, not the "Connection is closed" the start failed with.
 */
export function startFailure(redis: Redis, err: unknown): string {
  const reason = lastRedisError(redis) ?? '';
  return REFUSED_DATABASE.test(reason) ? reason : (err as Error).message;
}

export function isRedisUp(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** When each connection became ready after failing to reach Redis (performance.now() ms). */
const reconnectedAt = new WeakMap<Redis, number>();
/** Connections that failed to reach Redis since they were last ready (or ever, for a new one). */
const missedRedis = new WeakSet<Redis>();

function trackReconnects(redis: Redis): void {
  // A first connection made only after failed attempts is a return from an outage too: a process
  // started while Redis (or the network to it) was away sees what the others see.
  redis.on('error', () => missedRedis.add(redis));
  redis.on('reconnecting', () => missedRedis.add(redis));
  redis.on('ready', () => {
    if (missedRedis.delete(redis)) reconnectedAt.set(redis, performance.now());
  });
}

/**
 * Seconds this connection has been back since it last failed to reach Redis: Infinity if it never
 * failed, 0 while it is down. The pruner reads it: after an outage, every heartbeat is stale.
 */
export function secondsSinceReconnect(redis: Redis): number {
  if (redis.status !== 'ready') return 0;
  const at = reconnectedAt.get(redis);
  return at === undefined ? Number.POSITIVE_INFINITY : (performance.now() - at) / 1000;
}

/** reserve.lua pops several jobs at once with `LPOP key count`, which Redis 6.2 introduced. */
export const MIN_REDIS_VERSION = '6.2.0';

export class UnsupportedRedisError extends Error {
  override name = 'UnsupportedRedis';
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const b = minimum.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** Refuses, with a clear message, a Redis too old to run our scripts (Debian 11 and Ubuntu 22.04 ship 6.0). */
export async function assertRedisVersion(redis: Redis): Promise<void> {
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
  if (version && !versionAtLeast(version, MIN_REDIS_VERSION)) {
    throw new UnsupportedRedisError(
      `Redis ${version} is too old: resque-worker needs Redis ${MIN_REDIS_VERSION} or later (LPOP with a count)`,
    );
  }
}

/**
 * QUIT politely, but never wait on it for long: during an outage a QUIT sits in the offline queue
 * forever and would keep a stopping process alive.
 */
export async function closeRedis(redis: Redis, waitMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([redis.quit().catch(() => {}), gaveUp]);
  clearTimeout(timer);
  redis.disconnect();
}
