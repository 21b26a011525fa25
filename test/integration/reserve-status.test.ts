/**
 * reserve.lua marks tracked jobs running (php-resque status 2) as it takes them, by the worker's
 * own payload rules: the status key follows id and prefix; untracked jobs get no key; a tracked
 * payload our checks reject still ends failed (3), never stuck at running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker } from '../../src/worker/worker.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('reserve marks tracked jobs running', () => {
  let redis: TestRedis;
  let worker: Worker;

  before(async () => {
    redis = await TestRedis.start();
    const registry = await new JobRegistry().load([FIXTURES]);
    worker = new Worker({ redisUrl: redis.url, queues: ['q'], registry, interval: 0.2, concurrency: 5 });
    await worker.start();
  });
  after(async () => {
    await worker.stop();
    await redis.stop();
  });

  async function push(payload: unknown, statusKey?: string): Promise<void> {
    const r = redis.client();
    if (statusKey)
      await r.set(statusKey, JSON.stringify({ status: 1, updated: 1, started: 1, result: null }));
    await r.rpush(keys.queue('q'), typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  const status = async (key: string) =>
    JSON.parse((await redis.client().get(key)) ?? '{}') as { status?: number };

  test('running while it runs (id + prefix, numeric id), then complete', async () => {
    const a = keys.jobStatus('s1', 'app');
    const b = keys.jobStatus('42');
    await push({ class: 'Sleepy', args: [400], id: 's1', prefix: 'app' }, a);
    await push({ class: 'Sleepy', args: [400], id: 42 }, b);
    await waitFor(async () => (await status(a)).status === 2 && (await status(b)).status === 2, {
      what: 'both running',
    });
    const running = await status(a);
    assert.equal((running as { started?: number }).started, 1, 'started kept from the waiting status');
    assert.ok((await redis.client().ttl(a)) === -1, 'KEEPTTL: no expiry while running');
    await waitFor(async () => (await status(a)).status === 4 && (await status(b)).status === 4, {
      what: 'both complete',
    });
  });

  test('an untracked job gets no status key', async () => {
    await push({ class: 'Echo', args: [], id: 'untracked1' });
    await waitFor(async () => (await redis.client().llen(keys.queue('q'))) === 0);
    await waitFor(async () => (await redis.client().llen(keys.workerInflight(worker.id))) === 0);
    assert.equal(await redis.client().exists(keys.jobStatus('untracked1')), 0);
  });

  test('an "id" inside args never marks another tracked job\'s status', async () => {
    const victim = keys.jobStatus('victim');
    const real = keys.jobStatus('real');
    await redis.client().set(victim, JSON.stringify({ status: 1, updated: 1, started: 1, result: null }));
    await push({ class: 'Echo', args: [{ id: 'victim' }] }); // Ruby payload: no top-level id
    await push({ class: 'Sleepy', args: [300, { id: 'victim' }], id: 'real' }, real);
    await waitFor(async () => (await status(real)).status === 2, { what: 'the real job running' });
    await waitFor(async () => (await status(real)).status === 4, { what: 'the real job complete' });
    assert.equal((await status(victim)).status, 1, 'the job named only inside args is still waiting');
  });

  test("a status key created after the job was reserved (php-resque's order: push, then create) still ends complete", async () => {
    const k = keys.jobStatus('late1');
    await push({ class: 'Sleepy', args: [300], id: 'late1' });
    await waitFor(async () => (await redis.client().llen(keys.workerInflight(worker.id))) === 1, {
      what: 'the job reserved',
    });
    await redis.client().set(k, JSON.stringify({ status: 1, updated: 1, started: 1, result: null }));
    await waitFor(async () => (await status(k)).status === 4, { what: 'complete' });
  });

  test('a tracked payload with args that are not an array ends failed, not running', async () => {
    const k = keys.jobStatus('bad1');
    await push('{"class":"Echo","args":{},"id":"bad1"}', k);
    await waitFor(async () => (await status(k)).status === 3, { what: 'failed status' });
    const [record] = await redis.client().lrange(keys.failed, -1, -1);
    assert.match(JSON.parse(record!).error, /not an array/);
  });
});
