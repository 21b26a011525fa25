/**
 * Redis outages (issue 4): workers stay up through them, log each once, and lose nothing; a reserve
 * or a finish whose reply was lost is repeated safely; the client fails fast while Redis is down.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { RedisUnavailableError, ResqueClient } from '../../src/client/client.ts';
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { finishHead } from '../../src/worker/outcome-batch.ts';
import { reserveKeys } from '../../src/worker/reserve-round-trip.ts';
import { Worker } from '../../src/worker/worker.ts';
import { closeRecordConnection, RECORD_KEYS } from '../fixtures/record-jobs/record.ts';
import { cli } from '../helpers/cli.ts';
import { freePort, TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const RECORD_JOBS = new URL('../fixtures/record-jobs/', import.meta.url).pathname;
const keys = resqueKeys();

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines, count: (event: string) => lines.filter((l) => l.event === event).length };
}

describe('Redis outages', () => {
  let redis: TestRedis;
  let client: ResqueClient;
  let registry: JobRegistry;
  const workers: Worker[] = [];

  before(async () => {
    redis = await TestRedis.start({ persistent: true });
    process.env.RECORD_REDIS_URL = redis.url;
    client = new ResqueClient({ redisUrl: redis.url });
    registry = await new JobRegistry().load([RECORD_JOBS]);
  });
  after(async () => {
    if (!redis.running) await redis.restart();
    await Promise.all(workers.map((w) => w.stop(Date.now())));
    closeRecordConnection();
    await client.close();
    await redis.stop();
  });
  beforeEach(async () => {
    // A test that failed while Redis was down must not leave the next one (and the stops) waiting.
    if (!redis.running) await redis.restart();
    await Promise.all(workers.splice(0).map((w) => w.stop(Date.now())));
    await redis.client().flushall();
  });

  let seq = 0;
  async function startWorker(opts: { concurrency?: number; logger?: pino.Logger } = {}) {
    const w = new Worker({
      id: `outage-host:${++seq}:q`,
      redisUrl: redis.url,
      queues: ['q'],
      registry,
      interval: 0.2,
      concurrency: opts.concurrency ?? 1,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    workers.push(w);
    await w.start();
    return w;
  }

  const enqueueRecords = (n: number, ms = 0, tag = 'j') =>
    client.enqueueMany(
      'q',
      Array.from({ length: n }, (_, i) => ({ className: 'Record', args: [`${tag}${i}`, ms] })),
    );

  async function allDone(n: number, ws: Worker[]) {
    const r = redis.client();
    await waitFor(
      async () =>
        (await r.scard(RECORD_KEYS.done)) >= n &&
        (await r.llen(keys.queue('q'))) === 0 &&
        ws.every((w) => w.busy === 0) &&
        (await Promise.all(ws.map((w) => r.llen(keys.workerInflight(w.id))))).every((l) => l === 0),
      { timeout: 30_000, what: `${n} jobs done, queue and in-flight lists empty` },
    );
  }

  test('a worker stays up through an outage, logs it once and the recovery once, and resumes; enqueue fails fast meanwhile', async () => {
    const log = capturingLogger();
    const w = await startWorker({ logger: log.logger, concurrency: 2 });
    await enqueueRecords(20, 0, 'before');
    await allDone(20, [w]);

    await redis.kill();
    await waitFor(() => log.count('redis.down') === 1, { what: 'redis.down logged' });
    assert.equal(log.lines.find((l) => l.event === 'redis.down')?.address, `127.0.0.1:${redis.port}`);
    const t0 = performance.now();
    await assert.rejects(client.enqueue('q', 'Record', ['x']), (err: Error) => {
      assert.ok(err instanceof RedisUnavailableError, `${err.name}: ${err.message}`);
      assert.match(
        err.message,
        new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port} is unreachable \\(.+\\); nothing was written$`),
      );
      return true;
    });
    const many = await Promise.allSettled(
      Array.from({ length: 500 }, () => client.enqueue('q', 'Record', ['y'])),
    );
    assert.ok(performance.now() - t0 < 2000, 'fails fast, no waiting for Redis');
    assert.ok(many.every((m) => m.status === 'rejected' && m.reason instanceof RedisUnavailableError));
    const offline = (client.redis as unknown as { offlineQueue: { length: number } }).offlineQueue;
    assert.equal(offline.length, 0, 'nothing piles up in an offline queue');

    // down for a while: the worker keeps running (it retries with back-off, quietly)
    const downUntil = Date.now() + 2500;
    await waitFor(() => Date.now() > downUntil, { timeout: 5000 });
    assert.equal(w.state, 'running');
    await redis.restart();
    await waitFor(() => log.count('redis.up') === 1, { what: 'redis.up logged', timeout: 10_000 });
    await waitFor(() => client.redis.status === 'ready', { what: 'client reconnected' });
    await enqueueRecords(20, 0, 'after');
    await allDone(40, [w]);
    assert.equal(log.count('redis.down'), 1, 'one line for the outage, not one per retry');
    assert.equal(log.count('redis.up'), 1);
    const up = log.lines.find((l) => l.event === 'redis.up')!;
    assert.ok((up.downSeconds as number) >= 2, `downSeconds ${up.downSeconds}`);
  });

  test('a job that finished while Redis was down is recorded when it is back, not run again', async () => {
    const r = redis.client();
    const w = await startWorker();
    const [id] = await client.enqueueMany('q', [{ className: 'Record', args: ['slow', 1500] }], {
      trackStatus: true,
    });
    await waitFor(async () => (await r.scard(RECORD_KEYS.runs('slow'))) === 1, { what: 'job started' });
    await redis.kill();
    await waitFor(() => w.busy === 0, { what: 'job finished during the outage', timeout: 5000 });
    await redis.restart();
    await waitFor(async () => (await client.status(id!)).status === 'complete', {
      what: 'completion recorded after the outage',
      timeout: 10_000,
    });
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.llen(keys.workerInflight(w.id)), 0);
    assert.equal(await r.scard(RECORD_KEYS.runs('slow')), 1, 'ran exactly once');
  });

  test('Redis restarted again and again while workers reserve: every job runs, none stays in flight', async () => {
    const r = redis.client();
    const ws = [await startWorker({ concurrency: 4 }), await startWorker({ concurrency: 4 })];
    const n = 3000;
    await enqueueRecords(n, 1);
    for (let restart = 0; restart < 4; restart++) {
      const seen = Number(await r.scard(RECORD_KEYS.done).catch(() => 0));
      await waitFor(async () => (await r.scard(RECORD_KEYS.done)) > seen + 150, {
        what: 'progress between restarts',
        timeout: 20_000,
      });
      await redis.restart(); // SIGKILL + start on the same port, data from the AOF (fsync always)
    }
    await allDone(n, ws);
    assert.equal(await r.scard(RECORD_KEYS.done), n, 'every job ran at least once');
    const duplicated = await r.scard(RECORD_KEYS.again);
    assert.equal(await r.llen(keys.failed), 0);
    assert.equal(Number(await r.get(keys.statProcessed)), n, 'each job recorded once');
    // at-least-once: a job whose completion was lost with a restart may run again; count, not forbid
    assert.ok(duplicated < 50, `duplicated ${duplicated}`);
  });

  test('`resque-worker enqueue` with Redis away: a one-line error naming the address and cause, exit 69 (EX_UNAVAILABLE), no stack', async () => {
    const port = await freePort();
    const res = await cli(['enqueue', 'q', 'Record', 'x'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    assert.equal(res.code, 69, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `^resque-worker: Redis at 127\\.0\\.0\\.1:${port} is unreachable \\(.*ECONNREFUSED.*\\); nothing was written\n$`,
      ),
    );
  });

  /** reserve.lua and finish.lua called directly, as the worker's round trip does. */
  const scriptsFor = (workerId: string) => {
    const r = defineScripts(redis.client());
    /** The entries taken, and reserve.lua's state word as `state`; `fresh` is its ARGV[7]. */
    const reserveFresh = async (fresh: string, token: string, count: number, ...queues: string[]) => {
      const [state, ...entries] = await r.reserveBuffer(
        ...reserveKeys(keys, workerId),
        token,
        count,
        '2026-11-26T12:00:00Z',
        workerId,
        keys.queuePrefix,
        keys.jobStatusPrefix,
        fresh,
        ...queues,
      );
      return Object.assign(entries, { state: String(state) });
    };
    return {
      r,
      reserveFresh,
      reserve: (token: string, count: number, ...queues: string[]) =>
        reserveFresh('', token, count, ...queues),
      finish: (entry: Buffer) =>
        r.finish(
          ...finishHead(keys, workerId),
          1,
          86400,
          keys.jobStatusPrefix,
          5,
          keys.prefix,
          entry,
          '',
          '',
          '',
          '',
        ),
    };
  };

  test("an idle worker's room only goes down until it counts afresh (a hand-off may still be on its way)", async () => {
    const id = 'h:4:empty';
    const { r, reserve, reserveFresh } = scriptsFor(id);
    assert.equal((await reserve('e.1', 5, 'empty')).state, 'idle');
    assert.equal(await r.zscore(keys.idleWorkers, id), '5');
    await r.zadd(keys.idleWorkers, 0, id); // enqueue.lua used up its room and sent 'w'
    await reserve('e.2', 5, 'empty'); // a poll that counted its room before the hand-off arrived
    assert.equal(await r.zscore(keys.idleWorkers, id), '0', 'a stale count does not raise it');
    await reserveFresh('fresh', 'e.3', 4, 'empty'); // the reserve the 'w' asked for
    assert.equal(await r.zscore(keys.idleWorkers, id), '4');
  });

  test('reserve and finish are safe to repeat: a re-sent reserve returns what it took, a re-sent finish counts once', async () => {
    await enqueueRecords(5);
    const id = 'h:1:q';
    const { r, reserve: reserveN, finish: finishEntry } = scriptsFor(id);
    const reserve = (token: string) => reserveN(token, 2, 'q');
    const first = await reserve('a.1');
    const again = await reserve('a.1'); // the same command once more, as after a lost reply
    assert.equal(first.length, 2);
    assert.equal(first.state, 'more');
    assert.deepEqual([...again], [...first]);
    assert.equal(
      again.state,
      'again',
      'says it is a reservation sent again (the worker must not take it as drained)',
    );
    assert.equal(await r.llen(keys.queue('q')), 3, 'no second pair taken');
    assert.equal((await reserve('a.2')).length, 2, 'a new token takes new jobs');
    const finish = () => finishEntry(first[0]!);
    assert.equal(await finish(), 1);
    assert.equal(await finish(), 0, 'already recorded: skipped');
    assert.equal(await r.get(keys.statProcessed), '1');
    assert.equal(await r.llen(keys.workerInflight(id)), 3);
  });

  test('identical payloads make distinct in-flight entries: a re-sent finish of one never records the other', async () => {
    const { r, reserve, finish } = scriptsFor('h:2:dup');
    const ruby = '{"class":"Archive","args":[35,"tar"]}'; // Ruby payloads have no id: two are byte-identical
    await r.rpush(keys.queue('dup'), ruby, ruby);
    const taken = await reserve('d.1', 2, 'dup');
    assert.equal(taken.length, 2);
    assert.notDeepEqual(taken[0], taken[1]);
    await r.del(keys.statProcessed);
    assert.equal(await finish(taken[0]!), 1);
    assert.equal(await finish(taken[0]!), 0, 'the re-sent finish leaves the twin in flight');
    assert.equal(await r.llen(keys.workerInflight('h:2:dup')), 1);
    assert.equal(await finish(taken[1]!), 1);
    assert.equal(await r.get(keys.statProcessed), '2');
  });

  test('a queue key that is not a list is skipped; jobs popped from the queues before it are kept', async () => {
    const id = 'h:3:q,broken';
    const { r, reserve } = scriptsFor(id);
    await r.del(keys.queue('q'));
    await r.set(keys.queue('broken'), 'not a list');
    await enqueueRecords(3);
    const taken = await reserve('b.1', 5, 'q', 'broken'); // more than q holds: it goes on to the broken key
    assert.equal(taken.length, 3);
    assert.equal(taken.state, 'idle');
    assert.equal(await r.zscore(keys.idleWorkers, id), '2', 'drained: in the idle set with its room');
    assert.equal(await r.llen(keys.workerInflight(id)), 3, 'in flight, not lost');
    assert.equal(await r.get(keys.queue('broken')), 'not a list');
  });

  test('at a stop, jobs reserved without a reply (in its list, never started) go back to their queue', async () => {
    const r = redis.client();
    const w = await startWorker();
    const payload = '{"class":"Record","args":["unclaimed"]}';
    await r.rpush(keys.workerInflight(w.id), `lost.7\u00002026-11-26T12:00:00Z\u0000q\u0000${payload}`);
    await w.stop();
    assert.deepEqual(await r.lrange(keys.queue('q'), 0, -1), [payload]);
    assert.equal(await r.exists(keys.workerInflight(w.id)), 0);
  });
});
