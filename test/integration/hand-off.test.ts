/**
 * Hand-off: an enqueue puts a job straight into an idle worker's in-flight list and tells that
 * worker on its channel (enqueue.lua), so an idle worker starts a job in one hop.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildPayload } from '../../src/jobs/payload.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import type { JobReport } from '../../src/worker/run-entry.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('hand-off to idle workers', () => {
  const workers: Worker[] = [];
  const db = useTestRedis({
    jobs: [FIXTURES],
    flushEach: true,
    release: () => Promise.all(workers.splice(0).map((w) => w.stop())),
  });

  /** A started worker that is idle (in the idle set), with the jobs it ran. */
  async function idleWorker(opts: Partial<WorkerOptions> = {}): Promise<{ w: Worker; ran: JobReport[] }> {
    const w = new Worker({
      redisUrl: db.redis.url,
      queues: ['default'],
      registry: db.registry,
      interval: 30, // a job it runs was handed to it or woke it: the poll is too far off to matter
      concurrency: 5,
      ...opts,
    });
    workers.push(w);
    const ran: JobReport[] = [];
    w.on('job', (report) => ran.push(report));
    const idle = new Promise<void>((res) => w.once('idle', res));
    await w.start();
    await idle;
    return { w, ran };
  }

  const r = () => db.redis.client();

  test('a job goes to the idle worker that serves its queue (exact name or glob), with the most room', async () => {
    const small = await idleWorker({ queues: ['mail*'], concurrency: 2, id: 'host:1:mail*' });
    const big = await idleWorker({ queues: ['high', 'mail-eu'], concurrency: 4, id: 'host:2:high,mail-eu' });
    const other = await idleWorker({ queues: ['other'], concurrency: 9, id: 'host:3:other' });
    await db.client.enqueue('mail-eu', 'Echo', [1]);
    await waitFor(() => big.ran.length === 1, { what: 'the job ran on the worker with room 4' });
    await db.client.enqueue('mail-us', 'Echo', [2]);
    await waitFor(() => small.ran.length === 1, { what: 'the job ran on the only worker serving mail-us' });
    assert.equal(other.ran.length, 0);
    assert.equal(
      await r().zscore(keys.idleWorkers, other.w.id),
      '9',
      'a worker of other queues keeps its room',
    );
    assert.equal(await r().llen(keys.queue('mail-eu')), 0);
    assert.equal(await r().llen(keys.queue('mail-us')), 0);
    assert.deepEqual(
      await r()
        .smembers(keys.queues)
        .then((q) => q.sort()),
      ['mail-eu', 'mail-us'],
    );
  });

  test("queue names are matched whole, whatever characters JSON escapes in them ('/', '\"', ']', non-ASCII)", async () => {
    // enqueue.lua matches a worker's queue list as text (no JSON decode): these names are where a
    // text match could go wrong ('x"a' holds the JSON string "a" as a substring). The odd worker
    // has the most room, so any false match would hand it the job.
    const odd = await idleWorker({ queues: ['a/b', 'x"y]', 'é', 'x"a'], concurrency: 9, id: 'host:1:odd' });
    const plain = await idleWorker({ queues: ['a'], concurrency: 4, id: 'host:2:a' });
    const all = await idleWorker({ queues: ['*'], concurrency: 2, id: 'host:3:*' });
    const expected = { 'a/b': odd, 'x"y]': odd, é: odd, a: plain, b: all, 'x"y': all, 'a/b]': all };
    for (const [queue, worker] of Object.entries(expected)) {
      const ran = worker.ran.length;
      await db.client.enqueue(queue, 'Echo', [queue]);
      await waitFor(() => worker.ran.length === ran + 1, { what: `the ${queue} job ran on ${worker.w.id}` });
      assert.equal(worker.ran.at(-1)?.queue, queue);
    }
    assert.deepEqual(
      [odd, plain, all].map((w) => w.ran.length),
      [3, 1, 3],
    );
  });

  test('idle workers take turns, and each gets its room back as its jobs finish', async () => {
    const a = await idleWorker({ id: 'host:1:default' });
    const b = await idleWorker({ id: 'host:2:default' });
    for (let i = 0; i < 6; i++) {
      await db.client.enqueue('default', 'Echo', [i]);
      await waitFor(() => a.ran.length + b.ran.length === i + 1, { what: `job ${i} ran` });
    }
    assert.deepEqual([a.ran.length, b.ran.length], [3, 3], 'one after the other, as BRPOP serves');
    await waitFor(
      async () =>
        (await r().zscore(keys.idleWorkers, a.w.id)) === '5' &&
        (await r().zscore(keys.idleWorkers, b.w.id)) === '5',
      { what: 'both back to their full room (concurrency 5) once their jobs are recorded' },
    );
    // The busier worker has less room: the next job goes to the other.
    await db.client.enqueue('default', 'Sleepy', [2000]);
    await waitFor(() => a.w.busy + b.w.busy === 1, { what: 'the sleeper started' });
    const sleeper = a.w.busy === 1 ? a : b;
    const other = sleeper === a ? b : a;
    await db.client.enqueue('default', 'Echo', ['next']);
    await waitFor(() => other.ran.length === 4, { what: 'the next job ran on the idle one' });
  });

  test('a bulk enqueue hands out what the idle workers have room for and queues the rest, each job run once', async () => {
    const a = await idleWorker({ id: 'host:1:default' });
    const b = await idleWorker({ id: 'host:2:default' });
    const ids = await db.client.enqueueMany(
      'default',
      Array.from({ length: 40 }, (_, i) => ({ className: 'Echo', args: [i] })),
    );
    await waitFor(() => a.ran.length + b.ran.length === 40, { what: 'all 40 jobs run' });
    assert.ok(a.ran.length > 0 && b.ran.length > 0, `both took jobs: ${a.ran.length} + ${b.ran.length}`);
    const seen = [...a.ran, ...b.ran].map((j) => j.jobId).sort();
    assert.deepEqual(seen, [...ids].sort());
    assert.equal(await r().get(keys.statProcessed), '40');
  });

  test('jobs already queued (pushed by a Ruby client) are not overtaken: the worker is woken and reserves in order', async () => {
    const { ran } = await idleWorker({ concurrency: 1 });
    // Ruby's enqueue: RPUSH + SADD, no wake-up; the idle worker's poll is 30 s away.
    await r().rpush(keys.queue('default'), JSON.stringify({ class: 'Echo', args: ['ruby'] }));
    await db.client.enqueue('default', 'Echo', ['ours']);
    await waitFor(() => ran.length === 2, { what: 'both jobs run' });
    assert.deepEqual(
      ran.map((j) => j.jobId ?? 'ruby'),
      ['ruby', ran[1]!.jobId],
    );
  });

  test('a paused worker is handed nothing, and neither is any worker while pause-all-workers is set', async () => {
    const { w, ran } = await idleWorker();
    const paused = new Promise<void>((res) => w.once('paused', res));
    w.pause();
    await paused;
    assert.equal(await r().zscore(keys.idleWorkers, w.id), null, 'left the idle set');
    await db.client.enqueue('default', 'Echo', ['while paused']);
    assert.equal(await r().llen(keys.queue('default')), 1, 'queued');
    assert.equal(await r().llen(keys.workerInflight(w.id)), 0);
    const idle = new Promise<void>((res) => w.once('idle', res));
    w.resume();
    await idle;
    assert.equal(ran.length, 1);

    await r().set(keys.pauseAllWorkers, 'true');
    await db.client.enqueue('default', 'Echo', ['paused by Ruby']);
    assert.equal(await r().llen(keys.queue('default')), 1, 'queued');
    assert.equal(await r().llen(keys.workerInflight(w.id)), 0);

    // Any other value leaves workers running, as it leaves Ruby's: the next enqueue reaches the
    // idle worker at once (its poll is 30 s off), and the job queued meanwhile with it.
    await r().set(keys.pauseAllWorkers, 'false');
    await db.client.enqueue('default', 'Echo', ['not paused']);
    await waitFor(() => ran.length === 3, { what: 'both jobs to run, long before the poll' });
  });

  test("a pause right after a resume leaves the idle set too (the first pause's ZREM was still out)", async () => {
    const { w } = await idleWorker();
    w.pause();
    await new Promise((res) => setImmediate(res)); // its ZREM sent, the reply not yet read
    w.resume();
    await new Promise<void>((res) => w.once('idle', res));
    assert.ok(await r().zscore(keys.idleWorkers, w.id), 'back in the idle set after the resume');
    const paused = new Promise<void>((res) => w.once('paused', res));
    w.pause();
    await paused;
    assert.equal(await r().zscore(keys.idleWorkers, w.id), null, 'left it again');
    await db.client.enqueue('default', 'Echo', ['while paused']);
    assert.equal(await r().llen(keys.queue('default')), 1, 'queued, not handed to the paused worker');
  });

  test('a worker that is gone is skipped: its entry is taken back and it leaves the idle set', async () => {
    const { w, ran } = await idleWorker();
    // A worker that died without unregistering: in the idle set with more room, no subscriber.
    const ghost = 'host:999999:default';
    await r().hset(
      keys.ourWorkers,
      ghost,
      JSON.stringify({ host: 'host', pid: 999999, queues: ['default'] }),
    );
    await r().zadd(keys.idleWorkers, 100, ghost);
    await db.client.enqueue('default', 'Echo', []);
    await waitFor(() => ran.length === 1, { what: 'the live worker ran it' });
    assert.equal(await r().llen(keys.workerInflight(ghost)), 0);
    assert.equal(await r().zscore(keys.idleWorkers, ghost), null);
    assert.ok(await r().zscore(keys.idleWorkers, w.id));
  });

  test('hand-offs whose messages were lost with the subscriber connection run once it reconnects; none runs twice', async () => {
    const { w, ran } = await idleWorker({ concurrency: 2 });
    // One job handed off properly and still running while the connection drops.
    await db.client.enqueue('default', 'Sleepy', [600]);
    await waitFor(() => w.busy === 1, { what: 'Sleepy running' });
    // One whose message never arrived: its entry is in the in-flight list, as enqueue.lua leaves it.
    const lost = buildPayload('Echo', ['lost'], 'lost-job');
    await r().rpush(keys.workerInflight(w.id), `h424242#1\x002026-11-27T05:00:00Z\x00default\x00${lost}`);
    const clients = String(await r().client('LIST')).split('\n');
    const line = clients.find((l) => l.includes(`name=resque-worker:${w.id}:wake`));
    const clientId = /\bid=(\d+)/.exec(line ?? '')?.[1];
    assert.ok(clientId, 'found the subscriber connection');
    await r().client('KILL', 'ID', clientId);
    await waitFor(() => ran.length === 2, { what: 'the lost hand-off and Sleepy ran', timeout: 5000 });
    assert.deepEqual(ran.map((j) => j.className).sort(), ['Echo', 'Sleepy']);
    await waitFor(async () => (await r().llen(keys.workerInflight(w.id))) === 0, { what: 'both recorded' });
    await w.stop(); // waits for every job started, so a double run would be counted here
    assert.equal(ran.length, 2);
    assert.equal(await r().get(keys.statProcessed), '2');
  });

  test("iso-time.lib.lua (a hand-off's run_at, a heartbeat) is JavaScript's ISO 8601 time, at every calendar edge", async () => {
    const lib = readFileSync(new URL('../../src/redis/lua/iso-time.lib.lua', import.meta.url), 'utf8');
    const script = `${lib}\nlocal out = {}\nfor i, s in ipairs(ARGV) do out[i] = iso8601_utc(tonumber(s)) end\nreturn out`;
    const edges = [
      '1970-01-01T00:00:00Z',
      '2000-02-29T23:59:59Z',
      '2000-03-01T00:00:00Z',
      '2024-12-31T23:59:59Z',
      '2026-11-27T07:30:05Z',
      '2100-02-28T12:00:00Z',
      '2100-03-01T00:00:00Z',
      '2400-02-29T00:00:00Z',
    ];
    const seconds = edges.map((iso) => Date.parse(iso) / 1000);
    for (let s = 0; s < 4e9; s += 86_399 * 37) seconds.push(s); // every month for 126 years, at varying times
    const got = (await r().eval(script, 0, ...seconds.map(String))) as string[];
    assert.deepEqual(
      got,
      seconds.map((s) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')),
    );
  });

  test("a tracked job handed off is running at once, with Ruby's worker record naming its run_at", async () => {
    const { w } = await idleWorker({ id: 'host:1:default' });
    const before = Math.floor(Date.now() / 1000);
    const id = await db.client.enqueue('default', 'Sleepy', [3000], { trackStatus: true });
    assert.equal((await db.client.status(id)).status, 'running', 'running from the moment it was handed off');
    const record = JSON.parse((await r().get(keys.worker(w.id))) ?? 'null');
    assert.equal(record.payload.id, id);
    const runAt = Date.parse(record.run_at) / 1000;
    assert.match(record.run_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(runAt >= before && runAt <= Date.now() / 1000 + 1, `run_at ${record.run_at}`);
  });
});
