/**
 * Payloads as peers write them (php-resque's exact form with status tracking, Ruby's bare form) and
 * every kind of bad input: each bad one becomes a failure record that says what was wrong, the
 * counters move, the worker keeps going, nothing is left behind or dropped.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ResqueClient } from '../../src/client/client.ts';
import type { FailureRecord } from '../../src/client/failures.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker } from '../../src/worker/worker.ts';
import { RecordArgs } from '../fixtures/jobs/basic.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('payloads from peers and bad input', () => {
  let redis: TestRedis;
  let client: ResqueClient;
  let worker: Worker;

  before(async () => {
    redis = await TestRedis.start();
    client = new ResqueClient({ redisUrl: redis.url });
    const registry = await new JobRegistry().load([FIXTURES]);
    worker = new Worker({ redisUrl: redis.url, queues: ['php', 'default'], registry, interval: 0.05 });
    await worker.start();
  });
  after(async () => {
    await worker.stop();
    await client.close();
    await redis.stop();
  });
  beforeEach(async () => {
    await redis.client().del(keys.failed, keys.statProcessed, keys.statFailed);
  });

  /** Pushes a raw payload as any Resque client would. */
  async function push(queue: string, raw: string): Promise<void> {
    await redis.client().multi().sadd(keys.queues, queue).rpush(keys.queue(queue), raw).exec();
  }

  async function phpJob(prefix: string, cls: string): Promise<string> {
    const id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'.slice(0, 30) + prefix.length.toString().padStart(2, '0');
    const now = Math.floor(Date.now() / 1000) - 5;
    const statusKey = keys.jobStatus(id, prefix);
    await redis
      .client()
      .set(statusKey, JSON.stringify({ status: 1, updated: now, started: now, result: null }));
    await push(
      'php',
      JSON.stringify({ class: cls, args: [{ name: 'Chris' }], id, prefix, queue_time: now + 0.123 }),
    );
    return id;
  }

  test("php-resque's exact payload runs with one object argument and ends with status 4", async () => {
    const id = await phpJob('', 'PhpStyle');
    const r = redis.client();
    await waitFor(async () => JSON.parse((await r.get(keys.jobStatus(id))) ?? '{}').status === 4);
    const status = JSON.parse((await r.get(keys.jobStatus(id)))!);
    assert.deepEqual(Object.keys(status), ['status', 'updated', 'started', 'result']);
    assert.deepEqual(status.result, { got: { name: 'Chris' } });
    assert.ok(status.updated >= status.started);
    const ttl = await r.ttl(keys.jobStatus(id));
    assert.ok(ttl > 86000 && ttl <= 86400, `expiry set: ${ttl}`);
  });

  test('a failing php-resque job with a prefix ends with status 3 and expiry set', async () => {
    const id = await phpJob('myapp', 'Boom');
    const r = redis.client();
    const key = keys.jobStatus(id, 'myapp');
    assert.match(key, /^resque:job:myapp_[0-9a-f]{32}:status$/);
    await waitFor(async () => JSON.parse((await r.get(key)) ?? '{}').status === 3);
    assert.ok((await r.ttl(key)) > 0);
    assert.equal(await client.failures.count(), 1);
  });

  test("Ruby's bare payload (no id) runs with its args spread, and is counted", async () => {
    RecordArgs.seen.length = 0;
    await push('default', '{"class":"RecordArgs","args":[35,"tar"]}');
    await waitFor(async () => (await redis.client().get(keys.statProcessed)) === '1');
    assert.deepEqual(RecordArgs.seen, [[35, 'tar']]);
    assert.equal(await redis.client().get(keys.statFailed), null);
  });

  test("Ruby's and PHP's class names (Mailers::Welcome, App\\Jobs\\Welcome) run the jobs a default export maps them to", async () => {
    const ruby = await client.enqueue('default', 'Mailers::Welcome', ['ann@example.com'], {
      trackStatus: true,
    });
    // As php-resque writes it: one object argument, the class with its namespace's backslashes.
    await push('php', JSON.stringify({ class: 'App\\Jobs\\Welcome', args: [{ to: 'bob' }], id: 'php-1' }));
    await waitFor(async () => (await client.status(ruby)).status === 'complete');
    assert.deepEqual((await client.status(ruby)).result, {
      to: 'ann@example.com',
      className: 'Mailers::Welcome',
    });
    await waitFor(async () => (await redis.client().get(keys.statProcessed)) === '2');
    assert.equal(await redis.client().get(keys.statFailed), null);
  });

  const badInputs: [string, string, string, RegExp][] = [
    ['not JSON', '{"class": "Echo", "args": [', 'InvalidPayload', /payload is not JSON/],
    ['not an object', '[1,2,3]', 'InvalidPayload', /not a JSON object/],
    ['no class', '{"args":[1]}', 'InvalidPayload', /no "class" string/],
    ['non-array args', '{"class":"Echo","args":{"a":1}}', 'InvalidPayload', /"args" of Echo is not an array/],
    [
      'unknown class',
      '{"class":"NoSuchJob","args":[]}',
      'UnknownJobClass',
      /unknown job class "NoSuchJob": not exported by .*fixtures\/jobs.*known: .*Echo/,
    ],
    [
      'a non-Error throw',
      '{"class":"RejectsString","args":[]}',
      'NonErrorThrown',
      /non-Error value: plain string/,
    ],
  ];
  for (const [what, raw, exception, message] of badInputs) {
    test(`bad input, ${what}: a failure record that says so, counters move, worker goes on`, async () => {
      await push('default', raw);
      await waitFor(async () => (await client.failures.count()) === 1);
      const [rec] = (await client.failures.list()) as FailureRecord[];
      assert.equal(rec!.exception, exception);
      assert.match(rec!.error, message);
      assert.equal(rec!.queue, 'default');
      assert.equal(rec!.worker, worker.id);
      // the payload is kept byte for byte (as a string when it is not an object) so it can be fixed and retried
      assert.equal(
        typeof rec!.payload === 'string' ? rec!.payload : JSON.stringify(rec!.payload),
        raw.startsWith('{"class": ') ? raw : JSON.stringify(JSON.parse(raw)),
      );
      const r = redis.client();
      assert.equal(await r.get(keys.statProcessed), '1');
      assert.equal(await r.get(keys.statFailed), '1');
      assert.equal(await r.llen(keys.workerInflight(worker.id)), 0);
      // the worker is still alive and working
      await client.enqueue('default', 'Echo', []);
      await waitFor(async () => (await r.get(keys.statProcessed)) === '2');
    });
  }

  test('a failed job can be retried: same payload back on its queue, record marked retried_at', async () => {
    await push('default', '{"class":"NoSuchJob","args":[1],"id":"0123456789abcdef0123456789abcdef"}');
    await waitFor(async () => (await client.failures.count()) === 1);
    worker.pause();
    try {
      assert.equal(await client.failures.retry(0), true);
      const [rec] = (await client.failures.list()) as FailureRecord[];
      assert.match(rec!.retried_at ?? '', /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
      assert.deepEqual(await client.peek('default'), [
        { class: 'NoSuchJob', args: [1], id: '0123456789abcdef0123456789abcdef' },
      ]);
      assert.equal(await client.failures.remove(0), true);
      assert.equal(await client.failures.count(), 0);
      await client.removeQueue('default');
    } finally {
      worker.resume();
    }
  });
});
