/** The client's inspection and editing calls, against a private Redis. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RedisUnavailableError, ResqueClient } from '../../src/client/client.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker } from '../../src/worker/worker.ts';
import { Echo } from '../fixtures/jobs/basic.ts';
import { startRedisProxy } from '../helpers/redis-proxy.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const keys = resqueKeys();

describe('client', () => {
  const db = useTestRedis({ flushEach: true });

  test('queues, size, peek, removeQueue', async () => {
    await db.client.enqueue('b', 'Echo', [1]);
    await db.client.enqueueMany('a', [
      { className: 'Echo', args: [1] },
      { className: 'Echo', args: [2] },
    ]);
    assert.deepEqual(await db.client.queues(), ['a', 'b']);
    assert.equal(await db.client.size('a'), 2);
    const peeked = (await db.client.peek('a', 1, 5)) as { args: unknown[] }[];
    assert.deepEqual(
      peeked.map((p) => p.args),
      [[2]],
    );
    assert.deepEqual(
      await db.client.peek('a', 0, 0),
      [],
      'no jobs asked for, none given (not the whole queue)',
    );
    assert.equal(await db.client.removeQueue('a'), 2);
    assert.deepEqual(await db.client.queues(), ['b']);
    assert.equal(await db.client.size('a'), 0);
    assert.equal(await db.client.removeQueue('a'), 0, 'gone already');
  });

  test('removeQueue drops the statuses of the tracked jobs it removes, and only those', async () => {
    const removed = await db.client.enqueueMany(
      'doomed',
      Array.from({ length: 2500 }, (_, i) => ({ className: 'Echo', args: [i] })),
      { trackStatus: true },
    );
    await db.client.enqueue('doomed', 'Echo', ['untracked']);
    const kept = await db.client.enqueue('other', 'Echo', [], { trackStatus: true });
    assert.equal((await db.client.status(removed[0]!)).status, 'waiting');
    assert.equal(await db.client.removeQueue('doomed'), 2501);
    for (const id of [removed[0]!, removed[1234]!, removed[2499]!])
      assert.equal((await db.client.status(id)).status, 'unknown', 'not waiting for ever');
    assert.equal((await db.client.status(kept)).status, 'waiting');
    const r = db.redis.client();
    assert.deepEqual(
      (await r.keys('resque:*')).filter((k) => !k.startsWith('resque:stat')).sort(),
      [keys.jobStatus(kept), keys.queue('other'), keys.queues].sort(),
      'nothing left behind',
    );
  });

  test('enqueueMany: one round trip, ids in order, statuses tracked', async () => {
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ className: 'Echo', args: [i] }));
    const ids = await db.client.enqueueMany('bulk', jobs, { trackStatus: true });
    assert.equal(ids.length, 1000);
    assert.equal(new Set(ids).size, 1000);
    const raw = await db.redis.client().lrange(keys.queue('bulk'), 0, -1);
    assert.deepEqual(
      raw.map((r) => JSON.parse(r).id),
      ids,
    );
    assert.equal((await db.client.status(ids[999]!)).status, 'waiting');
  });

  test('enqueueMany takes any number of jobs (chunked, still one round trip)', async () => {
    const jobs = Array.from({ length: 150_000 }, (_, i) => ({ className: 'Echo', args: [i] }));
    const ids = await db.client.enqueueMany('huge', jobs);
    assert.equal(ids.length, 150_000);
    assert.equal(await db.client.size('huge'), 150_000);
    const [last] = (await db.client.peek('huge', 149_999)) as { id: string; args: number[] }[];
    assert.deepEqual([last!.id, last!.args], [ids[149_999], [149_999]]);
  });

  test('typed enqueueJob takes the class and checks args against perform', async () => {
    const id = await db.client.enqueueJob('typed', Echo, 'a', 1);
    const [p] = (await db.client.peek('typed')) as { class: string; args: unknown[]; id: string }[];
    assert.deepEqual([p!.class, p!.args, p!.id], ['Echo', ['a', 1], id]);
  });

  test('args JSON would change are refused before anything is written', async () => {
    const r = db.redis.client();
    await assert.rejects(db.client.enqueue('q', 'Echo', [new Date()]), {
      name: 'JobArgsError',
      message: /^args of Echo: args\[0\] is a Date/,
    });
    await assert.rejects(
      db.client.enqueueMany('q', [
        { className: 'Echo', args: [1] },
        { className: 'Echo', args: [1n] },
      ]),
      { name: 'JobArgsError', message: /^jobs\[1\]: args of Echo: args\[0\] is a BigInt/ },
    );
    await assert.rejects(db.client.enqueueIn(60, 'q', 'Echo', [undefined, 1]), { name: 'JobArgsError' });
    assert.deepEqual(await r.keys('*'), [], 'nothing enqueued, not even the good job');
  });

  test("enqueueJob sends a job's jobName, which the worker knows it by too", async () => {
    const ran: unknown[] = [];
    class Welcome {
      static jobName = 'Mailers::Welcome';
      perform(to: string) {
        ran.push(to);
      }
    }
    const greet = {
      jobName: 'Greet',
      perform(n: number) {
        ran.push(n);
      },
    };
    class Original {
      perform() {}
    }
    class Urgent extends Welcome {}
    // Welcome under its export name only: the worker finds it by its jobName.
    const registry = new JobRegistry().register({ Welcome, greet, Aliased: Original });
    await db.client.enqueueJob('named', Welcome, 'ann');
    await db.client.enqueueJob('named', greet, 7);
    const payloads = (await db.client.peek('named', 0, 5)) as { class: string }[];
    assert.deepEqual(
      payloads.map((p) => p.class),
      ['Mailers::Welcome', 'Greet'],
    );
    const anonymous = [
      class {
        perform() {}
      },
    ][0]!;
    await assert.rejects(
      db.client.enqueueJob('named', anonymous),
      /has no name to enqueue it by: give it a jobName/,
    );
    await db.client.enqueueJob('urgent', Urgent, 'x');
    const [urgent] = (await db.client.peek('urgent')) as { class: string }[];
    assert.equal(urgent!.class, 'Urgent', "a subclass does not inherit its parent's jobName");
    assert.throws(
      () => registry.get('Original'),
      /known: .*; the job known as "Aliased" is named Original in its code: give it `static jobName = 'Aliased'`/,
    );
    const w = new Worker({ redisUrl: db.redis.url, queues: ['named'], registry, interval: 0.2 });
    await w.start();
    try {
      await waitFor(() => ran.length === 2, { what: 'both jobs ran' });
      assert.deepEqual(ran, ['ann', 7]);
    } finally {
      await w.stop();
    }
  });

  test('dequeue removes by class and args, comparing JSON semantically (peers write other key order)', async () => {
    const r = db.redis.client();
    await r.rpush(
      keys.queue('q'),
      '{"args":[{"b":2,"a":1}],"class":"Mail"}', // Ruby-ish, other key order
      '{"class":"Mail","args":[{"a":1,"b":2}],"id":"x"}',
      '{"class":"Mail","args":[{"a":1,"b":3}]}',
      '{"class":"Other","args":[{"a":1,"b":2}]}',
      'garbage',
    );
    assert.equal(await db.client.dequeue('q', 'Mail', [{ a: 1, b: 2 }]), 2);
    assert.equal(await db.client.size('q'), 3);
    const tracked = await db.client.enqueue('q', 'Tracked', [], { trackStatus: true });
    assert.equal(await db.client.dequeue('q', 'Tracked'), 1);
    assert.equal((await db.client.status(tracked)).status, 'unknown', 'no waiting status left behind');
    assert.equal(await db.client.dequeue('q', 'Mail'), 1);
    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [
      '{"class":"Other","args":[{"a":1,"b":2}]}',
      'garbage',
    ]);
  });

  test('stats and workers read Resque keys (as a Ruby worker writes them) and our in-flight lists', async () => {
    const r = db.redis.client();
    const id = 'rubyhost:4242:high,low';
    await r
      .multi()
      .sadd(keys.workers, id)
      .set(keys.workerStarted(id), '2026-01-12 15:23:55 -0500')
      .hset(keys.heartbeats, id, '2026-01-12T20:23:55+00:00')
      .set(
        keys.worker(id),
        '{"queue":"high","run_at":"2026-01-12T20:23:55Z","payload":{"class":"A","args":[]}}',
      )
      .set(keys.statProcessed, '10')
      .set(keys.statFailed, '3')
      .set(keys.workerStatProcessed(id), '7')
      .rpush(keys.failed, '{"x":1}')
      .exec();
    // One of ours running one job with two more reserved ahead (prefetch): one record, three held.
    const ours = 'ourhost:1:high';
    await r
      .multi()
      .sadd(keys.workers, ours)
      .set(
        keys.worker(ours),
        '{"queue":"high","run_at":"2026-01-12T20:23:55Z","payload":{"class":"A","args":[1]}}',
      )
      .rpush(keys.workerInflight(ours), 'e1', 'e2', 'e3')
      .exec();
    await db.client.enqueue('high', 'A', []);
    assert.deepEqual(await db.client.stats(), {
      processed: 10,
      failed: 3,
      pending: 1,
      queues: 1,
      workers: 2,
      working: 2,
      inFlight: 3,
      failures: 1,
    });
    const w = (await db.client.workers()).find((x) => x.id === id);
    assert.equal(w!.host, 'rubyhost');
    assert.equal(w!.pid, '4242');
    assert.deepEqual(w!.queues, ['high', 'low']);
    assert.equal(typeof w!.job === 'object' && w!.job?.queue, 'high');
    assert.equal(w!.processed, 7);
    assert.equal(w!.started, '2026-01-12 15:23:55 -0500');
  });

  test('failures: list, retry all, remove, clear; a record that is not JSON is returned raw', async () => {
    const r = db.redis.client();
    await r.rpush(keys.failed, failureRecord('q1', 1), 'not json at all', failureRecord('q2', 2));
    assert.equal(await db.client.failures.count(), 3);
    const list = await db.client.failures.list(0, 10);
    assert.equal(list[1], 'not json at all');
    assert.equal(await db.client.failures.retryAll(), 2);
    assert.deepEqual(await db.client.queues(), ['q1', 'q2']);
    assert.equal(await db.client.failures.remove(1), true);
    assert.equal(await db.client.failures.remove(99), false);
    assert.equal(await db.client.failures.count(), 2);
    assert.equal(await db.client.failures.clear(), 2);
    assert.equal(await db.client.failures.count(), 0);
  });

  test('retry puts the payload back byte for byte (big integers, 1.0) and marks the record', async () => {
    const r = db.redis.client();
    const payload = '{"class":"A","args":[1790000000000000001,1.0],"id":"0123456789abcdef0123456789abcdef"}';
    const rec = `{"failed_at":"2026/01/12 20:23:55 UTC","payload":${payload},"exception":"E","error":"e","backtrace":[],"worker":"w","queue":"exact"}`;
    await r.rpush(keys.failed, rec);
    assert.equal(await db.client.failures.retry(0), true);
    assert.deepEqual(await r.lrange(keys.queue('exact'), 0, -1), [payload]);
    const marked = (await r.lindex(keys.failed, 0))!;
    assert.ok(marked.startsWith(rec.slice(0, -1)), 'the record is kept as written, retried_at appended');
    assert.match(JSON.parse(marked).retried_at, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);

    // A second retry replaces retried_at and keeps every other byte, the payload's numbers too.
    await r.del(keys.queue('exact'));
    await r.lset(
      keys.failed,
      0,
      marked.replace(/"retried_at":"[^"]*"/, '"retried_at":"2000/01/01 00:00:00"'),
    );
    assert.equal(await db.client.failures.retry(0), true);
    assert.deepEqual(await r.lrange(keys.queue('exact'), 0, -1), [payload]);
    const again = (await r.lindex(keys.failed, 0))!;
    assert.equal(again.replace(/"retried_at":"[^"]*"/, ''), marked.replace(/"retried_at":"[^"]*"/, ''));
    assert.notEqual(JSON.parse(again).retried_at, '2000/01/01 00:00:00');
  });

  test('a closed client says so, rather than that Redis is unreachable', async () => {
    const c = new ResqueClient({ redisUrl: db.redis.url });
    await c.enqueue('closed', 'Echo');
    await c.close();
    for (const call of [
      () => c.enqueue('closed', 'Echo'),
      () => c.status('x'),
      () => c.queues(),
      () => c.failures.count(),
    ])
      await assert.rejects(call(), /ResqueClient is closed/);
  });

  test('enqueueMany: an empty id is replaced by a new one, as in enqueue', async () => {
    const [id] = await db.client.enqueueMany('e', [{ className: 'Echo', id: '' }], { trackStatus: true });
    assert.match(id!, /^[0-9a-f]{32}$/);
    assert.equal((await db.client.status(id!)).status, 'waiting');
  });

  test('a tracked enqueue to a queue key that is not a list fails and leaves no status behind', async () => {
    const r = db.redis.client();
    await r.set(keys.queue('broken'), 'not a list');
    await assert.rejects(
      db.client.enqueue('broken', 'Echo', [], { trackStatus: true, id: 'e1' }),
      /WRONGTYPE/,
    );
    assert.equal(await r.exists(keys.jobStatus('e1')), 0, 'no status stuck at waiting');
  });

  test('dequeue: args holding numbers beyond 2^53 match as written, not as rounded', async () => {
    const r = db.redis.client();
    const a = '{"class":"Archive","args":[9007199254740993]}';
    const b = '{"class":"Archive","args":[9007199254740992]}';
    await r.rpush(keys.queue('big'), a, b);
    assert.equal(await db.client.dequeue('big', 'Archive', [9007199254740992]), 1);
    assert.deepEqual(await r.lrange(keys.queue('big'), 0, -1), [a]);
    // Long digit runs inside strings are text: a php-resque payload (escaped "/") still matches.
    await r.rpush(
      keys.queue('php'),
      '{"class":"Fetch","args":[{"url":"https:\\/\\/example.com\\/a","id":"12345678901234567"}]}',
    );
    assert.equal(
      await db.client.dequeue('php', 'Fetch', [{ url: 'https://example.com/a', id: '12345678901234567' }]),
      1,
    );
  });

  test('failures: a retry whose record changed after it was read (removed, retried) writes nothing', async () => {
    const r = db.redis.client();
    const [first, second] = [failureRecord('q1', 1), failureRecord('q2', 2)];
    await r.rpush(keys.failed, first, second);
    // What a retry of index 1 sends, had someone removed index 0 between its read and its write:
    // Ruby's LSET by index would overwrite the record that moved up.
    await r.lrem(keys.failed, 1, first);
    const k = keys;
    const retried = await db.client.redis['retry-failure'](
      3,
      k.failed,
      k.queues,
      k.queue('q2'),
      1,
      second,
      second.replace(/}$/, ',"retried_at":"x"}'),
      '{"class":"A","args":[2]}',
      'q2',
    );
    assert.equal(retried, 0);
    assert.deepEqual(await r.lrange(keys.failed, 0, -1), [second]);
    assert.equal(await r.llen(keys.queue('q2')), 0);
  });

  test('failures: retry into a queue key that is not a list, or remove from a broken list, is an error', async () => {
    const r = db.redis.client();
    const record = failureRecord('broken', 1);
    await r.rpush(keys.failed, record);
    await r.set(keys.queue('broken'), 'not a list');
    await assert.rejects(db.client.failures.retry(0), /resque:queue:broken is a string, not a list/);
    assert.deepEqual(await r.lrange(keys.failed, 0, -1), [record], 'the record is not marked retried');
    await r.del(keys.failed);
    await r.set(keys.failed, 'not a list');
    await assert.rejects(db.client.failures.remove(0), /WRONGTYPE/);
    assert.equal(await db.client.failures.remove(0).catch(() => 'threw'), 'threw');
    await r.del(keys.failed);
    assert.equal(await db.client.failures.remove(0), false, 'no such record: false');
  });

  test('a reply lost after Redis ran an enqueue or a retry: it fails (may or may not), and is not sent again', async () => {
    const proxy = await startRedisProxy(db.redis.port);
    const c = new ResqueClient({ redisUrl: proxy.url });
    const r = db.redis.client();
    try {
      await c.size('warm-up');
      proxy.dropReplyTo('eval');
      await assert.rejects(
        c.enqueue('lost', 'Echo', [1]),
        /went away during the enqueue of 1 job\(s\) to "lost" \(the connection dropped before the reply\); they may or may not have been queued/,
      );
      await waitFor(() => c.redis.status === 'ready', { what: 'the client reconnected' });
      proxy.dropReplyTo('eval');
      await assert.rejects(
        c.enqueueMany('lost', [
          { className: 'Echo', args: [2] },
          { className: 'Echo', args: [3] },
        ]),
        /may or may not have been queued/,
      );
      // Back on its feet: anything ioredis kept to send again goes out first on the new connection.
      await waitFor(() => c.redis.status === 'ready', { what: 'the client reconnected' });
      await c.enqueue('lost', 'Echo', [4]);
      assert.deepEqual(
        (await r.lrange(keys.queue('lost'), 0, -1)).map((p) => JSON.parse(p).args[0]),
        [1, 2, 3, 4],
      );
      await r.rpush(keys.failed, failureRecord('again', 5));
      proxy.dropReplyTo('eval');
      await assert.rejects(c.failures.retry(0), /it may or may not have been requeued/);
      await waitFor(() => c.redis.status === 'ready', { what: 'the client reconnected' });
      await c.size('again');
      assert.equal(await r.llen(keys.queue('again')), 1);
    } finally {
      await c.close();
      await proxy.close();
    }
  });

  test('enqueue fails fast with a clear error while Redis is down, and works again after', async () => {
    const down = await TestRedis.start();
    const c = new ResqueClient({ redisUrl: down.url });
    try {
      await c.enqueue('q', 'Echo', []);
      await down.kill();
      const t0 = Date.now();
      await assert.rejects(c.enqueue('q', 'Echo', []), (err: Error) => {
        assert.ok(
          err instanceof RedisUnavailableError || /Redis|Connection|max retries/i.test(err.message),
          err.message,
        );
        return true;
      });
      assert.ok(Date.now() - t0 < 3000, 'failed fast');
      await down.restart();
      await new Promise<void>((resolve) =>
        c.redis.status === 'ready' ? resolve() : c.redis.once('ready', () => resolve()),
      );
      assert.match(await c.enqueue('q', 'Echo', []), /^[0-9a-f]{32}$/);
    } finally {
      await c.close();
      await down.stop();
    }
  });
});

function failureRecord(queue: string, n: number): string {
  return JSON.stringify({
    failed_at: '2026/01/12 20:23:55 UTC',
    payload: { class: 'A', args: [n] },
    exception: 'E',
    error: 'e',
    backtrace: [],
    worker: 'w',
    queue,
  });
}
