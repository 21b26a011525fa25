/**
 * Bad data in Redis (a key of the wrong type) never drops a job half-way: requeue.lua and
 * finish.lua on a real Redis, which keeps a script's writes made before an error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { finishHead } from '../../src/worker/outcome-batch.ts';
import { PutBack } from '../../src/worker/put-back.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';

const keys = resqueKeys();
const workerId = 'host:1:q,broken';

/** An in-flight entry as reserve.lua writes it. */
const entry = (n: number, queue: string, payload: string) =>
  Buffer.from([`t#${n}`, '2026-11-26T12:00:00Z', queue, payload].join('\0'));

const payload = (id: string) => JSON.stringify({ class: 'Echo', args: [id], id });

const waiting = (started: number) => `{"status":1,"updated":${started},"started":${started},"result":null}`;

describe('a key of the wrong type never drops a job half-way', () => {
  const db = useTestRedis({ flushEach: true });

  /** A PutBack whose log lines are kept, parsed. */
  const putBack = () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const r = defineScripts(db.redis.client());
    return { r, lines, putBack: new PutBack(r, keys, workerId, log, 600) };
  };

  test('requeue: a job whose queue key is not a list is failed (QueueNotAList), the others go back', async () => {
    const { r, lines, putBack: back } = putBack();
    await r.set(keys.queue('broken'), 'not a list');
    await r.set(keys.jobStatus('b1'), waiting(1000));
    const held = [
      entry(1, 'q', payload('g1')),
      entry(2, 'broken', payload('b1')),
      entry(3, 'q', payload('g2')),
    ];
    await r.rpush(keys.workerInflight(workerId), ...held);

    await back.unclaimed();

    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('g1'), payload('g2')]);
    assert.equal(await r.llen(keys.workerInflight(workerId)), 0);
    assert.equal(await r.exists(keys.worker(workerId)), 0);
    assert.equal(await r.get(keys.queue('broken')), 'not a list', 'the bad key is left for an operator');
    const failures = (await r.lrange(keys.failed, 0, -1)).map((f) => JSON.parse(f));
    assert.equal(failures.length, 1);
    assert.deepEqual(failures[0].payload, JSON.parse(payload('b1')));
    assert.equal(failures[0].exception, 'QueueNotAList');
    assert.match(failures[0].error, /resque:queue:broken is a string, not a list/);
    assert.equal(failures[0].queue, 'broken');
    assert.equal(failures[0].worker, workerId);
    assert.match(failures[0].failed_at, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.get(keys.statFailed), '1');
    const status = JSON.parse((await r.get(keys.jobStatus('b1')))!);
    assert.equal(status.status, 3, 'a tracked status ends failed, not waiting');
    assert.equal(status.started, 1000);
    assert.ok((await r.ttl(keys.jobStatus('b1'))) > 0, 'a final status expires');
    assert.ok(
      lines.some(
        (l) => l.event === 'worker.requeue-failed' && l.count === 1 && (l.queues as string[])[0] === 'broken',
      ),
    );
    assert.ok(lines.some((l) => l.event === 'worker.requeued-unclaimed' && l.count === 2));

    // The same call again (a lost reply): nothing is in flight any more, so nothing moves twice.
    await back.prefetched(held, 'stopping');
    assert.equal(await r.llen(keys.queue('q')), 2);
    assert.equal(await r.llen(keys.failed), 1);
    assert.equal(await r.get(keys.statFailed), '1');
  });

  test('requeue: with the failed list of the wrong type too, the job stays in flight', async () => {
    const { r, putBack: back } = putBack();
    await r.set(keys.queue('broken'), 'not a list');
    await r.hset(keys.failed, 'not', 'a list');
    await r.rpush(
      keys.workerInflight(workerId),
      entry(1, 'broken', payload('b1')),
      entry(2, 'q', payload('g1')),
    );

    await back.unclaimed();

    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('g1')]);
    assert.deepEqual(await r.lrange(keys.workerInflight(workerId), 0, -1), [
      entry(1, 'broken', payload('b1')).toString(),
    ]);
    const record = JSON.parse((await r.get(keys.worker(workerId)))!);
    assert.equal(record.queue, 'broken', 'the worker record shows the job still held');
    assert.equal(await r.exists(keys.statProcessed, keys.statFailed), 0);
  });

  test('requeue: a status key of the wrong type is skipped; the job still goes back', async () => {
    const { r, putBack: back } = putBack();
    await r.hset(keys.jobStatus('h1'), 'status', '2');
    await r.set(keys.jobStatus('t1'), waiting(1000));
    await r.rpush(keys.workerInflight(workerId), entry(1, 'q', payload('t1')), entry(2, 'q', payload('h1')));

    await back.unclaimed();

    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('t1'), payload('h1')]);
    assert.equal(await r.llen(keys.workerInflight(workerId)), 0);
    assert.equal(JSON.parse((await r.get(keys.jobStatus('t1')))!).status, 1);
    assert.deepEqual(await r.hgetall(keys.jobStatus('h1')), { status: '2' });
  });

  const finish = (...jobs: [Buffer, string, string][]) =>
    defineScripts(db.redis.client()).finish(
      ...finishHead(keys, workerId),
      1000,
      600,
      keys.jobStatusPrefix,
      ...jobs.flat(),
    );

  const failure = (id: string) =>
    JSON.stringify({ failed_at: 'x', payload: JSON.parse(payload(id)), exception: 'E', error: 'e' });

  test('finish: a status key of the wrong type is skipped; outcomes and counts are still recorded', async () => {
    const r = db.redis.client();
    await r.hset(keys.jobStatus('h1'), 'status', '2');
    await r.set(keys.jobStatus('t2'), waiting(900));
    const done: [Buffer, string, string][] = [
      [entry(1, 'q', payload('h1')), '', '"ok"'],
      [entry(2, 'q', payload('t2')), failure('t2'), ''],
      [entry(3, 'q', payload('u3')), '', ''],
    ];
    await r.rpush(keys.workerInflight(workerId), ...done.map(([e]) => e));

    assert.equal(await finish(...done), 3);

    assert.equal(await r.llen(keys.workerInflight(workerId)), 0);
    assert.equal(await r.get(keys.statProcessed), '3');
    assert.equal(await r.get(keys.statFailed), '1');
    assert.equal(await r.get(keys.workerStatProcessed(workerId)), '3');
    assert.equal(await r.get(keys.workerStatFailed(workerId)), '1');
    assert.deepEqual(await r.lrange(keys.failed, 0, -1), [failure('t2')]);
    assert.equal(JSON.parse((await r.get(keys.jobStatus('t2')))!).status, 3);
    assert.deepEqual(await r.hgetall(keys.jobStatus('h1')), { status: '2' });
    assert.equal(await finish(...done), 0, 'sent again: counted once');
    assert.equal(await r.get(keys.statProcessed), '3');
  });

  test('finish: a failed list of the wrong type fails the call before any write; it goes through once repaired', async () => {
    const r = db.redis.client();
    await r.set(keys.failed, 'not a list');
    const done: [Buffer, string, string][] = [
      [entry(1, 'q', payload('g1')), '', ''],
      [entry(2, 'q', payload('f2')), failure('f2'), ''],
    ];
    await r.rpush(keys.workerInflight(workerId), ...done.map(([e]) => e));

    await assert.rejects(finish(...done), /WRONGTYPE resque:failed is a string, not a list/);
    assert.equal(await r.llen(keys.workerInflight(workerId)), 2, 'both jobs still in flight');
    assert.equal(await r.exists(keys.statProcessed, keys.statFailed), 0);

    await r.del(keys.failed);
    assert.equal(await finish(...done), 2);
    assert.deepEqual(await r.lrange(keys.failed, 0, -1), [failure('f2')]);
    assert.equal(await r.get(keys.statProcessed), '2');
    assert.equal(await r.get(keys.statFailed), '1');
  });

  test('finish: a counter that cannot be incremented is left as it is; the rest is recorded', async () => {
    const r = db.redis.client();
    await r.hset(keys.statProcessed, 'not', 'a counter');
    await r.zadd(keys.idleWorkers, 2, workerId);
    const done: [Buffer, string, string][] = [[entry(1, 'q', payload('g1')), '', '']];
    await r.rpush(keys.workerInflight(workerId), done[0]![0], entry(2, 'q', payload('g2')));

    assert.equal(await finish(...done), 1);

    assert.equal(await r.llen(keys.workerInflight(workerId)), 1);
    assert.equal(await r.get(keys.workerStatProcessed(workerId)), '1');
    assert.equal(await r.zscore(keys.idleWorkers, workerId), '3');
    assert.equal(JSON.parse((await r.get(keys.worker(workerId)))!).payload.id, 'g2');
    assert.deepEqual(await r.hgetall(keys.statProcessed), { not: 'a counter' });
  });
});
