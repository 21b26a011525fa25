/**
 * The setup most Redis test files share, as node:test hooks on the enclosing describe:
 *  - before: a private TestRedis, a ResqueClient on it, and a JobRegistry of `jobs` (when given);
 *  - after: `release` (workers, supervisors) first, then the client closed and Redis stopped;
 *  - beforeEach, with `flushEach`: `release`, then FLUSHALL, so every test starts from nothing.
 * The returned object's fields are filled in by before(): read them in hooks and tests, not at
 * describe time.
 */
import { after, before, beforeEach } from 'node:test';
import { ResqueClient } from '../../src/client/client.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { TestRedis } from './redis-server.ts';

export interface TestRedisEnv {
  redis: TestRedis;
  client: ResqueClient;
  /** Empty unless `jobs` was given. */
  registry: JobRegistry;
}

export interface UseTestRedisOptions {
  /** Job modules (files or directories) for `registry`. */
  jobs?: string[];
  /** FLUSHALL before each test (after `release`). */
  flushEach?: boolean;
  /** Stops what the tests started; run before each FLUSHALL and before Redis stops. */
  release?: () => Promise<unknown>;
}

export function useTestRedis(options: UseTestRedisOptions = {}): TestRedisEnv {
  const env = {} as TestRedisEnv;
  before(async () => {
    env.redis = await TestRedis.start();
    env.client = new ResqueClient({ redisUrl: env.redis.url });
    env.registry = options.jobs ? await new JobRegistry().load(options.jobs) : new JobRegistry();
  });
  after(async () => {
    await options.release?.();
    await env.client.close();
    await env.redis.stop();
  });
  if (options.flushEach)
    beforeEach(async () => {
      await options.release?.();
      await env.redis.client().flushall();
    });
  return env;
}
