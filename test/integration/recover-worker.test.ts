import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { recoverWorker } from '../../src/recovery/recover-worker.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { Daemon } from '../helpers/cli.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('recovering a dead worker', () => {
  const db = useTestRedis({ flushEach: true });

  /** A real `resque-worker work` process that reserved jobs and was then SIGKILLed. */
  async function deadWorkerHolding(n: number, enqueue = true): Promise<{ id: string; ids: string[] }> {
    const jobs = Array.from({ length: enqueue ? n : 0 }, () => ({ className: 'Sleepy', args: [60_000] }));
    const ids = await db.client.enqueueMany('default', jobs, { trackStatus: true });
    const worker = new Daemon(
      ['work', '--jobs', FIXTURES, '--queues', 'default', '--concurrency', String(n)],
      {
        REDIS_URL: db.redis.url,
      },
    );
    try {
      const r = db.redis.client();
      const id = await waitFor(() => r.smembers(keys.workers).then((w) => w[0]));
      await waitFor(async () => (await r.llen(keys.workerInflight(id))) === n, {
        what: `${n} jobs in flight`,
      });
      return { id, ids };
    } finally {
      worker.kill('SIGKILL');
      await worker.exited;
    }
  }

  test('requeue mode puts in-flight jobs back at the head, statuses back to waiting, worker unregistered', async () => {
    const r = db.redis.client();
    const { id, ids } = await deadWorkerHolding(2);
    await db.client.enqueue('default', 'Echo', ['behind']);
    assert.equal(await r.llen(keys.workerInflight(id)), 2);
    await r.srem(keys.queues, 'default'); // resque-web's "remove queue" while the jobs ran
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const result = await recoverWorker(defineScripts(r), keys, id, { reason: 'SIGKILL', log });
    assert.deepEqual(result, { requeued: 2, failed: 0 });
    assert.deepEqual(
      lines.map(({ event, jobId, queue, class: cls, deadWorker, outcome }) => ({
        event,
        jobId,
        queue,
        cls,
        deadWorker,
        outcome,
      })),
      ids.reverse().map((jobId) => ({
        event: 'job.recovered',
        jobId,
        queue: 'default',
        cls: 'Sleepy',
        deadWorker: id,
        outcome: 'requeued',
      })),
      'a line per job, naming it',
    );
    ids.reverse();
    const queued = (await db.client.peek('default', 0, 10)) as { id?: string; class: string }[];
    assert.deepEqual(queued.map((p) => p.id ?? p.class).slice(0, 2), ids);
    assert.equal(queued[2]!.class, 'Echo');
    for (const jid of ids) assert.equal((await db.client.status(jid)).status, 'waiting');
    assert.deepEqual(
      await r.smembers(keys.queues),
      ['default'],
      'the queue is listed again, as a push lists it',
    );
    assert.deepEqual(await r.smembers(keys.workers), []);
    assert.equal(await r.exists(keys.workerInflight(id), keys.worker(id), keys.workerStarted(id)), 0);
  });

  test('fail mode records dirty-exit failures and final statuses', async () => {
    const r = db.redis.client();
    const { id, ids } = await deadWorkerHolding(1);
    const result = await recoverWorker(defineScripts(r), keys, id, {
      mode: 'fail',
      reason: 'worker killed: job timeout',
    });
    assert.deepEqual(result, { requeued: 0, failed: 1 });
    const [rec] = (await db.client.failures.list()) as { exception: string; error: string; worker: string }[];
    assert.equal(rec!.exception, 'DirtyExit');
    assert.equal(rec!.error, 'worker killed: job timeout');
    assert.equal(rec!.worker, id);
    assert.equal((await db.client.status(ids[0]!)).status, 'failed');
    assert.ok((await r.ttl(keys.jobStatus(ids[0]!))) > 0);
    assert.equal(await r.get(keys.statFailed), '1');
  });

  test('a poison job is failed after killing more workers than the limit', async () => {
    const r = db.redis.client();
    let { id: dead, ids } = await deadWorkerHolding(1);
    const jid = ids[0];
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    for (let round = 1; round <= 3; round++) {
      if (round > 1) ({ id: dead, ids } = await deadWorkerHolding(1, false));
      const res = await recoverWorker(defineScripts(r), keys, dead, {
        reason: 'SIGKILL',
        poisonLimit: 2,
        log,
      });
      assert.deepEqual(
        res,
        round <= 2 ? { requeued: 1, failed: 0 } : { requeued: 0, failed: 1 },
        `round ${round}`,
      );
    }
    assert.deepEqual(
      lines.map((l) => [l.outcome, l.jobId, l.level]), // pino's levels: 40 warn, 50 error
      [
        ['requeued', jid, 40],
        ['requeued', jid, 40],
        ['PoisonJob', jid, 50],
      ],
    );
    const [rec] = (await db.client.failures.list()) as { exception: string; error: string }[];
    assert.equal(rec!.exception, 'PoisonJob');
    assert.match(rec!.error, /3 workers that died \(limit 2\)/);
    assert.equal((await db.client.status(jid!)).status, 'failed');
    assert.equal(await db.client.size('default'), 0);
  });

  test('recovering twice is harmless', async () => {
    const r = db.redis.client();
    const { id } = await deadWorkerHolding(1);
    await recoverWorker(defineScripts(r), keys, id, { reason: 'x' });
    assert.deepEqual(await recoverWorker(defineScripts(r), keys, id, { reason: 'x' }), {
      requeued: 0,
      failed: 0,
    });
    assert.equal(await db.client.size('default'), 1);
  });
});
