/**
 * Bad input (issue 4): huge payloads, odd queue names, unicode args, broken failure records,
 * garbage worker records. Each gets a clear error or just works; nothing is lost, nothing crashes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FailureRecord } from '../../src/index.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const JOBS = new URL('../fixtures/record-jobs/measure.ts', import.meta.url).pathname;
const keys = resqueKeys();

describe('bad input', () => {
  const workers: Worker[] = [];
  const db = useTestRedis({
    jobs: [JOBS],
    flushEach: true,
    release: () => Promise.all(workers.splice(0).map((w) => w.stop(Date.now()))),
  });

  async function startWorker(queues: string[]) {
    const w = new Worker({ redisUrl: db.redis.url, queues, registry: db.registry, interval: 0.2 });
    workers.push(w);
    await w.start();
    return w;
  }

  test('a 10 MB payload runs; when it fails, the failure record keeps all of it', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    const ok = await db.client.enqueue('big', 'Measure', [big], { trackStatus: true });
    const bad = await db.client.enqueue('big', 'FailBig', [big], { trackStatus: true });
    await startWorker(['big']);
    await waitFor(async () => (await db.client.status(ok)).status === 'complete', { timeout: 20_000 });
    assert.deepEqual((await db.client.status(ok)).result, { bytes: big.length + 4 });
    await waitFor(async () => (await db.client.status(bad)).status === 'failed', { timeout: 20_000 });
    const [rec] = (await db.client.failures.list()) as FailureRecord[];
    assert.equal((rec!.payload as { args: string[] }).args[0]!.length, big.length);
    assert.equal(await db.redis.client().get(keys.statProcessed), '2');
  });

  test('queue names with ":", spaces and unicode work end to end; unusable names are refused clearly', async () => {
    const names = ['a:b:c', 'with space', 'ünïcødé-队列-😀'];
    const ids = await Promise.all(
      names.map((q) => db.client.enqueue(q, 'Measure', [q], { trackStatus: true })),
    );
    const w = await startWorker(names);
    for (const [i, id] of ids.entries()) {
      await waitFor(async () => (await db.client.status(id)).status === 'complete');
      assert.deepEqual((await db.client.status(id)).result, {
        bytes: Buffer.byteLength(JSON.stringify([names[i]])),
        args: [names[i]],
      });
    }
    assert.deepEqual((await db.client.queues()).sort(), [...names].sort());
    assert.ok(w.id.endsWith(`:${names.join(',')}`));
    for (const bad of ['', 'a,b', ' padded', 'nul\0']) {
      await assert.rejects(db.client.enqueue(bad, 'Measure', []), (err: Error) => {
        assert.match(err.message, /invalid queue name/);
        assert.ok(err.message.includes(JSON.stringify(bad)), err.message);
        return true;
      });
    }
    assert.equal((await db.client.queues()).length, 3, 'nothing written for a refused name');
  });

  test('args holding unicode, "/" and line separators arrive exactly, and can be dequeued by value', async () => {
    const args = ['héllo/wörld', '😀 \u2028 \u2029', { path: '/a/b', κλειδί: ['\\', '"'] }, 'a\u0000b'];
    const raw = () => db.redis.client().lrange(keys.queue('u'), 0, -1);
    await db.client.enqueue('u', 'Measure', args);
    assert.deepEqual(JSON.parse((await raw())[0]!).args, args);
    assert.equal(await db.client.dequeue('u', 'Measure', args), 1);
    const id = await db.client.enqueue('u', 'Measure', args, { trackStatus: true });
    await startWorker(['u']);
    await waitFor(async () => (await db.client.status(id)).status === 'complete');
    assert.deepEqual(((await db.client.status(id)).result as { args: unknown }).args, args);
  });

  test('failure records that are not JSON, or whose payload is not JSON: listed raw, retried without loss', async () => {
    const r = db.redis.client();
    const notJsonPayload = JSON.stringify({
      failed_at: '2026/01/12 20:23:55 UTC',
      payload: '{"class": broken',
      exception: 'InvalidPayload',
      error: 'payload is not JSON',
      backtrace: [],
      worker: 'w',
      queue: 'fix',
    });
    const noQueue = JSON.stringify({ failed_at: 'x', payload: { class: 'Measure', args: [] } });
    await r.rpush(keys.failed, 'garbage\u0000{', notJsonPayload, noQueue, '[1,2]', 'null');
    const list = await db.client.failures.list();
    assert.equal(list.length, 5);
    assert.equal(list[0], 'garbage\u0000{');
    assert.equal(await db.client.failures.retry(0), false, 'not JSON: nothing to requeue, kept');
    assert.equal(await db.client.failures.retry(2), false, 'no queue: cannot retry, kept');
    assert.equal(await db.client.failures.retry(3), false);
    assert.equal(await db.client.failures.retry(4), false);
    assert.equal(await db.client.failures.retry(99), false);
    // a payload that is not JSON goes back as it was; a worker then fails it again, with a reason
    assert.equal(await db.client.failures.retry(1), true);
    assert.deepEqual(await r.lrange(keys.queue('fix'), 0, -1), ['{"class": broken']);
    await startWorker(['fix']);
    await waitFor(async () => (await db.client.failures.count()) === 6);
    const last = (await db.client.failures.list(5, 1))[0] as FailureRecord;
    assert.equal(last.exception, 'InvalidPayload');
    assert.equal(last.payload, '{"class": broken');
    assert.equal(await db.client.failures.count(), 6, 'every record still there');
  });

  test('a garbage worker record does not break inspection', async () => {
    const r = db.redis.client();
    await r.sadd(keys.workers, 'h:1:q', 'no-colons');
    await r.set(keys.worker('h:1:q'), '{not json');
    await r.hset(keys.heartbeats, 'h:1:q', 'yesterday');
    const infos = await db.client.workers();
    assert.equal(infos.length, 2);
    assert.equal(infos.find((i) => i.id === 'h:1:q')!.job, '{not json');
    assert.equal((await db.client.stats()).workers, 2);
  });
});
