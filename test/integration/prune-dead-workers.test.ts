/** The dead-worker pruner (issue 4): who is pruned, who is never touched, one pruner at a time. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { ResqueClient } from '../../src/client/client.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { host } from '../../src/jobs/payload.ts';
import { periodOf, pruneDeadWorkers } from '../../src/recovery/prune-dead-workers.ts';
import { recoverWorker } from '../../src/recovery/recover-worker.ts';
import { createRedis, secondsSinceReconnect } from '../../src/redis/connection.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts, type ScriptedRedis } from '../../src/redis/scripts.ts';
import { pidNamespace } from '../../src/util/process-alive.ts';
import { Worker } from '../../src/worker/worker.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();
/** The test's Redis is seconds old: the pruner is told it has been reachable for an hour. */
const UP_FOR_LONG = { deadAfter: 300, reachableFor: 3600 };

/** A pid that surely belongs to no process: one that just exited (and was reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('pruning dead workers', () => {
  let redis: TestRedis;
  let r: ScriptedRedis;
  let client: ResqueClient;
  let registry: JobRegistry;
  const workers: Worker[] = [];

  before(async () => {
    redis = await TestRedis.start();
    r = defineScripts(redis.client());
    client = new ResqueClient({ redisUrl: redis.url });
    registry = await new JobRegistry().load([FIXTURES]);
  });
  after(async () => {
    for (const w of workers) if (w.state !== 'stopped') await w.stop(Date.now());
    await client.close();
    await redis.stop();
  });
  beforeEach(async () => {
    for (const w of workers.splice(0)) if (w.state !== 'stopped') await w.stop(Date.now());
    await r.flushall();
  });

  async function redisNow(): Promise<number> {
    const [secs] = await r.time();
    return Number(secs);
  }
  const iso = (secs: number) => new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

  /** A peer's (Ruby) worker as Ruby writes it: registered, heartbeat, `worker:<id>` record. */
  async function peerWorker(id: string, opts: { beatAgo?: number; job?: string } = {}) {
    await r.sadd(keys.workers, id);
    if (opts.beatAgo !== undefined) await r.hset(keys.heartbeats, id, iso((await redisNow()) - opts.beatAgo));
    if (opts.job !== undefined) await r.set(keys.worker(id), opts.job);
  }

  /** One of ours that died holding a job: crashed in-process, so nothing was recorded. */
  async function crashedWorker(id: string): Promise<{ w: Worker; jobId: string }> {
    const [jobId] = await client.enqueueMany('default', [{ className: 'Sleepy', args: [60_000] }], {
      trackStatus: true,
    });
    const w = new Worker({ redisUrl: redis.url, queues: ['default'], registry, id });
    await w.start();
    await waitFor(() => w.busy === 1);
    w.crash();
    return { w, jobId: jobId! };
  }

  test('a peer worker whose heartbeat is older than deadAfter: its job goes back byte for byte, it is unregistered', async () => {
    // Re-serialised, the 64-bit id would be rounded, 1.0 become 1 and the escape a raw é.
    const payload = '{"class":"Archive","args":[35,"tar",12345678901234567890,1.0,"\\u00e9"]}';
    await peerWorker('rubyhost:42:default', {
      beatAgo: 400,
      job: `{"queue":"default","run_at":"2026-01-12T20:23:55Z","payload":${payload}}`,
    });
    await r.rpush(keys.queue('default'), '{"class":"Later","args":[]}');
    const res = await pruneDeadWorkers(r, keys, UP_FOR_LONG);
    assert.equal(res.ran, true);
    assert.deepEqual(
      res.pruned.map((p) => [p.workerId, p.rule, p.requeued, p.failed]),
      [['rubyhost:42:default', 'heartbeat', 1, 0]],
    );
    assert.deepEqual(await r.lrange(keys.queue('default'), 0, -1), [payload, '{"class":"Later","args":[]}']);
    assert.deepEqual(await r.smembers(keys.workers), []);
    assert.equal(await r.hget(keys.heartbeats, 'rubyhost:42:default'), null);
    assert.equal(await r.exists(keys.worker('rubyhost:42:default')), 0);
  });

  test("a peer is judged by Ruby's 300 s at least, ours by deadAfter, however low it is set", async () => {
    await peerWorker('rubyhost:7:default', { beatAgo: 90 });
    const { w } = await crashedWorker('elsewhere:8:default');
    await r.hset(keys.heartbeats, w.id, iso((await redisNow()) - 90));
    const res = await pruneDeadWorkers(r, keys, { deadAfter: 61, reachableFor: 3600 });
    assert.deepEqual(
      res.pruned.map((p) => [p.workerId, p.rule]),
      [[w.id, 'heartbeat']],
    );
    assert.deepEqual(await r.smembers(keys.workers), ['rubyhost:7:default']);
  });

  test('right after an outage (Redis up for less than the limit), silence is not judged: logged, judged later', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    await peerWorker('rubyhost:42:default', { beatAgo: 400 });
    // This test's Redis started seconds ago: its uptime is the measure.
    const res = await pruneDeadWorkers(r, keys, { deadAfter: 300, logger });
    assert.deepEqual(res.pruned, []);
    assert.deepEqual(await r.smembers(keys.workers), ['rubyhost:42:default']);
    const [deferred] = lines.filter((l) => l.event === 'prune.deferred');
    assert.deepEqual(deferred?.workerIds, ['rubyhost:42:default']);
    assert.ok((deferred?.reachableForS as number) < 300);
    // Once Redis has been reachable for the limit, the same worker is pruned.
    const later = await pruneDeadWorkers(r, keys, { deadAfter: 300, reachableFor: 300 });
    assert.deepEqual(
      later.pruned.map((p) => p.workerId),
      ['rubyhost:42:default'],
    );
  });

  test('right after an outage, ours on this machine whose process is gone is still recovered at once', async () => {
    const { w } = await crashedWorker(`${host()}:77009:default`);
    const mark = JSON.parse((await r.hget(keys.ourWorkers, w.id))!);
    await r.hset(keys.ourWorkers, w.id, JSON.stringify({ ...mark, pid: deadPid() }));
    await r.hset(keys.heartbeats, w.id, iso((await redisNow()) - 400));
    const res = await pruneDeadWorkers(r, keys, { deadAfter: 300, reachableFor: 10 });
    assert.deepEqual(
      res.pruned.map((p) => [p.workerId, p.rule]),
      [[w.id, 'process-gone']],
    );
  });

  test('a first connection made after failed attempts counts as a return from an outage', async () => {
    const other = await TestRedis.start();
    await other.kill();
    const c = createRedis({ url: other.url, name: 'test:late' });
    try {
      await once(c, 'error'); // Redis is away: the first attempt fails
      await other.restart();
      await once(c, 'ready');
      const s = secondsSinceReconnect(c);
      assert.ok(s >= 0 && s < 5, `${s}`);
    } finally {
      c.disconnect();
      await other.stop();
    }
  });

  test("a connection's time since it last lost Redis: Infinity until it does, then counted from its return", async () => {
    const c = createRedis({ url: redis.url, name: 'test:reconnect' });
    try {
      await c.ping();
      assert.equal(secondsSinceReconnect(c), Number.POSITIVE_INFINITY);
      const name = 'test:reconnect';
      const list = await r.client('LIST');
      const id = /id=(\d+) .*name=test:reconnect/.exec(String(list))?.[1];
      assert.ok(id, `${name} in CLIENT LIST`);
      const back = once(c, 'ready');
      await r.client('KILL', 'ID', id);
      await back;
      const s = secondsSinceReconnect(c);
      assert.ok(s >= 0 && s < 5, `${s}`);
    } finally {
      c.disconnect();
    }
  });

  test('never touched: a live peer on another host, a php worker without heartbeat, a peer on this host with a dead pid', async () => {
    await peerWorker('rubyhost:1:default', { beatAgo: 20, job: '{"queue":"default","payload":{}}' });
    await peerWorker('phphost:2:default'); // php-resque never heartbeats
    await peerWorker(`${host()}:${deadPid()}:default`, { beatAgo: 10 }); // not ours: judged by its heartbeat only
    const before = (await r.smembers(keys.workers)).sort();
    const res = await pruneDeadWorkers(r, keys, UP_FOR_LONG);
    assert.deepEqual(res.pruned, []);
    assert.deepEqual((await r.smembers(keys.workers)).sort(), before);
    assert.equal(await r.exists(keys.worker('rubyhost:1:default')), 1);
  });

  test('ours on this host whose process is gone: recovered at once, whatever its heartbeat', async () => {
    const { w, jobId } = await crashedWorker(`${host()}:77001:default`);
    const mark = JSON.parse((await r.hget(keys.ourWorkers, w.id))!);
    assert.equal(mark.pid, process.pid, 'the mark records the real pid');
    // a live worker of ours, in this (alive) process: must stay
    const live = new Worker({
      redisUrl: redis.url,
      queues: ['other'],
      registry,
      id: `${host()}:77002:other`,
    });
    workers.push(live);
    await live.start();
    await r.hset(keys.ourWorkers, w.id, JSON.stringify({ ...mark, pid: deadPid() }));
    const res = await pruneDeadWorkers(r, keys, UP_FOR_LONG);
    assert.deepEqual(
      res.pruned.map((p) => [p.workerId, p.rule, p.requeued]),
      [[w.id, 'process-gone', 1]],
    );
    assert.equal((await client.status(jobId)).status, 'waiting');
    assert.equal(await client.size('default'), 1);
    assert.deepEqual(await r.smembers(keys.workers), [live.id]);
    assert.equal(await r.hexists(keys.ourWorkers, w.id), 0);
    assert.equal(await r.exists(keys.workerInflight(w.id)), 0);
  });

  test('ours on a host that looks like this one but another pid namespace (a container) is not judged by pid', async () => {
    const { w } = await crashedWorker(`${host()}:77003:default`);
    const mark = JSON.parse((await r.hget(keys.ourWorkers, w.id))!);
    await r.hset(keys.ourWorkers, w.id, JSON.stringify({ ...mark, pidns: 'pid:[1]', pid: deadPid() }));
    assert.deepEqual((await pruneDeadWorkers(r, keys, UP_FOR_LONG)).pruned, []);
    assert.equal(await r.llen(keys.workerInflight(w.id)), 1);
    // Another machine of the same host name (a cloned VM): the same root namespace, another machine id.
    assert.match(pidNamespace(), /^pid:\[\d+\]@[0-9a-f]{32}$/, 'the machine id is part of it');
    const clone = `${pidNamespace().replace(/@.*$/, '')}@another-machine`;
    await r.hset(keys.ourWorkers, w.id, JSON.stringify({ ...mark, pidns: clone, pid: deadPid() }));
    assert.deepEqual((await pruneDeadWorkers(r, keys, UP_FOR_LONG)).pruned, []);
    assert.equal(await r.llen(keys.workerInflight(w.id)), 1);
  });

  test('an in-flight list left by a worker a peer unregistered: recovered once our mark is silent too', async () => {
    const { w, jobId } = await crashedWorker('elsewhere:5:default');
    // What Ruby's unregister_worker does: it knows nothing of our in-flight list.
    await r
      .multi()
      .srem(keys.workers, w.id)
      .del(keys.worker(w.id), keys.workerStarted(w.id))
      .hdel(keys.heartbeats, w.id)
      .exec();
    // our mark is fresh: it may be alive (it re-registers on its next beat); leave it
    assert.deepEqual((await pruneDeadWorkers(r, keys, UP_FOR_LONG)).pruned, []);
    const mark = JSON.parse((await r.hget(keys.ourWorkers, w.id))!);
    await r.hset(keys.ourWorkers, w.id, JSON.stringify({ ...mark, beat: (await redisNow()) - 400 }));
    const res = await pruneDeadWorkers(r, keys, UP_FOR_LONG);
    assert.deepEqual(
      res.pruned.map((p) => [p.workerId, p.rule, p.requeued]),
      [[w.id, 'orphan', 1]],
    );
    assert.equal((await client.status(jobId)).status, 'waiting');
    // and one with no mark at all (an older version of us)
    const other = await crashedWorker('elsewhere:6:default');
    await r.srem(keys.workers, other.w.id);
    await r.hdel(keys.heartbeats, other.w.id);
    await r.hdel(keys.ourWorkers, other.w.id);
    const res2 = await pruneDeadWorkers(r, keys, UP_FOR_LONG);
    assert.deepEqual(
      res2.pruned.map((p) => [p.workerId, p.rule]),
      [[other.w.id, 'orphan']],
    );
    assert.equal(await client.size('default'), 2);
  });

  test('a live worker of ours that a peer unregistered registers itself again on its next beat', async () => {
    const w = new Worker({
      redisUrl: redis.url,
      queues: ['default'],
      registry,
      heartbeatInterval: 0.1,
      id: 'here:9:default',
    });
    workers.push(w);
    await w.start();
    await r.multi().srem(keys.workers, w.id).hdel(keys.heartbeats, w.id).exec();
    await waitFor(async () => (await r.sismember(keys.workers, w.id)) === 1, { what: 're-registered' });
    assert.ok(await r.hget(keys.heartbeats, w.id));
  });

  test('one pruner at a time: a held lock means no run; the lock is released after a run', async () => {
    await r.set(keys.pruneLock, 'someone-else', 'PX', 10_000);
    await peerWorker('rubyhost:3:default', { beatAgo: 400 });
    assert.deepEqual(await pruneDeadWorkers(r, keys, UP_FOR_LONG), {
      ran: false,
      pruned: [],
      skipped: [],
    });
    assert.equal(await r.sismember(keys.workers, 'rubyhost:3:default'), 1);
    assert.equal(
      await r.get(keys.pruneLock),
      'someone-else',
      'not released by a pruner that did not hold it',
    );
    await r.del(keys.pruneLock);
    const [a, b] = await Promise.all([
      pruneDeadWorkers(r, keys, UP_FOR_LONG),
      pruneDeadWorkers(defineScripts(redis.client()), keys, UP_FOR_LONG),
    ]);
    assert.equal(Number(a.ran) + Number(b.ran), 1, 'exactly one of two concurrent pruners ran');
    assert.equal(a.pruned.length + b.pruned.length, 1);
    assert.equal(await r.exists(keys.pruneLock), 0);
  });

  test("periodic runs: one per period across all processes, by the caller's period; a start-up run always runs", async () => {
    // A run that deferred a verdict does not count: the next one, with Redis up long, makes it.
    await peerWorker('rubyhost:9:default', { beatAgo: 1000 });
    const deferring = await pruneDeadWorkers(r, keys, { deadAfter: 300, reachableFor: 5, periodMs: 60_000 });
    assert.equal(deferring.ran, true);
    assert.deepEqual(deferring.pruned, []);
    const other = defineScripts(redis.client());
    const complete = await pruneDeadWorkers(other, keys, { ...UP_FOR_LONG, periodMs: 60_000 });
    assert.deepEqual(
      complete.pruned.map((p) => p.workerId),
      ['rubyhost:9:default'],
    );
    assert.equal((await pruneDeadWorkers(r, keys, { ...UP_FOR_LONG, periodMs: 60_000 })).ran, false);
    assert.equal(
      (await pruneDeadWorkers(r, keys, { ...UP_FOR_LONG, periodMs: 1 })).ran,
      true,
      'its own, shorter period',
    );
    assert.equal((await pruneDeadWorkers(r, keys, UP_FOR_LONG)).ran, true, 'start-up');
    assert.ok(Number.isInteger(periodOf(1234)) && periodOf(1234) < 1234);
  });

  test('the guard: a worker that beat again since it was judged is left alone', async () => {
    const { w } = await crashedWorker('elsewhere:7:default');
    const res = await recoverWorker(r, keys, w.id, {
      reason: 'stale',
      guard: { kind: 'heartbeat', seenHeartbeat: '2020-01-01T00:00:00Z' },
    });
    assert.deepEqual(res, { requeued: 0, failed: 0, skipped: true });
    assert.equal(await r.llen(keys.workerInflight(w.id)), 1);
    assert.equal(await r.sismember(keys.workers, w.id), 1);
  });

  test('bad input: a dead peer whose worker:<id> holds garbage: kept as text in a failure, no crash', async () => {
    await peerWorker('rubyhost:4:default', { beatAgo: 999, job: 'garbage{"not json' });
    await peerWorker('rubyhost:5:default', { beatAgo: 999, job: '{"queue":"default"}' }); // no payload
    await r.hset(keys.heartbeats, 'rubyhost:6:default', 'not a time'); // never judged, never crashes
    await r.sadd(keys.workers, 'rubyhost:6:default');
    const res = await pruneDeadWorkers(r, keys, UP_FOR_LONG);
    assert.deepEqual(res.pruned.map((p) => [p.workerId, p.failed]).sort(), [
      ['rubyhost:4:default', 1],
      ['rubyhost:5:default', 1],
    ]);
    const failures = (await client.failures.list()) as {
      payload: unknown;
      exception: string;
      error: string;
    }[];
    const texts = failures.map((f) => f.payload).sort();
    assert.deepEqual(texts, ['garbage{"not json', '{"queue":"default"}']);
    assert.ok(failures.every((f) => f.exception === 'DirtyExit' && /could not be read/.test(f.error)));
    assert.deepEqual(await r.smembers(keys.workers), ['rubyhost:6:default']);
  });

  test('bad input: a garbage entry in our own in-flight list is kept as text, the good ones requeued', async () => {
    const { w } = await crashedWorker('elsewhere:8:default');
    await r.rpush(keys.workerInflight(w.id), 'no separators here');
    const res = await recoverWorker(r, keys, w.id, { reason: 'test' });
    assert.deepEqual(res, { requeued: 1, failed: 1 });
    const [rec] = (await client.failures.list()) as { payload: unknown }[];
    assert.equal(rec!.payload, 'no separators here');
  });
});
