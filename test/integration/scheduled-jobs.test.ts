/**
 * Scheduled jobs (enqueueAt / enqueueIn) in resque-scheduler's layout, and the scheduler's move of
 * due ones onto their queues (schedule.lua): ours and Ruby's items, bytes kept, bad items failed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FailureRecord } from '../../src/client/failures.ts';
import { silentLogger } from '../../src/log.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { moveDueJobs } from '../../src/scheduler/move-due-jobs.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('scheduled jobs', () => {
  const workers: Worker[] = [];
  const db = useTestRedis({
    jobs: [FIXTURES],
    flushEach: true,
    release: () => Promise.all(workers.splice(0).map((w) => w.stop())),
  });
  const move = () => moveDueJobs(defineScripts(db.redis.client()), keys, silentLogger);
  const redisNow = async () => Number((await db.redis.client().time())[0]);

  test("enqueueIn writes resque-scheduler's keys; the job is moved once due, bytes unchanged, keys cleaned", async () => {
    const r = db.redis.client();
    const before = await redisNow();
    const id = await db.client.enqueueIn(1, 'mail', 'Echo', [{ to: 'ann' }], { trackStatus: true });
    const [ts] = await r.zrange(keys.delayedSchedule, 0, -1);
    assert.ok(Number(ts) >= before + 1 && Number(ts) <= before + 3, `${ts} vs ${before}`);
    const [item] = await r.lrange(keys.delayed(Number(ts)), 0, -1);
    assert.deepEqual(JSON.parse(item!), { class: 'Echo', args: [{ to: 'ann' }], queue: 'mail', id });
    assert.deepEqual(
      await r.smembers(keys.delayedTimestamps(item!)),
      [`delayed:${ts}`],
      "Ruby's member: no namespace",
    );
    assert.equal((await db.client.status(id)).status, 'waiting');
    assert.deepEqual(await move(), { moved: 0, failed: 0 }, 'not due yet');
    assert.equal(await db.client.size('mail'), 0);

    await waitFor(async () => (await move()).moved === 1, { timeout: 5000, what: 'the job moved once due' });
    assert.deepEqual(await r.lrange(keys.queue('mail'), 0, -1), [item]);
    assert.deepEqual(await r.smembers(keys.queues), ['mail']);
    assert.equal(
      await r.exists(keys.delayedSchedule, keys.delayed(Number(ts)), keys.delayedTimestamps(item!)),
      0,
    );
    assert.deepEqual(await move(), { moved: 0, failed: 0 }, 'moved once');
  });

  test('removeScheduled and cancelScheduled take jobs out of the schedule, keys and statuses with them', async () => {
    const r = db.redis.client();
    const at = Date.now() + 3_600_000;
    const ts = Math.ceil(at / 1000);
    const one = await db.client.enqueueAt(at, 'mail', 'Echo', [1], { trackStatus: true });
    const two = await db.client.enqueueAt(at, 'mail', 'Echo', [2], { trackStatus: true });
    const other = await db.client.enqueueAt(at + 60_000, 'other', 'Echo', [1]);
    // As Ruby's enqueue_at writes it: no id, another key order.
    const ruby = '{"args":[1],"class":"Echo","queue":"mail"}';
    // As node-resque writes it: its set's member carries the namespace.
    const node = '{"class":"Echo","queue":"mail","args":[1]}';
    await r
      .multi()
      .rpush(keys.delayed(ts), ruby, node)
      .sadd(keys.delayedTimestamps(ruby), keys.delayedMember(ts))
      .sadd(keys.delayedTimestamps(node), keys.delayed(ts))
      .exec();

    assert.equal(
      await db.client.removeScheduled('mail', 'Echo', [1]),
      3,
      "ours, Ruby's and node-resque's, not the other queue's",
    );
    assert.equal((await db.client.status(one)).status, 'unknown');
    assert.equal(await r.exists(keys.delayedTimestamps(ruby), keys.delayedTimestamps(node)), 0);
    assert.equal(await db.client.cancelScheduled(two), true);
    assert.equal(await db.client.cancelScheduled(two), false, 'once');
    assert.equal((await db.client.status(two)).status, 'unknown');
    assert.equal(await r.exists(keys.delayed(ts)), 0, 'the emptied timestamp goes');
    assert.deepEqual(await r.zrange(keys.delayedSchedule, 0, -1), [String(ts + 60)]);
    assert.equal(await db.client.cancelScheduled(other), true);
    assert.deepEqual(await r.keys('*'), [], 'nothing left behind');
    assert.equal(await db.client.cancelScheduled('no-such-id'), false);
  });

  test("a job Ruby's resque-scheduler scheduled is moved byte for byte; a time past is due at once", async () => {
    const r = db.redis.client();
    const past = (await redisNow()) - 10;
    // As Ruby writes it: no id, a big integer and 1.0 that a decode and encode would change.
    const ruby = '{"class":"Echo","args":[12345678901234567890,1.0],"queue":"ruby"}';
    await r
      .multi()
      .rpush(keys.delayed(past), ruby)
      .sadd(keys.delayedTimestamps(ruby), keys.delayedMember(past))
      .zadd(keys.delayedSchedule, past, past)
      .exec();
    const ours = await db.client.enqueueAt(new Date(Date.now() - 60_000), 'ruby', 'Echo', ['ours']);
    assert.deepEqual(await move(), { moved: 2, failed: 0 });
    // In the order they were due: ours (a minute ago) first.
    const queued = await r.lrange(keys.queue('ruby'), 0, -1);
    assert.equal(JSON.parse(queued[0]!).id, ours);
    assert.equal(queued[1], ruby);
    assert.equal(await r.zcard(keys.delayedSchedule), 0);
  });

  test('items that cannot be routed are failed (InvalidPayload, QueueNotAList), never dropped or retried each second', async () => {
    const r = db.redis.client();
    const past = (await redisNow()) - 5;
    await r.set(keys.queue('broken'), 'not a list');
    const items = ['not json', '{"class":"Echo","args":[]}', '{"class":"Echo","args":[],"queue":"broken"}'];
    await r.rpush(keys.delayed(past), ...items);
    await r.zadd(keys.delayedSchedule, past, past);
    assert.deepEqual(await move(), { moved: 0, failed: 3 });
    const failures = (await db.client.failures.list()) as FailureRecord[];
    assert.deepEqual(
      failures.map((f) => [f.exception, f.queue]),
      [
        ['InvalidPayload', ''],
        ['InvalidPayload', ''],
        ['QueueNotAList', 'broken'],
      ],
    );
    assert.equal(failures[0]!.payload, 'not json');
    assert.deepEqual(failures[1]!.payload, { class: 'Echo', args: [] });
    assert.equal(await r.get(keys.statFailed), '3');
    assert.equal(await r.zcard(keys.delayedSchedule), 0);
    assert.deepEqual(await move(), { moved: 0, failed: 0 });
  });

  test("while Ruby's resque-scheduler holds its master lock, nothing is moved (its batches would duplicate and lose jobs)", async () => {
    const r = db.redis.client();
    await db.client.enqueueAt(Date.now() - 5000, 'ruby-owned', 'Echo');
    // Older resque-schedulers' key, then newer ones' (the namespace twice).
    for (const lock of [
      'resque:resque_scheduler_master_lock',
      'resque:resque:resque_scheduler_master_lock',
    ]) {
      await r.set(lock, 'rubyhost:123', 'EX', 180);
      assert.deepEqual(await move(), { moved: 0, failed: 0 }, lock);
      assert.equal(await db.client.size('ruby-owned'), 0);
      await r.del(lock);
    }
    assert.deepEqual(await move(), { moved: 1, failed: 0 });
  });

  test('a tracked job that cannot be routed ends failed (with a TTL); with the failed list broken too, it stays scheduled and findable', async () => {
    const r = db.redis.client();
    await r.set(keys.queue('broken'), 'not a list');
    const id = await db.client.enqueueAt(Date.now() - 5000, 'broken', 'Echo', [], { trackStatus: true });
    await r.set(keys.failed, 'not a list either');
    await assert.rejects(move(), /failed is not a list/);
    const [ts] = await r.zrange(keys.delayedSchedule, 0, -1);
    const [item] = await r.lrange(keys.delayed(Number(ts)), 0, -1);
    assert.equal(JSON.parse(item!).id, id, 'still scheduled');
    assert.deepEqual(
      await r.smembers(keys.delayedTimestamps(item!)),
      [keys.delayedMember(ts!)],
      'and findable',
    );
    await r.del(keys.failed);
    assert.deepEqual(await move(), { moved: 0, failed: 1 });
    assert.equal((await db.client.status(id)).status, 'failed');
    assert.ok((await r.ttl(keys.jobStatus(id))) > 0);
  });

  test('an idle worker runs a job moved onto its queue at once (told to reserve), not at its next poll', async () => {
    const w = new Worker({ redisUrl: db.redis.url, queues: ['soon'], registry: db.registry, interval: 60 });
    workers.push(w);
    await w.start();
    await waitFor(async () => (await db.redis.client().zcard(keys.idleWorkers)) === 1, {
      what: 'idle worker',
    });
    const id = await db.client.enqueueAt(Date.now() - 1000, 'soon', 'Echo', ['now'], { trackStatus: true });
    assert.deepEqual(await move(), { moved: 1, failed: 0 });
    await waitFor(async () => (await db.client.status(id)).status === 'complete', {
      timeout: 3000,
      what: 'the job run well before the 60 s poll',
    });
  });

  test('bad input to enqueueAt / enqueueIn is refused before anything is written', async () => {
    await assert.rejects(db.client.enqueueAt(Number.NaN, 'q', 'Echo'), /not a time/);
    await assert.rejects(db.client.enqueueIn(-1, 'q', 'Echo'), /seconds must be >= 0/);
    await assert.rejects(db.client.enqueueIn(1, 'a,b', 'Echo'), /invalid queue name/);
    await assert.rejects(db.client.enqueueIn(1, 'q', ''), /class name/);
    assert.deepEqual(await db.redis.client().keys('*'), []);
  });
});
