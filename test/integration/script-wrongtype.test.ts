/**
 * Bad data in Redis (a key of the wrong type) never drops a job half-way: requeue.lua, finish.lua,
 * recover.lua, reserve.lua and enqueue.lua on a real Redis, which keeps a script's writes made before an error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ResqueClient } from '../../src/client/client.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { pruneDeadWorkers } from '../../src/recovery/prune-dead-workers.ts';
import { type RecoverOptions, recoverWorker } from '../../src/recovery/recover-worker.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { finishHead } from '../../src/worker/outcome-batch.ts';
import { PutBack } from '../../src/worker/put-back.ts';
import { reserveKeys } from '../../src/worker/reserve-round-trip.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;

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

  test('requeue: an in-flight key someone overwrote: the entries the worker holds go back once, and the call succeeds', async () => {
    const { r, putBack: back } = putBack();
    const held = [entry(1, 'q', payload('g1')), entry(2, 'q', payload('g2'))];
    await r.set(keys.workerInflight(workerId), 'not a list');
    // It raised after each push before, and the worker's retry every second pushed them again.
    await back.prefetched(held, 'stopping');
    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('g1'), payload('g2')]);
    assert.equal(await r.get(keys.workerInflight(workerId)), 'not a list', 'left as it is');
    await back.unclaimed(); // nothing it can read to put back
    assert.equal(await r.llen(keys.queue('q')), 2);
  });

  test('requeue: an entry without its separators is left in flight; the others go back', async () => {
    const { r, putBack: back } = putBack();
    await r.rpush(
      keys.workerInflight(workerId),
      entry(1, 'q', payload('g1')),
      'not an entry',
      entry(2, 'q', payload('g2')),
    );
    await back.unclaimed();
    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('g1'), payload('g2')]);
    assert.deepEqual(await r.lrange(keys.workerInflight(workerId), 0, -1), ['not an entry']);
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

  /** reserve.lua as a worker on queue q calls it, taking up to 5 jobs. */
  const reserve = (token: string) =>
    defineScripts(db.redis.client()).reserveBuffer(
      ...reserveKeys(keys, workerId),
      token,
      5,
      '2026-11-26T12:00:00Z',
      workerId,
      keys.queuePrefix,
      keys.jobStatusPrefix,
      '',
      'q',
    );

  const finish = (...jobs: [Buffer, string, string][]) =>
    defineScripts(db.redis.client()).finish(
      ...finishHead(keys, workerId),
      1000,
      600,
      keys.jobStatusPrefix,
      3,
      keys.prefix,
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

  test('finish: a failed list of the wrong type keeps the failed jobs in flight, records the rest; all goes through once repaired', async () => {
    const r = db.redis.client();
    await r.set(keys.failed, 'not a list');
    const done: [Buffer, string, string][] = [
      [entry(1, 'q', payload('g1')), '', ''],
      [entry(2, 'q', payload('f2')), failure('f2'), ''],
    ];
    await r.rpush(keys.workerInflight(workerId), ...done.map(([e]) => e));

    assert.deepEqual(await finish(...done), [1, [2], [], []], '1 recorded; the job at position 2 left');
    assert.deepEqual(await r.lrange(keys.workerInflight(workerId), 0, -1), [done[1]![0].toString()]);
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.exists(keys.statFailed), 0);
    assert.deepEqual(await finish(...done), [0, [2], [], []], 'sent again: nothing counted twice');

    await r.del(keys.failed);
    assert.equal(await finish(...done), 1);
    assert.deepEqual(await r.lrange(keys.failed, 0, -1), [failure('f2')]);
    assert.equal(await r.get(keys.statProcessed), '2');
    assert.equal(await r.get(keys.statFailed), '1');
    assert.equal(await r.llen(keys.workerInflight(workerId)), 0);
  });

  test("finish: a retry whose schedule keys are broken records the job's failure instead; with the failed list broken too, it stays in flight", async () => {
    const r = db.redis.client();
    const retryFinish = (e: Buffer, id: string, at: number) =>
      defineScripts(r).finish(
        ...finishHead(keys, workerId),
        1000,
        600,
        keys.jobStatusPrefix,
        5,
        keys.prefix,
        ...[e, failure(id), '', String(at), `{"retry":"${id}"}`],
      );
    await r.set(keys.delayed(5000), 'not a list');
    const e1 = entry(1, 'q', payload('r1'));
    await r.rpush(keys.workerInflight(workerId), e1);
    assert.deepEqual(await retryFinish(e1, 'r1', 5000), [1, [], [1], []], 'its retry refused');
    assert.deepEqual(await r.lrange(keys.failed, 0, -1), [failure('r1')], 'recorded as a failure, not lost');
    assert.equal(await r.exists(keys.delayedSchedule), 0);

    await r.del(keys.failed);
    await r.set(keys.failed, 'not a list either');
    const e2 = entry(2, 'q', payload('r2'));
    await r.rpush(keys.workerInflight(workerId), e2);
    assert.deepEqual(await retryFinish(e2, 'r2', 5000), [0, [1], [], []], 'left in flight');
    assert.deepEqual(await r.lrange(keys.workerInflight(workerId), 0, -1), [e2.toString()]);

    await r.del(keys.delayed(5000));
    assert.equal(
      await retryFinish(e2, 'r2', 5000),
      1,
      'once the schedule is repaired, the retry goes through',
    );
    assert.deepEqual(await r.lrange(keys.delayed(5000), 0, -1), ['{"retry":"r2"}']);
    assert.deepEqual(
      await retryFinish(e2, 'r2', 5000),
      [0, [], [], [1]],
      'sent again (its reply lost): no longer in flight, said so, as what the first call did is not known here',
    );
    assert.deepEqual(await r.lrange(keys.delayed(5000), 0, -1), ['{"retry":"r2"}'], 'not scheduled twice');
    assert.deepEqual(await r.zrange(keys.delayedSchedule, 0, -1), ['5000']);
    assert.equal(await r.llen(keys.workerInflight(workerId)), 0);
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

  /** A dead worker of ours as the supervisor or the pruner finds it: registered, silent, holding jobs. */
  const deadWorker = async (...held: Buffer[]) => {
    const r = defineScripts(db.redis.client());
    await r.sadd(keys.workers, workerId);
    await r.hset(keys.heartbeats, workerId, '2020-01-01T00:00:00Z');
    await r.hset(keys.ourWorkers, workerId, JSON.stringify({ host: 'gone', pidns: '', pid: 1, beat: 0 }));
    await r.set(keys.workerStarted(workerId), '2020-01-01 00:00:00 +0000');
    await r.rpush(keys.workerInflight(workerId), ...held);
    return r;
  };

  const recover = (options: Partial<RecoverOptions> = {}) =>
    recoverWorker(defineScripts(db.redis.client()), keys, workerId, { reason: 'SIGKILL', ...options });

  const failures = async () =>
    (await db.redis.client().lrange(keys.failed, 0, -1)).map(
      (f) =>
        JSON.parse(f) as {
          payload: unknown;
          exception: string;
          error: string;
          queue: string;
          worker: string;
        },
    );

  test('recover: a job whose queue key is not a list is failed (QueueNotAList), the others go back once', async () => {
    const r = await deadWorker(
      entry(1, 'q', payload('g1')),
      entry(2, 'broken', payload('b1')),
      entry(3, 'q', payload('g2')),
    );
    await r.set(keys.queue('broken'), 'not a list');
    await r.set(keys.jobStatus('b1'), waiting(1000));

    assert.deepEqual(await recover(), { requeued: 2, failed: 1 });

    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('g1'), payload('g2')]);
    assert.equal(await r.get(keys.queue('broken')), 'not a list', 'the bad key is left for an operator');
    const [failure, ...more] = await failures();
    assert.equal(more.length, 0);
    assert.deepEqual(failure!.payload, JSON.parse(payload('b1')));
    assert.equal(failure!.exception, 'QueueNotAList');
    assert.match(failure!.error, /resque:queue:broken is a string, not a list; SIGKILL$/);
    assert.equal(failure!.queue, 'broken');
    assert.equal(failure!.worker, workerId);
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.get(keys.statFailed), '1');
    const status = JSON.parse((await r.get(keys.jobStatus('b1')))!);
    assert.equal(status.status, 3);
    assert.ok((await r.ttl(keys.jobStatus('b1'))) > 0, 'a final status expires');
    assert.equal(
      await r.exists(keys.workerInflight(workerId), keys.worker(workerId), keys.workerStarted(workerId)),
      0,
    );
    assert.equal(await r.sismember(keys.workers, workerId), 0);
    assert.equal(await r.hexists(keys.heartbeats, workerId), 0);
    assert.equal(await r.hexists(keys.ourWorkers, workerId), 0);

    // Called again (a supervisor and the pruner, a reused id): nothing left to do, nothing counted.
    for (let i = 0; i < 4; i++) assert.deepEqual(await recover(), { requeued: 0, failed: 0 });
    assert.equal(await r.llen(keys.queue('q')), 2);
    assert.equal(await r.get(`${keys.recoveredPrefix}g1`), '1');
    assert.deepEqual(
      (await failures()).map((f) => f.exception),
      ['QueueNotAList'],
    );
  });

  test('recover: a status key of the wrong type is left as it is; the job still goes back (or fails)', async () => {
    const r = await deadWorker(entry(1, 'q', payload('t1')), entry(2, 'q', payload('h1')));
    await r.hset(keys.jobStatus('h1'), 'status', '2');
    await r.set(keys.jobStatus('t1'), waiting(1000));

    assert.deepEqual(await recover(), { requeued: 2, failed: 0 });

    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('t1'), payload('h1')]);
    assert.equal(await r.exists(keys.workerInflight(workerId)), 0);
    assert.equal(JSON.parse((await r.get(keys.jobStatus('t1')))!).status, 1);
    assert.deepEqual(await r.hgetall(keys.jobStatus('h1')), { status: '2' });

    await r.del(keys.queue('q'));
    await deadWorker(entry(3, 'q', payload('h1')));
    assert.deepEqual(await recover({ mode: 'fail' }), { requeued: 0, failed: 1 });
    assert.equal((await failures())[0]!.exception, 'DirtyExit');
    assert.deepEqual(await r.hgetall(keys.jobStatus('h1')), { status: '2' });
    assert.equal(await r.ttl(keys.jobStatus('h1')), -1);
  });

  test('recover: with the failed list of the wrong type too, that job stays in flight; the pruner ends it once repaired', async () => {
    const stuck = entry(2, 'broken', payload('b1'));
    const r = await deadWorker(entry(1, 'q', payload('g1')), stuck, entry(3, 'q', payload('g2')));
    await r.set(keys.queue('broken'), 'not a list');
    await r.hset(keys.failed, 'not', 'a list');

    assert.deepEqual(await recover(), { requeued: 2, failed: 0 });

    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('g1'), payload('g2')]);
    assert.deepEqual(await r.lrange(keys.workerInflight(workerId), 0, -1), [stuck.toString()]);
    assert.equal(
      JSON.parse((await r.get(keys.worker(workerId)))!).queue,
      'broken',
      'the record shows the job held',
    );
    assert.equal(await r.sismember(keys.workers, workerId), 0, 'unregistered: it is dead');
    assert.equal(await r.hexists(keys.heartbeats, workerId), 0);
    assert.equal(await r.hexists(keys.ourWorkers, workerId), 0);
    assert.equal(await r.exists(keys.workerStarted(workerId), keys.statProcessed, keys.statFailed), 0);
    assert.deepEqual(await r.hgetall(keys.failed), { not: 'a list' });

    // Tried again and again while the failed list is broken: nothing moves twice, nothing counts.
    for (let i = 0; i < 4; i++) assert.deepEqual(await recover(), { requeued: 0, failed: 0 });
    assert.equal(await r.llen(keys.queue('q')), 2);
    assert.equal(await r.llen(keys.workerInflight(workerId)), 1);
    assert.equal(await r.get(`${keys.recoveredPrefix}g1`), '1');
    assert.equal(await r.get(`${keys.recoveredPrefix}b1`), '0', 'not a PoisonJob once repaired');

    await r.del(keys.failed);
    const pruned = await pruneDeadWorkers(r, keys, { deadAfter: 60, reachableFor: 3600 });
    assert.deepEqual(
      pruned.pruned.map((p) => [p.workerId, p.rule, p.requeued, p.failed]),
      [[workerId, 'orphan', 0, 1]],
    );
    assert.deepEqual(
      (await failures()).map((f) => [f.exception, f.queue]),
      [['QueueNotAList', 'broken']],
    );
    assert.equal(await r.exists(keys.workerInflight(workerId), keys.worker(workerId)), 0);
  });

  test("recover: a peer's job the failed list cannot take leaves the worker as it was, for the pruner's next run", async () => {
    const r = defineScripts(db.redis.client());
    const peer = 'rubyhost:9:broken';
    const record = `{"queue":"broken","run_at":"2026-01-12T20:23:55Z","payload":${payload('p1')}}`;
    await r.sadd(keys.workers, peer);
    await r.hset(keys.heartbeats, peer, '2020-01-01T00:00:00Z');
    await r.set(keys.worker(peer), record);
    await r.set(keys.queue('broken'), 'not a list');
    await r.set(keys.failed, 'not a list');
    const guard = { kind: 'heartbeat', seenHeartbeat: '2020-01-01T00:00:00Z' } as const;

    assert.deepEqual(await recoverWorker(r, keys, peer, { reason: 'stale', guard }), {
      requeued: 0,
      failed: 0,
    });

    assert.equal(await r.get(keys.worker(peer)), record);
    assert.equal(await r.sismember(keys.workers, peer), 1);
    assert.equal(await r.hget(keys.heartbeats, peer), '2020-01-01T00:00:00Z');
    assert.equal(await r.get(`${keys.recoveredPrefix}p1`), '0');

    await r.del(keys.failed);
    assert.deepEqual(await recoverWorker(r, keys, peer, { reason: 'stale', guard }), {
      requeued: 0,
      failed: 1,
    });
    assert.equal((await failures())[0]!.exception, 'QueueNotAList');
    assert.equal(await r.exists(keys.worker(peer)), 0);
    assert.equal(await r.sismember(keys.workers, peer), 0);
  });

  test('a worker started with the id of a dead one whose job cannot go back still starts', async () => {
    const r = await deadWorker(entry(1, 'broken', payload('b1')), entry(2, 'q', payload('h1')));
    await r.set(keys.queue('broken'), 'not a list');
    await r.hset(keys.jobStatus('h1'), 'status', '2');
    const registry = await new JobRegistry().load([FIXTURES]);
    const worker = new Worker({ redisUrl: db.redis.url, queues: ['none'], registry, id: workerId });
    try {
      await worker.start();
      assert.deepEqual(
        (await failures()).map((f) => f.exception),
        ['QueueNotAList'],
      );
      assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('h1')]);
      assert.equal(await r.llen(keys.workerInflight(workerId)), 0);
    } finally {
      await worker.stop();
    }
  });

  test('reserve: an idle set of the wrong type costs the hand-offs, not the jobs popped', async () => {
    const r = defineScripts(db.redis.client());
    await r.flushall();
    await r.hset(keys.idleWorkers, 'not', 'a zset');
    await r.rpush(keys.queue('q'), payload('i1'));
    const [state, ...taken] = await reserve('tok-i');
    assert.equal(String(state), 'idle');
    assert.deepEqual(
      taken.map((e) => String(e).split('\0')[3]),
      [payload('i1')],
    );
    assert.equal(await r.llen(keys.workerInflight(workerId)), 1, 'in flight, not lost');
    const [again, ...same] = await reserve('tok-i');
    assert.equal(String(again), 'again');
    assert.deepEqual(same.map(String), taken.map(String));
    await r.flushall();
  });

  test('reserve: a tracked job whose status key is of the wrong type is still reserved, and runs', async () => {
    const r = defineScripts(db.redis.client());
    await r.hset(keys.jobStatus('h1'), 'status', '2');
    await r.set(keys.jobStatus('t1'), waiting(1000));
    await r.rpush(keys.queue('q'), payload('h1'), payload('t1'));

    const [state, ...taken] = await reserve('tok');
    assert.equal(String(state), 'idle');
    assert.deepEqual(
      taken.map((e) => String(e).split('\0')[3]),
      [payload('h1'), payload('t1')],
    );
    assert.equal(await r.llen(keys.workerInflight(workerId)), 2);
    assert.equal(await r.llen(keys.queue('q')), 0);
    assert.equal(
      JSON.parse((await r.get(keys.jobStatus('t1')))!).status,
      2,
      'the other job is marked running',
    );
    assert.deepEqual(await r.hgetall(keys.jobStatus('h1')), { status: '2' });
    await r.del(
      keys.workerInflight(workerId),
      keys.workerLastReserve(workerId),
      keys.worker(workerId),
      keys.idleWorkers,
    );

    await r.rpush(keys.queue('q'), payload('h2'));
    await r.hset(keys.jobStatus('h2'), 'status', '1');
    const registry = await new JobRegistry().load([FIXTURES]);
    const worker = new Worker({ redisUrl: db.redis.url, queues: ['q'], registry, interval: 0.2 });
    try {
      await worker.start();
      await waitFor(async () => (await r.get(keys.statProcessed)) === '1', { what: 'the job run' });
      assert.equal(await r.get(keys.statFailed), null);
      assert.equal(await r.llen(keys.workerInflight(worker.id)), 0);
      assert.deepEqual(await r.hgetall(keys.jobStatus('h2')), { status: '1' });
    } finally {
      await worker.stop();
    }
  });

  test('a worker whose failed jobs cannot be recorded (failed list broken) runs the others at full speed, pauses, and waits at its stop until it is repaired', async () => {
    const r = db.redis.client();
    await r.flushall();
    await r.set(keys.failed, 'not a list');
    const registry = await new JobRegistry().load([FIXTURES]);
    // One job at a time: each round trip would be due, and back off 1 s, if the kept failure made it so.
    const worker = new Worker({ redisUrl: db.redis.url, queues: ['q'], registry, interval: 0.2 });
    let stopped = false;
    try {
      await worker.start();
      await r.rpush(keys.queue('q'), '{"class":"Boom","args":["x"]}');
      await waitFor(async () => (await r.llen(keys.queue('q'))) === 0 && worker.busy === 0);
      const echos = Array.from({ length: 20 }, (_, n) => `{"class":"Echo","args":[${n}]}`);
      await r.rpush(keys.queue('q'), ...echos);
      // 20 no-op jobs take milliseconds; a 1 s back-off after each would take 20 s.
      await waitFor(async () => (await r.get(keys.statProcessed)) === '20', {
        what: 'the 20 Echos recorded',
        timeout: 5000,
      });
      assert.equal(await r.llen(keys.workerInflight(worker.id)), 1, 'Boom still in flight');

      const paused = new Promise<void>((res) => worker.once('paused', res));
      worker.pause();
      await paused;
      worker.resume();

      const stopping = worker.stop().then(() => {
        stopped = true;
      });
      await new Promise((res) => setTimeout(res, 300)); // the window in which the stop must wait
      assert.equal(stopped, false, 'the stop waits for the failure to be recorded');
      await r.del(keys.failed);
      await stopping;
      assert.equal(await r.llen(keys.failed), 1, 'Boom recorded once repaired');
      assert.equal(await r.get(keys.statFailed), '1');
      assert.equal(await r.llen(keys.workerInflight(worker.id)), 0);
    } finally {
      if (!stopped) {
        await r.del(keys.failed);
        await worker.stop();
      }
    }
  });

  test('reserve: an in-flight list of the wrong type takes no job: they go back to their queue, in order', async () => {
    const r = defineScripts(db.redis.client());
    await r.flushall();
    await r.set(keys.workerInflight(workerId), 'not a list');
    await r.rpush(keys.queue('q'), payload('o1'), payload('o2'), payload('o3'));
    await assert.rejects(reserve('tok-o'), /WRONGTYPE/);
    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload('o1'), payload('o2'), payload('o3')]);
    await r.flushall();
  });

  test('enqueue: an idle worker whose in-flight list is of the wrong type is left out of hand-offs; every job is enqueued and runs', async () => {
    const r = db.redis.client();
    await r.flushall();
    const registry = await new JobRegistry().load([FIXTURES]);
    const worker = new Worker({ redisUrl: db.redis.url, queues: ['q'], registry, interval: 30 });
    const client = new ResqueClient({ redisUrl: db.redis.url });
    const broken = 'host:2:q';
    try {
      const idle = new Promise<void>((res) => worker.once('idle', res));
      await worker.start();
      await idle;
      // A second idle worker with as much room, whose in-flight list someone overwrote: whichever
      // of the two the first job goes to, the other one's turn comes within the batch.
      await r.hset(keys.ourWorkers, broken, '{"queues":["q"]}');
      const room = Number(await r.zscore(keys.idleWorkers, worker.id));
      assert.ok(room > 0, 'the worker waits in the idle set');
      await r.zadd(keys.idleWorkers, room, broken);
      await r.set(keys.workerInflight(broken), 'not a list');
      const ids = await client.enqueueMany(
        'q',
        [1, 2, 3].map((n) => ({ className: 'Echo', args: [n] })),
      );
      assert.equal(ids.length, 3);
      await waitFor(async () => (await r.get(keys.statProcessed)) === '3', { what: 'all three jobs run' });
      assert.equal(await r.zscore(keys.idleWorkers, broken), null, 'the broken worker leaves the idle set');
      assert.equal(await r.get(keys.workerInflight(broken)), 'not a list');
      assert.equal(await r.llen(keys.queue('q')), 0);
    } finally {
      await client.close();
      await worker.stop();
      await r.flushall();
    }
  });

  test('enqueue: a pause flag of the wrong type reads as unset, as in reserve.lua; the job is handed off', async () => {
    const r = db.redis.client();
    await r.flushall();
    const registry = await new JobRegistry().load([FIXTURES]);
    const worker = new Worker({ redisUrl: db.redis.url, queues: ['q'], registry, interval: 30 });
    const client = new ResqueClient({ redisUrl: db.redis.url });
    try {
      const idle = new Promise<void>((res) => worker.once('idle', res));
      await worker.start();
      await idle;
      await r.hset(keys.pauseAllWorkers, 'not', 'a flag');
      await client.enqueue('q', 'Echo', []);
      await waitFor(async () => (await r.get(keys.statProcessed)) === '1', {
        what: 'the job handed off and run',
      });
    } finally {
      await client.close();
      await worker.stop();
      await r.flushall();
    }
  });
});
