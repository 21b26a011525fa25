/**
 * A namespace other than Resque's default ("resque"): every key the client, the worker and the
 * scripts write (queues, hand-offs, in-flight lists, statuses, stats, failures, put-backs) is under
 * it, and nothing under "resque:" or anywhere else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResqueClient } from '../../src/client/client.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const NS = 'myapp';
const keys = resqueKeys(NS);

describe(`namespace "${NS}"`, () => {
  const db = useTestRedis({ jobs: [FIXTURES] });

  test('enqueue, hand-off, run, fail, status, stats and a put-back at a stop deadline stay under it', async () => {
    const client = new ResqueClient({ redisUrl: db.redis.url, namespace: NS });
    const w = new Worker({
      redisUrl: db.redis.url,
      namespace: NS,
      queues: ['q'],
      registry: db.registry,
      interval: 0.1,
    });
    try {
      await w.start();
      const ok = await client.enqueue('q', 'Echo', ['hi'], { trackStatus: true });
      const bad = await client.enqueue('q', 'Boom', ['no'], { trackStatus: true });
      await waitFor(async () => (await client.status(bad)).status === 'failed');
      assert.equal((await client.status(ok)).status, 'complete');
      assert.equal((await client.stats()).processed, 2);
      assert.equal(await client.failures.count(), 1);
      const long = await client.enqueue('q', 'Sleepy', [5000], { trackStatus: true });
      await waitFor(() => w.busy === 1);
      await w.stop(Date.now() + 50);
      assert.equal((await client.status(long)).status, 'waiting', 'put back');
      assert.equal(await client.size('q'), 1);
      const all = await db.redis.client().keys('*');
      assert.ok(all.length > 0);
      assert.deepEqual(
        all.filter((k) => !k.startsWith(`${NS}:`)),
        [],
        'every key under the namespace',
      );
      assert.ok(
        all.includes(keys.failed) && all.includes(keys.statProcessed) && all.includes(keys.queue('q')),
      );
    } finally {
      if (w.state !== 'stopped') await w.stop(Date.now());
      await client.close();
    }
  });
});
