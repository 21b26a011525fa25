/**
 * Retries (resque-retry style): a failed job with retries left goes to the delayed queue in the
 * step that takes it out of flight, runs again once the scheduler moves it, and its failure is
 * recorded only when the retries are spent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ResqueClient } from '../../src/client/client.ts';
import { silentLogger } from '../../src/log.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { moveDueJobs } from '../../src/scheduler/move-due-jobs.ts';
import { Worker } from '../../src/worker/worker.ts';
import { startRedisProxy } from '../helpers/redis-proxy.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('retries', () => {
  const workers: Worker[] = [];
  const db = useTestRedis({
    jobs: [FIXTURES],
    flushEach: true,
    release: () => Promise.all(workers.splice(0).map((w) => w.stop())),
  });
  const move = () => moveDueJobs(defineScripts(db.redis.client()), keys, silentLogger);
  const lines: Record<string, unknown>[] = [];

  async function startWorker(queue: string): Promise<Worker> {
    lines.length = 0;
    const logger = pino({}, { write: (l: string) => lines.push(JSON.parse(l)) });
    const w = new Worker({
      redisUrl: db.redis.url,
      queues: [queue],
      registry: db.registry,
      interval: 0.1,
      logger,
    });
    workers.push(w);
    await w.start();
    return w;
  }

  /** Waits for a job's final status, moving due retries meanwhile (the scheduler of `start`/`work`). */
  const finalStatus = (id: string) =>
    waitFor(
      async () => {
        await move();
        const s = await db.client.status(id);
        return (s.status === 'complete' || s.status === 'failed') && s;
      },
      { timeout: 10_000, what: `job ${id} done` },
    );

  test('a job that fails twice then succeeds: two retries, no failure record, counted as it ran', async () => {
    await startWorker('flaky');
    const id = await db.client.enqueue('flaky', 'Flaky', [2], { trackStatus: true });
    const status = await finalStatus(id);
    assert.equal(status.status, 'complete');
    assert.equal(status.result, 2, 'ran as retry 2');
    const r = db.redis.client();
    assert.equal(await r.llen(keys.failed), 0, 'no failure record');
    assert.equal(await r.get(keys.statProcessed), '3');
    assert.equal(await r.get(keys.statFailed), '2', 'each failed run counts');
    assert.deepEqual(
      lines
        .filter((l) => l.event === 'job.retry')
        .map((l) => [l.jobId, l.attempt, l.limit, l.inSeconds, l.error]),
      [
        [id, 1, 3, 0, 'flaky at attempt 0'],
        [id, 2, 3, 0, 'flaky at attempt 1'],
      ],
    );
    assert.deepEqual(await r.keys(`${keys.prefix}delayed*`), [], 'the schedule is empty again');
  });

  test('with no namespace: a retry and a success in one finish call are both recorded', async () => {
    const bare = resqueKeys('');
    const client = new ResqueClient({ redisUrl: db.redis.url, namespace: '' });
    const w = new Worker({
      redisUrl: db.redis.url,
      namespace: '',
      queues: ['bare'],
      registry: db.registry,
      interval: 0.1,
      concurrency: 2,
      prefetch: 2,
    });
    workers.push(w);
    try {
      const ids = await client.enqueueMany(
        'bare',
        [
          { className: 'Flaky', args: [1] },
          { className: 'Echo', args: ['ok'] },
        ],
        { trackStatus: true },
      );
      await w.start();
      const moveBare = () => moveDueJobs(defineScripts(db.redis.client()), bare, silentLogger);
      await waitFor(
        async () => {
          await moveBare();
          const s = await Promise.all(ids.map((id) => client.status(id)));
          return s.every((x) => x.status === 'complete');
        },
        { timeout: 10_000, what: 'both complete' },
      );
      assert.equal(await db.redis.client().llen(bare.workerInflight(w.id)), 0, 'nothing left in flight');
    } finally {
      await client.close();
    }
  });

  test('no retry while another scheduler leads (it would lose the count): the failure is recorded', async () => {
    await startWorker('foreign');
    const r = db.redis.client();
    for (const lock of [...keys.rubySchedulerLocks, `${keys.prefix}resque_scheduler_leader_lock`]) {
      await r.flushall();
      await r.set(lock, 'ruby-or-node:1', 'EX', 60);
      const id = await db.client.enqueue('foreign', 'FailsTwiceMore', []);
      await waitFor(async () => (await r.llen(keys.failed)) === 1, {
        what: `the failure recorded (${lock})`,
      });
      assert.equal(await r.exists(keys.delayedSchedule), 0, 'nothing scheduled');
      const logged = await waitFor(() => lines.find((l) => l.jobId === id), { what: 'its log line' });
      assert.equal(logged.event, 'job.failed', 'logged as what happened: no retry');
      assert.match(String(logged.notRetried), /another scheduler leads/);
    }
  });

  test('a retry recorded by a finish call whose reply was lost is logged as planned, not as scheduled', async () => {
    const proxy = await startRedisProxy(db.redis.port);
    try {
      lines.length = 0;
      const logger = pino({}, { write: (l: string) => lines.push(JSON.parse(l)) });
      const w = new Worker({
        redisUrl: proxy.url,
        queues: ['lost'],
        registry: db.registry,
        interval: 0.1,
        logger,
      });
      workers.push(w);
      await w.start();
      const r = db.redis.client();
      await r.set(keys.rubySchedulerLocks[0], 'ruby:1', 'EX', 60); // finish.lua records the failure instead
      proxy.dropReplyTo('still broken'); // the finish call carrying the failure record
      const id = await db.client.enqueue('lost', 'FailsTwiceMore', []);
      const logged = await waitFor(() => lines.find((l) => l.jobId === id), { what: 'its log line' });
      assert.equal(proxy.dropped, 1);
      assert.equal(await r.llen(keys.failed), 1, 'its failure recorded, once');
      assert.equal(logged.event, 'job.retry');
      assert.equal(logged.retryUnknown, true, 'not claimed as scheduled: the call that knew lost its reply');
      assert.match(String(logged.msg), /planned/);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await proxy.close();
    }
  });

  test('a timed-out job whose code runs on is not retried (it would run beside its retry); one that ends is', async () => {
    await startWorker('timeouts');
    const r = db.redis.client();
    await db.client.enqueue('timeouts', 'IgnoresTimeoutRetried', [null]);
    await waitFor(async () => (await r.llen(keys.failed)) === 1, { what: 'recorded, not retried' });
    assert.equal(await r.exists(keys.delayedSchedule), 0);
    await r.del(keys.failed);
    // Ends 50 ms after its timeout (0.1 s): retried, then fails for good (its retry spent).
    const id = await db.client.enqueue('timeouts', 'IgnoresTimeoutRetried', [150], { trackStatus: true });
    assert.equal((await finalStatus(id)).status, 'failed');
    assert.deepEqual(
      lines.filter((l) => l.event === 'job.retry').map((l) => l.jobId),
      [id],
    );
  });

  test('a stop deadline while a timed-out job is waited for records its failure: not put back to run beside itself', async () => {
    const w = await startWorker('deadline');
    const r = db.redis.client();
    await db.client.enqueue('deadline', 'IgnoresTimeoutRetried', [null]);
    await waitFor(() => w.busy === 1, { what: 'the job running' });
    // It times out at 0.1 s, then its code is waited for up to 1 s: the deadline falls in that second.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await w.stop(Date.now() + 100);
    assert.equal(await r.llen(keys.failed), 1, 'its failure recorded');
    assert.equal(await db.client.size('deadline'), 0, 'not put back');
    assert.equal(await r.exists(keys.delayedSchedule), 0, 'not retried');
  });

  test('retries off (scheduler.interval null: nothing would move them back): the failure is recorded', async () => {
    const w = new Worker({
      redisUrl: db.redis.url,
      queues: ['off'],
      registry: db.registry,
      interval: 0.1,
      retries: false,
    });
    workers.push(w);
    await w.start();
    const r = db.redis.client();
    await db.client.enqueue('off', 'FailsTwiceMore', []);
    await waitFor(async () => (await r.llen(keys.failed)) === 1, { what: 'the failure recorded' });
    assert.equal(await r.exists(keys.delayedSchedule), 0);
  });

  test('retries spent: one failure record, its payload saying which retry failed; bytes kept; backoff honoured', async () => {
    await startWorker('broken');
    const r = db.redis.client();
    // As a peer writes it: a big integer that a decode and encode would round.
    const payload = '{"class":"FailsTwiceMore","args":[12345678901234567890],"id":"f1"}';
    await r.rpush(keys.queue('broken'), payload);
    await r.sadd(keys.queues, 'broken');
    // The first retry is due at once; the second in 60 s (backoffStrategy [0, 60]).
    const [due] = await waitFor(
      async () => {
        await move();
        const s = await r.zrange(keys.delayedSchedule, 0, -1, 'WITHSCORES');
        return lines.some((l) => l.event === 'job.retry' && l.attempt === 2) && s.length > 0 && s;
      },
      { timeout: 10_000, what: 'the second retry scheduled' },
    );
    const now = Number((await r.time())[0]);
    assert.ok(Number(due) >= now + 58 && Number(due) <= now + 61, `due ${due}, now ${now}`);
    const [item] = await r.lrange(keys.delayed(due!), 0, -1);
    assert.equal(
      item,
      '{"class":"FailsTwiceMore","args":[12345678901234567890],"id":"f1","retry_attempt":2,"queue":"broken"}',
    );
    // Due now: it runs once more and fails for good.
    await r
      .multi()
      .zrem(keys.delayedSchedule, due!)
      .zadd(keys.delayedSchedule, now, now)
      .rename(keys.delayed(due!), keys.delayed(now))
      .exec();
    await r.del(keys.delayedTimestamps(item!));
    await waitFor(
      async () => {
        await move();
        return (await r.llen(keys.failed)) === 1;
      },
      { timeout: 10_000, what: 'the failure recorded' },
    );
    const [record] = (await db.client.failures.list()) as {
      payload: Record<string, unknown>;
      exception: string;
    }[];
    assert.equal(record!.exception, 'TypeError');
    assert.equal(record!.payload.retry_attempt, 2);
    assert.match((await r.lrange(keys.failed, 0, 0))[0]!, /"args":\[12345678901234567890\]/, 'exact bytes');
    assert.equal(await r.get(keys.statFailed), '3');
  });
});
