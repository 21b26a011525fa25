import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { Hooked, Sleepy, StuckOnFailure } from '../fixtures/jobs/basic.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('worker round trip', () => {
  const workers: Worker[] = [];
  const db = useTestRedis({
    jobs: [FIXTURES],
    flushEach: true,
    release: () => Promise.all(workers.splice(0).map((w) => w.stop())),
  });

  async function startWorker(opts: Partial<WorkerOptions> = {}): Promise<Worker> {
    const w = new Worker({
      redisUrl: db.redis.url,
      queues: ['default'],
      registry: db.registry,
      interval: 0.2,
      ...opts,
    });
    workers.push(w);
    await w.start();
    return w;
  }

  test('enqueue writes Resque payload and keys; a worker runs it and counts it', async () => {
    const r = db.redis.client();
    const id = await db.client.enqueue('default', 'Echo', [1, 'two', { three: 3 }], { trackStatus: true });
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.deepEqual(await r.smembers(keys.queues), ['default']);
    const [raw] = await r.lrange(keys.queue('default'), 0, -1);
    const payload = JSON.parse(raw!);
    assert.deepEqual(Object.keys(payload), ['class', 'args', 'id', 'queue_time']);
    assert.equal(payload.class, 'Echo');
    assert.deepEqual(payload.args, [1, 'two', { three: 3 }]);
    // The status is stamped by enqueue.lua with Redis' clock, a round trip after queue_time.
    const waiting = await db.client.status(id);
    const stamped = waiting.updated ?? Number.NaN;
    assert.ok(stamped - (payload.queue_time | 0) <= 1 && stamped >= (payload.queue_time | 0), `${stamped}`);
    assert.deepEqual(waiting, {
      status: 'waiting',
      code: 1,
      updated: stamped,
      started: stamped,
      result: null,
    });

    const w = await startWorker();
    const s = await waitFor(async () => {
      const st = await db.client.status(id);
      return st.status === 'complete' && st;
    });
    assert.deepEqual(s.result, {
      args: [1, 'two', { three: 3 }],
      queue: 'default',
      jobId: id,
      workerId: w.id,
    });
    const ttl = await r.ttl(keys.jobStatus(id));
    assert.ok(ttl > 86000 && ttl <= 86400, `status TTL ${ttl}`);
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.get(keys.workerStatProcessed(w.id)), '1');
    assert.equal(await r.get(keys.statFailed), null);
    assert.equal(await r.llen(keys.workerInflight(w.id)), 0);
    assert.equal(await r.exists(keys.worker(w.id)), 0);
  });

  test('registers as a Resque worker, heartbeats with Redis time, unregisters on stop', async () => {
    const r = db.redis.client();
    const w = await startWorker({ queues: ['high', 'default'] });
    assert.match(w.id, new RegExp(`^[^:]+:${process.pid}:high,default$`));
    assert.deepEqual(await r.smembers(keys.workers), [w.id]);
    const started = await r.get(keys.workerStarted(w.id));
    assert.ok(started && !Number.isNaN(Date.parse(started)));
    const beat = await r.hget(keys.heartbeats, w.id);
    assert.match(beat ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const [secs] = await r.time();
    assert.ok(Math.abs(Date.parse(beat!) / 1000 - Number(secs)) < 5);
    const infos = await db.client.workers();
    assert.equal(infos.length, 1);
    assert.deepEqual(infos[0]!.queues, ['high', 'default']);
    await w.stop();
    assert.deepEqual(await r.smembers(keys.workers), []);
    assert.equal(await r.hget(keys.heartbeats, w.id), null);
    assert.equal(await r.exists(keys.workerStarted(w.id)), 0);
  });

  test('takes jobs in queue priority order', async () => {
    const order: string[] = [];
    await db.client.enqueue('low', 'Echo', ['low-1']);
    await db.client.enqueue('default', 'Echo', ['default-1']);
    await db.client.enqueue('high', 'Echo', ['high-1']);
    await db.client.enqueue('high', 'Echo', ['high-2']);
    const w = await startWorker({ queues: ['high', 'default', 'low'] });
    w.on('job', (j) => order.push(`${j.queue}`));
    await waitFor(() => order.length === 4);
    assert.deepEqual(order, ['high', 'high', 'default', 'low']);
  });

  test('* takes from every queue, alphabetically', async () => {
    const order: string[] = [];
    for (const q of ['zeta', 'alpha', 'mid']) await db.client.enqueue(q, 'Echo', [q]);
    const w = await startWorker({ queues: ['*'] });
    w.on('job', (j) => order.push(j.queue));
    await waitFor(() => order.length === 3);
    assert.deepEqual(order, ['alpha', 'mid', 'zeta']);
  });

  test('a glob takes matching queues alphabetically; exact names keep their place', async () => {
    const order: string[] = [];
    for (const q of ['mail-b', 'other', 'mail-a', 'urgent']) await db.client.enqueue(q, 'Echo', [q]);
    const w = await startWorker({ queues: ['urgent', 'mail*'] });
    w.on('job', (j) => order.push(j.queue));
    await waitFor(() => order.length === 3);
    assert.deepEqual(order, ['urgent', 'mail-a', 'mail-b']);
    assert.equal(await db.client.size('other'), 1);
  });

  test('Ruby\'s pause-all-workers key pauses our workers too, only when it is "true" (Ruby\'s rule)', async () => {
    const r = db.redis.client();
    await r.set(keys.pauseAllWorkers, ' TRUE\n');
    await startWorker();
    await db.client.enqueue('default', 'Echo', []);
    await new Promise((res) => setTimeout(res, 400)); // two poll intervals in which the job must stay queued
    assert.equal(await db.client.size('default'), 1);
    // A tool that resumes Ruby's workers by setting "false" resumes ours too.
    await r.set(keys.pauseAllWorkers, 'false');
    await waitFor(async () => (await db.client.size('default')) === 0);
    await db.client.enqueue('default', 'Echo', []);
    await waitFor(async () => (await r.get(keys.statProcessed)) === '2', { what: 'a job enqueued after' });
  });

  test('an idle worker picks up a new job at once, without polling (interval 30 s)', async () => {
    const w = await startWorker({ interval: 30 });
    await new Promise<void>((r) => w.once('idle', r));
    const done = new Promise<void>((r) => w.once('job', () => r()));
    const t0 = performance.now();
    await db.client.enqueue('default', 'Echo', []);
    await done;
    assert.ok(performance.now() - t0 < 1000, 'picked up well before the 30 s poll');
  });

  for (const prefetch of [0, 20]) {
    test(`a stream of single enqueues is picked up as it comes, never left for the poll (prefetch ${prefetch})`, async () => {
      // Jobs arriving while the worker's own reserve is in flight are the race: the wake-up for
      // such a job must not be lost to that reserve's empty reply.
      const w = await startWorker({ interval: 30, concurrency: 5, prefetch });
      await new Promise<void>((r) => w.once('idle', r));
      let ran = 0;
      w.on('job', () => ran++);
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) {
        await db.client.enqueue('default', 'Echo', [i]);
        await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => ran === 100, { timeout: 5000, what: 'all 100 jobs run' });
      assert.ok(performance.now() - t0 < 5000, 'well before the 30 s poll');
    });
  }

  test('an idle worker is handed a new job by the enqueue itself: no reserve, one finish', async () => {
    const r = db.redis.client();
    const w = await startWorker({ interval: 30, concurrency: 5, prefetch: 5 });
    await new Promise<void>((res) => w.once('idle', res));
    assert.equal(await r.zscore(keys.idleWorkers, w.id), '10', 'in the idle set with its room');
    const scriptCalls = async () => {
      const stats = await r.info('commandstats');
      // EVAL the first time ioredis runs a script on this server, EVALSHA after.
      return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await scriptCalls();
    const idle = new Promise<void>((res) => w.once('idle', res));
    const id = await db.client.enqueue('default', 'Echo', [], { trackStatus: true });
    await idle; // the outcome is recorded and the worker waits again
    assert.equal((await db.client.status(id)).status, 'complete');
    assert.equal(await r.get(keys.statProcessed), '1');
    // enqueue (hands the job over) + finish. A wake-up and a reserve would add one or two.
    assert.equal((await scriptCalls()) - before, 2);
    assert.equal(await r.zscore(keys.idleWorkers, w.id), '10', 'its room given back as the job was recorded');
    assert.equal(await r.llen(keys.workerInflight(w.id)), 0);
  });

  test("a worker that drained its queues while taking jobs looks again as they finish (peers' jobs wake nobody)", async () => {
    const r = db.redis.client();
    const ruby = (n: number) => JSON.stringify({ class: 'Sleepy', args: [150 + n] }); // Ruby's RPUSH: no wake-up
    await r.rpush(keys.queue('default'), ruby(1), ruby(2));
    const w = await startWorker({ interval: 30, concurrency: 5 }); // takes both: fewer than 5, drained
    let ran = 0;
    w.on('job', () => ran++);
    await waitFor(() => w.busy === 2, { what: 'both running' });
    await r.rpush(keys.queue('default'), ruby(3));
    const t0 = performance.now();
    await waitFor(() => ran === 3, { what: 'the third job, long before the 30 s poll' });
    assert.ok(performance.now() - t0 < 5000);
  });

  test('function jobs, object jobs and async jobs; args spread', async () => {
    const a = await db.client.enqueue('default', 'asyncAdd', [2, 3], { trackStatus: true });
    const b = await db.client.enqueue('default', 'ObjectJob', [{ k: 'v' }], { trackStatus: true });
    await startWorker();
    await waitFor(
      async () =>
        (await db.client.status(a)).status === 'complete' &&
        (await db.client.status(b)).status === 'complete',
    );
    assert.equal((await db.client.status(a)).result, 5);
    assert.deepEqual((await db.client.status(b)).result, { x: { k: 'v' }, queue: 'default' });
  });

  test('hooks run in Resque order; a before hook can skip the job', async () => {
    Hooked.calls.length = 0;
    const w = await startWorker();
    const seen: string[] = [];
    w.on('job', (j) => seen.push(j.outcome));
    await db.client.enqueue('default', 'Hooked', ['ok']);
    await waitFor(() => seen.length === 1);
    assert.deepEqual(Hooked.calls, [
      'before',
      'setUp',
      'around:in',
      'perform',
      'around:out',
      'after',
      'tearDown',
    ]);
    Hooked.calls.length = 0;
    await db.client.enqueue('default', 'Hooked', ['skip']);
    await db.client.enqueue('default', 'Hooked', ['skip-false']);
    await waitFor(() => seen.length === 3);
    assert.deepEqual(seen.slice(1), ['skipped', 'skipped']);
    assert.deepEqual(Hooked.calls, ['before', 'before']);
    Hooked.calls.length = 0;
    await db.client.enqueue('default', 'Hooked', ['fail']);
    await waitFor(() => seen.length === 4);
    assert.deepEqual(Hooked.calls, [
      'before',
      'setUp',
      'around:in',
      'perform',
      'tearDown',
      'onFailure:hooked failure',
    ]);
    assert.equal(seen[3], 'failed');
  });

  test('a thrown error becomes a Ruby failure record and the worker goes on', async () => {
    const r = db.redis.client();
    const id = await db.client.enqueue('default', 'Boom', ['kaput'], { trackStatus: true });
    const w = await startWorker();
    await waitFor(async () => (await db.client.status(id)).status === 'failed');
    const [rec] = await db.client.failures.list();
    assert.ok(rec && typeof rec === 'object');
    assert.deepEqual(Object.keys(rec), [
      'failed_at',
      'payload',
      'exception',
      'error',
      'backtrace',
      'worker',
      'queue',
    ]);
    assert.match(rec.failed_at, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
    assert.equal(rec.exception, 'TypeError');
    assert.equal(rec.error, 'kaput');
    assert.ok(
      rec.backtrace.some((l) => l.includes('basic.ts')),
      'backtrace points at the job',
    );
    assert.equal(rec.worker, w.id);
    assert.equal(rec.queue, 'default');
    assert.equal((rec.payload as { id: string }).id, id);
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.get(keys.statFailed), '1');
    assert.equal(await r.get(keys.workerStatFailed(w.id)), '1');
    const ttl = await r.ttl(keys.jobStatus(id));
    assert.ok(ttl > 0 && ttl <= 86400);
    // still working
    const ok = await db.client.enqueue('default', 'Echo', [], { trackStatus: true });
    await waitFor(async () => (await db.client.status(ok)).status === 'complete');
  });

  test('a job timeout fails the job with JobTimeout', async () => {
    const id = await db.client.enqueue('default', 'TimesOut', [], { trackStatus: true });
    await startWorker();
    await waitFor(async () => (await db.client.status(id)).status === 'failed');
    const [rec] = (await db.client.failures.list()) as { exception: string; error: string }[];
    assert.equal(rec!.exception, 'JobTimeout');
    assert.match(rec!.error, /timed out after 0.1 s/);
  });

  test('jobs that run on after their timeout: as many as the worker has slots recycle it', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({}, { write: (l: string) => lines.push(JSON.parse(l)) });
    const w = await startWorker({ concurrency: 2, abandonedGraceMs: 200, logger });
    const recycled = once(w, 'recycle');
    // Ends 50 ms after its failure, within the grace: not stuck.
    const soon = await db.client.enqueue('default', 'IgnoresTimeout', [150]);
    const stuck = await db.client.enqueueMany('default', [
      { className: 'IgnoresTimeout', args: [null] },
      { className: 'IgnoresTimeout', args: [null] },
    ]);
    const [reason] = await recycled;
    assert.match(reason, /^2 failed jobs still running \(they ignore this.signal\), as many as its 2 slots$/);
    await waitFor(() => w.state === 'stopped', { what: 'the recycled worker stopped' });
    const failures = (await db.client.failures.list(0, 10)) as { exception: string }[];
    assert.deepEqual(
      failures.map((f) => f.exception),
      ['JobTimeout', 'JobTimeout', 'JobTimeout'],
    );
    assert.deepEqual(
      lines.filter((l) => l.event === 'job.abandoned').map((l) => [l.jobId, l.class, l.stuck]),
      [
        [stuck[0], 'IgnoresTimeout', 1],
        [stuck[1], 'IgnoresTimeout', 2],
      ],
      `not ${soon}: it ended within the grace`,
    );
  });

  test('concurrency runs jobs side by side in one worker', async () => {
    const w = await startWorker({ concurrency: 5 });
    const ids = await db.client.enqueueMany(
      'default',
      Array.from({ length: 5 }, () => ({ className: 'Sleepy', args: [300] })),
    );
    await waitFor(() => w.busy === 5, { what: '5 jobs running at once' });
    const rec = JSON.parse((await db.redis.client().get(keys.worker(w.id)))!);
    assert.equal(rec.queue, 'default');
    assert.equal(rec.worker, w.id.split(':').slice(0, 2).join(':'), "node-resque's worker name, host:pid");
    assert.ok(ids.includes(rec.payload.id));
    await waitFor(async () => (await db.redis.client().get(keys.statProcessed)) === '5');
  });

  test('prefetch reserves jobs ahead into the in-flight list; each still runs once, in order', async () => {
    const w = await startWorker({ concurrency: 1, prefetch: 2 });
    const r = db.redis.client();
    const seen: string[] = [];
    w.on('job', (j) => seen.push(j.jobId!));
    const ids = await db.client.enqueueMany('default', [
      { className: 'Sleepy', args: [300] },
      { className: 'Echo', args: ['a'] },
      { className: 'Echo', args: ['b'] },
      { className: 'Echo', args: ['c'] },
    ]);
    await waitFor(() => w.busy === 1, { what: 'the first job running' });
    // One running plus two prefetched are reserved; the fourth waits in the queue.
    await waitFor(async () => (await r.llen(keys.workerInflight(w.id))) === 3, { what: '3 jobs in flight' });
    assert.equal(w.busy, 1);
    assert.equal(await db.client.size('default'), 1);
    await waitFor(async () => (await r.get(keys.statProcessed)) === '4', { what: '4 jobs processed' });
    assert.deepEqual(seen, ids);
    assert.equal(await r.llen(keys.workerInflight(w.id)), 0);
  });

  test('pause and stop put prefetched jobs back at the head of their queue, in order', async () => {
    const w = await startWorker({ concurrency: 1, prefetch: 3 });
    const r = db.redis.client();
    const [, ...rest] = await db.client.enqueueMany('default', [
      { className: 'Sleepy', args: [400] },
      { className: 'Echo', args: ['a'] },
      { className: 'Echo', args: ['b'] },
      { className: 'Echo', args: ['c'] },
    ]);
    await waitFor(async () => (await r.llen(keys.workerInflight(w.id))) === 4, { what: '4 jobs in flight' });
    w.pause();
    await waitFor(async () => (await db.client.size('default')) === 3, { what: 'prefetched jobs back' });
    const queued = (await db.client.peek('default', 0, 10)) as { id: string }[];
    assert.deepEqual(
      queued.map((p) => p.id),
      rest,
    );
    await waitFor(async () => (await r.get(keys.statProcessed)) === '1', {
      what: 'the running job finished',
    });
    w.resume();
    await waitFor(async () => (await r.get(keys.statProcessed)) === '4', { what: '4 jobs processed' });

    const [, ...more] = await db.client.enqueueMany('default', [
      { className: 'Sleepy', args: [400] },
      { className: 'Echo', args: ['d'] },
      { className: 'Echo', args: ['e'] },
    ]);
    await waitFor(async () => (await r.llen(keys.workerInflight(w.id))) === 3, { what: '3 jobs in flight' });
    await w.stop();
    const left = (await db.client.peek('default', 0, 10)) as { id: string }[];
    assert.deepEqual(
      left.map((p) => p.id),
      more,
    );
    assert.equal(await r.get(keys.statProcessed), '5', 'the running job finished before the stop');
    assert.equal(await r.llen(keys.workerInflight(w.id)), 0);
  });

  test('pause leaves new jobs queued; resume runs them', async () => {
    const w = await startWorker();
    w.pause();
    await db.client.enqueue('default', 'Echo', []);
    await new Promise((r) => setTimeout(r, 300)); // a paused worker must NOT take it during this window
    assert.equal(await db.client.size('default'), 1);
    w.resume();
    await waitFor(
      async () =>
        (await db.client.size('default')) === 0 && (await db.redis.client().get(keys.statProcessed)) === '1',
    );
  });

  test("after a pause and resume, the poll still finds jobs pushed by peers' clients (they wake nobody)", async () => {
    const r = db.redis.client();
    // Only the poll (every 0.2 s) can find them: the look for lost hand-offs is 10 minutes off.
    const w = await startWorker({ heartbeatInterval: 600 });
    await once(w, 'idle');
    w.pause();
    await once(w, 'paused');
    const idleAgain = once(w, 'idle');
    w.resume();
    await idleAgain;
    await r.rpush(keys.queue('default'), JSON.stringify({ class: 'Echo', args: ['from ruby'] }));
    await waitFor(async () => (await r.get(keys.statProcessed)) === '1', {
      timeout: 3000,
      what: 'the pushed job run by a poll',
    });
  });

  test('stop at a deadline puts the running job back at the head of its queue, and logs it by name', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const w = await startWorker({ logger });
    Sleepy.failures.length = 0;
    const id = await db.client.enqueue('default', 'Sleepy', [5000], { trackStatus: true });
    await db.client.enqueue('default', 'Echo', ['second']);
    await waitFor(() => w.busy === 1);
    await db.redis.client().srem(keys.queues, 'default'); // resque-web's "remove queue"
    await w.stop(Date.now() + 100);
    assert.deepEqual(await db.redis.client().smembers(keys.queues), ['default'], 'listed again');
    const queued = (await db.client.peek('default', 0, 10)) as { id: string; class: string }[];
    assert.deepEqual(
      queued.map((p) => p.class),
      ['Sleepy', 'Echo'],
    );
    assert.equal(queued[0]!.id, id);
    assert.equal((await db.client.status(id)).status, 'waiting');
    assert.equal(await db.redis.client().llen(keys.workerInflight(w.id)), 0);
    assert.equal(await db.redis.client().get(keys.statProcessed), null);
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(Sleepy.failures, [], 'a job put back has not failed: onFailure is not called');
    const requeued = lines.filter((l) => l.event === 'job.requeued');
    assert.deepEqual(
      requeued.map(({ jobId, queue, class: cls, workerId }) => ({ jobId, queue, cls, workerId })),
      [{ jobId: id, queue: 'default', cls: 'Sleepy', workerId: w.id }],
    );
  });

  test('stop at a deadline records a job stuck in its onFailure hook as failed, not put back to run again', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const w = await startWorker({ logger });
    StuckOnFailure.hookStarted = 0;
    const id = await db.client.enqueue('default', 'StuckOnFailure', [], { trackStatus: true });
    await waitFor(() => StuckOnFailure.hookStarted === 1, { what: 'the onFailure hook running' });
    await w.stop(Date.now() + 100);
    assert.equal(await db.client.size('default'), 0, 'not put back');
    assert.equal(await db.redis.client().llen(keys.workerInflight(w.id)), 0);
    assert.equal((await db.client.status(id)).status, 'failed');
    assert.equal(await db.redis.client().get(keys.statFailed), '1');
    const records = (await db.client.failures.list()) as { error: string; payload: { id: string } }[];
    assert.deepEqual(
      records.map((r) => [r.payload.id, r.error]),
      [[id, 'failed before its hook hung']],
    );
    const events = lines.filter((l) => l.jobId === id).map((l) => l.event);
    assert.deepEqual(events, ['job.on-failure-abandoned', 'job.failed']);
    assert.equal(StuckOnFailure.hookStarted, 1);
  });
});

describe('worker when Redis answers writes with errors (NOREPLICAS, like MISCONF or READONLY)', () => {
  const db = useTestRedis({ jobs: [FIXTURES] });

  test('errors retried every second are logged at the first and when they end, not at every retry', async () => {
    const r = db.redis.client();
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const w = new Worker({
      redisUrl: db.redis.url,
      queues: ['errs'],
      registry: db.registry,
      interval: 0.2,
      logger,
    });
    await w.start();
    try {
      await db.client.enqueue('errs', 'Sleepy', [300]);
      await waitFor(() => w.busy === 1, { what: 'the job started' });
      await r.config('SET', 'min-replicas-to-write', '1');
      // The refusal itself is the scenario: the job's outcome is retried once a second meanwhile.
      await new Promise((res) => setTimeout(res, 3500));
      await r.config('SET', 'min-replicas-to-write', '0');
      const [ok] = await waitFor(() => {
        const found = lines.filter((l) => l.event === 'worker.redis-ok');
        return found.length > 0 && found;
      });
      const errors = lines.filter((l) => String(l.event).endsWith('-error'));
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(String(errors[0]!.err), /NOREPLICAS/);
      assert.ok(Number(ok!.failures) >= 3, `retried: ${JSON.stringify(ok)}`);
      await waitFor(async () => (await r.get(keys.statProcessed)) === '1', { what: 'the outcome recorded' });
    } finally {
      await r.config('SET', 'min-replicas-to-write', '0');
      await w.stop();
      await r.flushall();
    }
  });

  test('pause and stop keep retrying what must be recorded, then record it once Redis accepts writes', async () => {
    const r = db.redis.client();
    const w = new Worker({ redisUrl: db.redis.url, queues: ['err'], registry: db.registry, interval: 0.2 });
    await w.start();
    try {
      const id = await db.client.enqueue('err', 'Sleepy', [300], { trackStatus: true });
      await waitFor(() => w.busy === 1, { what: 'the job started' });
      await r.config('SET', 'min-replicas-to-write', '1'); // every write now fails
      w.pause(); // flushes outcomes while paused: must not crash on the error reply
      const stopped = w.stop(Date.now() + 60_000);
      await waitFor(() => w.busy === 0, { what: 'the job to finish' });
      await new Promise((res) => setTimeout(res, 1200)); // at least one failed attempt to record it
      assert.equal(await r.get(keys.statProcessed), null, 'not recorded while Redis refuses writes');
      assert.equal(w.state, 'stopping');
      await r.config('SET', 'min-replicas-to-write', '0');
      await stopped;
      assert.equal(await r.get(keys.statProcessed), '1');
      assert.equal((await db.client.status(id)).status, 'complete');
      assert.deepEqual(await r.smembers(keys.workers), []);
    } finally {
      await r.config('SET', 'min-replicas-to-write', '0');
      await w.stop();
    }
  });
});
