/**
 * Peers cannot evict us wrongly (issue 4): Ruby Resque's and php-resque's prune rules, written out
 * here as they are in their sources, run against REAL `resque-worker work` processes. A live
 * worker of ours (idle or busy) survives both; a SIGKILLed one is pruned by them, and then our
 * pruner puts its in-flight job back (their prune knew nothing of our in-flight list).
 */
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { pruneDeadWorkers } from '../../src/recovery/prune-dead-workers.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { cli, Daemon } from '../helpers/cli.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

/** Ruby's unregister_worker: fail the job in `worker:<id>` (DirtyExit), then drop its keys. */
async function rubyUnregister(r: Redis, id: string): Promise<void> {
  const job = await r.get(keys.worker(id));
  if (job) {
    const { queue, payload } = JSON.parse(job);
    await r.rpush(
      keys.failed,
      JSON.stringify({
        failed_at: '2026/11/26 12:00:00 UTC',
        payload,
        exception: 'Resque::DirtyExit',
        error: 'Job still being processed',
        backtrace: [],
        worker: id,
        queue,
      }),
    );
  }
  await r
    .pipeline()
    .srem(keys.workers, id)
    .del(keys.worker(id), keys.workerStarted(id))
    .hdel(keys.heartbeats, id)
    .del(keys.workerStatProcessed(id), keys.workerStatFailed(id))
    .exec();
}

/** lib/resque/worker.rb prune_dead_workers, for a Ruby worker on `queues` on this host. */
async function rubyPrune(r: Redis, queues: string[]): Promise<string[]> {
  const all = await r.smembers(keys.workers);
  if (all.length === 0) return [];
  const known = execSync(
    `ps -A -o pid,command | grep -E "[r]esque:work|[r]esque:\\sStarting|[r]esque-[0-9]" | grep -v "resque-web" || true`,
  )
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().split(' ')[0]);
  const beats = await r.hgetall(keys.heartbeats);
  const [secs] = await r.time();
  const pruned: string[] = [];
  for (const id of all) {
    const beat = beats[id];
    if (beat && Number(secs) - Date.parse(beat) / 1000 > 300) {
      await rubyUnregister(r, id);
      pruned.push(id);
      continue;
    }
    const [host, pid, raw = ''] = id.split(':');
    const theirs = raw.split(',');
    const same = theirs.length === queues.length && theirs.every((q) => queues.includes(q));
    if (!(queues.includes('*') || same)) continue;
    if (host !== hostname()) continue;
    if (known.includes(pid!)) continue;
    await rubyUnregister(r, id);
    pruned.push(id);
  }
  return pruned;
}

/** php-resque Worker::pruneDeadWorkers (+ workerPids), same host only, no heartbeat rule. */
async function phpPrune(r: Redis): Promise<string[]> {
  const pids = execSync(`ps -A -o pid,args | grep '[r]esque' || true`)
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().split(' ')[0]);
  const pruned: string[] = [];
  for (const id of await r.smembers(keys.workers)) {
    const [host, pid] = id.split(':', 3);
    if (host !== hostname() || pids.includes(pid!) || Number(pid) === process.pid) continue;
    await rubyUnregister(r, id); // php's unregisterWorker drops the same keys
    pruned.push(id);
  }
  return pruned;
}

describe('peer prune rules against real workers of ours', () => {
  let redis: TestRedis;
  let env: NodeJS.ProcessEnv;
  const daemons: Daemon[] = [];

  before(async () => {
    redis = await TestRedis.start();
    env = { REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
  });
  after(async () => {
    for (const d of daemons) d.kill('SIGKILL');
    await redis.stop();
  });

  test('live (idle and busy) workers survive Ruby and php prunes; SIGKILLed ones are pruned, then recovered by us', async () => {
    const r = redis.client();
    const spawnWorker = async () => {
      const d = new Daemon(['work', '--jobs', FIXTURES, '--queues', 'default'], env);
      daemons.push(d);
      const id = await waitFor(
        async () => (await r.smembers(keys.workers)).find((w) => w.includes(`:${d.proc.pid}:`)),
        {
          what: 'worker registered',
          timeout: 20_000,
        },
      );
      return { d, id };
    };
    const a = await spawnWorker();
    const b = await spawnWorker();

    // idle
    assert.deepEqual(await rubyPrune(r, ['default']), []);
    assert.deepEqual(await rubyPrune(r, ['*']), []);
    assert.deepEqual(await phpPrune(r), []);

    // busy: both hold a long job
    const ids = [
      (await cli(['enqueue', 'default', 'Sleepy', '60000', '--track'], env)).stdout.trim(),
      (await cli(['enqueue', 'default', 'Sleepy', '60000', '--track'], env)).stdout.trim(),
    ];
    await waitFor(async () => (await r.exists(keys.worker(a.id), keys.worker(b.id))) === 2, {
      what: 'both busy',
    });
    assert.deepEqual(await rubyPrune(r, ['default']), []);
    assert.deepEqual(await phpPrune(r), []);
    assert.deepEqual((await r.smembers(keys.workers)).sort(), [a.id, b.id].sort());

    // our own pruner leaves them alone too
    const ours = defineScripts(redis.client());
    assert.deepEqual((await pruneDeadWorkers(ours, keys, { deadAfter: 300 })).pruned, []);

    // SIGKILL: php's rule catches A, Ruby's catches B
    a.d.kill('SIGKILL');
    await a.d.exited;
    assert.deepEqual(await phpPrune(r), [a.id]);
    b.d.kill('SIGKILL');
    await b.d.exited;
    assert.deepEqual(await rubyPrune(r, ['default']), [b.id]);
    assert.equal(await r.scard(keys.workers), 0);
    assert.equal(await r.llen(keys.failed), 2, 'the peers failed the jobs they saw (DirtyExit)');

    // Their prune left our in-flight lists: our pruner puts the jobs back (at-least-once)
    const res = await pruneDeadWorkers(ours, keys, { deadAfter: 300 });
    assert.deepEqual(
      res.pruned.map((p) => [p.workerId, p.rule, p.requeued]).sort(),
      [
        [a.id, 'process-gone', 1],
        [b.id, 'process-gone', 1],
      ].sort(),
    );
    const queued = (await r.lrange(keys.queue('default'), 0, -1)).map((p) => JSON.parse(p).id).sort();
    assert.deepEqual(queued, [...ids].sort());
    assert.equal(await r.exists(keys.workerInflight(a.id), keys.workerInflight(b.id)), 0);
  });
});
