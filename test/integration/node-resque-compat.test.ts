/**
 * Wire compatibility with node-resque 9 (a real peer, sharing our private Redis): jobs it enqueues
 * run on our worker, jobs we enqueue run on its worker, and its Queue reads what our worker wrote.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Worker as NodeResqueWorker, Queue } from 'node-resque';
import { ResqueClient } from '../../src/client/client.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { recoverWorker } from '../../src/recovery/recover-worker.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { Worker } from '../../src/worker/worker.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('node-resque compatibility', () => {
  let redis: TestRedis;
  let client: ResqueClient;
  let registry: JobRegistry;
  let queue: Queue;
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    redis = await TestRedis.start();
    client = new ResqueClient({ redisUrl: redis.url });
    registry = await new JobRegistry().load([FIXTURES]);
    queue = new Queue({ connection: { host: '127.0.0.1', port: redis.port, namespace: 'resque' } });
    queue.on('error', () => {});
    await queue.connect();
  });
  after(async () => {
    for (const stop of stops.splice(0)) await stop();
    await queue.end();
    await client.close();
    await redis.stop();
  });
  beforeEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await redis.client().flushall();
  });

  async function ourWorker(): Promise<Worker> {
    const w = new Worker({ redisUrl: redis.url, queues: ['math'], registry, interval: 0.1 });
    await w.start();
    stops.push(() => w.stop());
    return w;
  }

  test('a job node-resque enqueues runs on our worker', async () => {
    await queue.enqueue('math', 'asyncAdd', [40, 2]);
    const raw = await redis.client().lindex(keys.queue('math'), 0);
    assert.deepEqual(JSON.parse(raw!), { class: 'asyncAdd', queue: 'math', args: [40, 2] });
    const w = await ourWorker();
    const report = await new Promise<{ outcome: string; className?: string }>((r) => w.once('job', r));
    assert.equal(report.outcome, 'done');
    assert.equal(report.className, 'asyncAdd');
    assert.equal(await redis.client().get(keys.statProcessed), '1');
  });

  test('a job we enqueue runs on a node-resque worker', async () => {
    const seen: unknown[][] = [];
    const worker = new NodeResqueWorker(
      {
        connection: { host: '127.0.0.1', port: redis.port, namespace: 'resque' },
        queues: ['math'],
        timeout: 50,
      },
      { add: { perform: async (a: number, b: number) => seen.push([a, b]) } },
    );
    worker.on('error', () => {});
    await worker.connect();
    worker.start();
    stops.push(() => worker.end());
    await client.enqueue('math', 'add', [1, 2]);
    await waitFor(() => seen.length === 1, { what: 'node-resque to run our job' });
    assert.deepEqual(seen[0], [1, 2]);
  });

  test("node-resque's queue.workers(), allWorkingOn(), stats() and failed() read what our worker wrote", async () => {
    const w = await ourWorker();
    const [hostName, pid] = w.id.split(':');
    assert.deepEqual(await queue.workers(), { [`${hostName}:${pid}`]: 'math' });

    await client.enqueue('math', 'Sleepy', [400]);
    await waitFor(() => w.busy === 1);
    const working = (await queue.allWorkingOn()) as Record<
      string,
      { queue: string; payload: { class: string } }
    >;
    // Filed under the worker's name, as node-resque's own workers are: busy, and no second entry.
    assert.deepEqual(Object.keys(working), [`${hostName}:${pid}`]);
    const entry = working[`${hostName}:${pid}`];
    assert.ok(entry && typeof entry === 'object', `allWorkingOn: ${JSON.stringify(working)}`);
    assert.equal(entry.queue, 'math');
    assert.equal(entry.payload.class, 'Sleepy');

    await client.enqueue('math', 'Boom', ['for node-resque']);
    await waitFor(async () => (await redis.client().get(keys.statFailed)) === '1');
    const stats = await queue.stats();
    assert.equal(stats.processed, '2');
    assert.equal(stats.failed, '1');
    assert.equal(stats[`processed:${w.id}`], '2');
    assert.equal(await queue.failedCount(), 1);
    const [failure] = await queue.failed(0, -1);
    assert.equal(failure!.queue, 'math');
    assert.equal(failure!.exception, 'TypeError');
    assert.equal(failure!.error, 'for node-resque');
    assert.equal(failure!.worker, w.id);
    assert.equal(failure!.payload.class, 'Boom');
  });

  test('failure records our scripts write (a dead worker recovered in fail mode) are removed and retried by node-resque', async () => {
    // node-resque finds a record by the bytes of JSON.stringify(the record as parsed) (LREM): the
    // scripts' records must be those bytes, '/' in failed_at and DEL in a text payload included.
    const r = redis.client();
    const dead = 'gone-host:1:math';
    const payload = JSON.stringify({ class: 'Echo', args: ['a/b'], id: 'job-1' });
    await r.rpush(
      keys.workerInflight(dead),
      `t#1\0${new Date().toISOString()}\0math\0${payload}`,
      'unreadable/entry \x7f and \\u007f as text',
    );
    const recovered = await recoverWorker(defineScripts(r), keys, dead, {
      mode: 'fail',
      reason: 'killed: a/b',
    });
    assert.deepEqual(recovered, { requeued: 0, failed: 2 });
    const raw = await r.lrange(keys.failed, 0, -1);
    for (const record of raw) assert.equal(record, JSON.stringify(JSON.parse(record)));
    const failed = await queue.failed(0, -1);
    const job = failed.find((f) => f.queue === 'math');
    const text = failed.find((f) => f.queue === '');
    assert.equal(job?.exception, 'DirtyExit');
    assert.equal(text?.exception, 'DirtyExit');
    assert.equal(await queue.retryAndRemoveFailed(job!), true);
    assert.equal(await queue.removeFailed(text!), 1);
    assert.equal(await queue.failedCount(), 0);
    const requeued = (await r.lrange(keys.queue('math'), 0, -1)).map((p) => JSON.parse(p));
    assert.deepEqual(
      requeued.map((p) => [p.class, p.args]),
      [['Echo', ['a/b']]],
    );
  });

  test("node-resque's cleanOldWorkers() cleans a busy worker of ours as it cleans its own", async () => {
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    queue.on('error', onError);
    try {
      const w = await ourWorker();
      const [hostName, pid] = w.id.split(':');
      await client.enqueue('math', 'Sleepy', [400]);
      await waitFor(() => w.busy === 1);
      await new Promise((res) => setTimeout(res, 5)); // cleanOldWorkers(0) takes run_at < now
      const cleaned = (await queue.cleanOldWorkers(0)) as Record<string, { payload: { class: string } }>;
      assert.deepEqual(errors, []);
      assert.deepEqual(Object.keys(cleaned), [`${hostName}:${pid}`]);
      assert.equal(cleaned[`${hostName}:${pid}`]!.payload.class, 'Sleepy');
      const [failure] = await queue.failed(0, -1);
      assert.equal(failure!.payload.class, 'Sleepy');
      assert.equal(failure!.exception, 'Worker Timeout (killed manually)');
      assert.deepEqual(await queue.workers(), {});
      // The job itself is still ours: it finishes and is counted.
      await waitFor(async () => (await redis.client().get(keys.statProcessed)) === '1');
    } finally {
      queue.off('error', onError);
    }
  });
});
