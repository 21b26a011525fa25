/**
 * Issue 3: a child that dies is respawned and its in-flight job recovered; a child whose event loop
 * blocks is killed, its job failed as JobTimeout, and replaced; a stop deadline puts jobs back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { resqueKeys } from '../../src/redis/keys.ts';
import {
  FIXTURE_JOBS,
  fixturePool,
  jobStartMarker,
  SupervisorProcess,
} from '../helpers/supervisor-process.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const BIN = new URL('../../bin/resque-worker.mjs', import.meta.url).pathname;

const keys = resqueKeys();
const BROKEN_JOBS = new URL('../fixtures/broken-jobs/', import.meta.url).pathname;

describe('supervisor: dying and hung children', () => {
  const sups: SupervisorProcess[] = [];
  const db = useTestRedis({ release: () => Promise.all(sups.map((s) => s.cleanup())) });

  test('SIGKILL of a busy child: respawned, its job requeued and run; a blocked child: killed, JobTimeout, replaced', async () => {
    const r = db.redis.client();
    const s = SupervisorProcess.start({
      config: {
        redis: { url: db.redis.url },
        jobs: [FIXTURE_JOBS],
        worker: { interval: 0.2 },
        supervisor: {
          groups: [
            { name: 'work', queues: 'work', count: 2 },
            { name: 'spin', queues: 'spin', count: 1 },
            { name: 'spin2', queues: 'spin2', count: 1, concurrency: 2 },
          ],
          respawnDelay: 0.2,
          hangTimeout: 3,
        },
      },
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });

    // 1. kill -9 a child in the middle of a job
    const id = await db.client.enqueue('work', 'Stubborn', [2000], { trackStatus: true });
    const holder = await waitFor(
      async () => {
        for (const w of await db.client.workers()) if (w.job) return w;
        return null;
      },
      { what: 'a worker running the job' },
    );
    process.kill(Number(holder.pid), 'SIGKILL');
    const [exited] = await s.waitForEvent('child.exited', {
      match: (l) => l.childPid === Number(holder.pid),
    });
    assert.equal(exited!.signal, 'SIGKILL');
    const [recovered] = await s.waitForEvent('child.recovered', { match: (l) => l.workerId === holder.id });
    assert.equal(recovered!.requeued, 1, s.dump());
    await s.waitForEvent('child.respawned', { match: (l) => l.group === 'work' });
    await waitFor(async () => (await db.client.status(id)).status === 'complete', {
      timeout: 20_000,
      what: 'the recovered job to complete on another worker',
    });
    assert.equal(await r.llen(keys.failed), 0);
    assert.equal(await r.sismember(keys.workers, holder.id), 0, 'dead worker unregistered');

    // 2. a job that blocks its worker's event loop forever
    const spin = await db.client.enqueue('spin', 'Spin', [], { trackStatus: true });
    const [hung] = await s.waitForEvent('child.hung', { timeout: 30_000 });
    assert.equal(hung!.group, 'spin');
    await s.waitForEvent('child.recovered', { match: (l) => l.workerId === hung!.workerId });
    const failure = JSON.parse((await r.lindex(keys.failed, 0))!);
    assert.equal(failure.exception, 'JobTimeout');
    assert.match(failure.error, /blocked its event loop/);
    assert.equal(failure.payload.class, 'Spin');
    assert.equal((await db.client.status(spin)).status, 'failed');
    await s.waitForEvent('child.respawned', { match: (l) => l.group === 'spin' });
    await waitFor(async () => (await r.scard(keys.workers)) === 4, {
      timeout: 20_000,
      what: '4 workers again',
    });

    // 3. the same in a child that runs two jobs at once: which one blocked it cannot be told, and
    // the other did nothing wrong: both go back to their queue (deadWorkerJobs), none is failed
    await db.client.enqueue('spin2', 'Stubborn', [60_000]);
    await waitFor(async () => (await db.client.workers()).some((w) => w.id.endsWith(':spin2') && w.job), {
      what: 'the spin2 worker running Stubborn',
    });
    await db.client.enqueue('spin2', 'Spin', []);
    const [hung2] = await s.waitForEvent('child.hung', {
      match: (l) => l.group === 'spin2',
      timeout: 30_000,
    });
    const [recovered2] = await s.waitForEvent('child.recovered', {
      match: (l) => l.workerId === hung2!.workerId,
    });
    assert.equal(recovered2!.mode, 'requeue', s.dump());
    assert.equal(recovered2!.requeued, 2, s.dump());
    assert.equal(recovered2!.failed, 0, s.dump());
    assert.equal(await r.llen(keys.failed), 1, 'only the Spin of part 2');
    await s.cleanup(); // its next spin2 child would block on the Spin again
  });

  test('the supervisor stopped (SIGSTOP) past hangTimeout: on CONT no healthy child is taken for hung', async () => {
    const r = db.redis.client();
    await r.flushall();
    const s = SupervisorProcess.start({
      config: fixturePool(db.redis.url, 'stall', { supervisor: { count: 2, hangTimeout: 2 } }),
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
    const marker = jobStartMarker();
    const id = await db.client.enqueue('stall', 'Stubborn', [6_000, marker.file], { trackStatus: true });
    await marker.started();
    s.kill('SIGSTOP');
    // The stall itself is the scenario: twice hangTimeout without the supervisor's loop turning.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    s.kill('SIGCONT');
    await s.waitForEvent('supervisor.stalled');
    await waitFor(async () => (await db.client.status(id)).status === 'complete', {
      timeout: 10_000,
      what: 'the job running through the stall completes',
    });
    assert.deepEqual(s.events('child.hung'), [], s.dump());
    assert.equal(s.childPids().length, 2);
    assert.equal(await r.llen(keys.failed), 0);
  });

  test('TERM with a job longer than the timeout: exit 0 by the deadline, the job back in its queue', async () => {
    const r = db.redis.client();
    await r.flushall();
    const s = SupervisorProcess.start({
      config: fixturePool(db.redis.url, 'long', { supervisor: { count: 1, shutdownTimeout: 1.5 } }),
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
    const marker = jobStartMarker();
    const id = await db.client.enqueue('long', 'Stubborn', [60_000, marker.file], { trackStatus: true });
    await marker.started();
    const t0 = Date.now();
    s.kill('SIGTERM');
    const { code } = await s.exit;
    const took = Date.now() - t0;
    assert.equal(code, 0, s.dump());
    assert.ok(took < 1500 + 3000 + 4000, `exited ${took} ms after TERM`);
    assert.equal(await r.llen(keys.queue('long')), 1, 'job back in its queue');
    assert.equal((await db.client.status(id)).status, 'waiting');
    assert.equal(await r.scard(keys.workers), 0);
    assert.equal(s.events('worker.requeued').length, 1);
  });

  test('a crash loop is backed off, logged and shown in the status line', async () => {
    const s = SupervisorProcess.start({
      config: {
        redis: { url: db.redis.url },
        jobs: [BROKEN_JOBS],
        queues: 'q',
        supervisor: { count: 2, respawnDelay: 0.2, respawnDelayMax: 2 },
      },
    });
    sups.push(s);
    const [loop] = await s.waitForEvent('supervisor.crash-loop', { timeout: 40_000 });
    assert.equal(loop!.group, 'q');
    assert.ok((loop!.crashes as number) >= 3);
    assert.ok(s.events('child.exited').every((l) => l.code === 78));
    await waitFor(() => readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').includes('crash loop: q ('), {
      what: 'crash loop in the title / STATUS line',
    });
    // The title is cut to the length of the command line; `status` shows the whole line.
    const shown = spawnSync(process.execPath, [BIN, 'status', '--pidfile', s.pidfile], {
      env: { ...process.env, REDIS_URL: db.redis.url },
      encoding: 'utf8',
    });
    assert.match(
      shown.stdout,
      /^supervisor \d+: .*crash loop: q \(\d+ crashes, retry in [\d.]+ s\)$/m,
      shown.stdout,
    );
    // Back-off: each crash schedules the group's next spawn later (0.2, 0.4, 0.8, 1.6, 2 s ...,
    // capped), and no respawn comes before the delay of the crash before it: never a tight loop.
    await s.waitForEvent('child.respawned', { count: 5, timeout: 30_000 });
    const spawns = s.events('child.respawned').map((l) => Date.parse(l.time as string));
    const crashes = s.lines
      .filter((l) => l.event === 'child.respawn-scheduled' || l.event === 'supervisor.crash-loop')
      .map((l) => ({ at: Date.parse(l.time as string), delayMs: (l.respawnInS as number) * 1000 }));
    const delays = crashes.map((c) => c.delayMs);
    assert.ok(
      delays.every((d, i) => i === 0 || d >= delays[i - 1]!),
      `delays grow: ${delays}`,
    );
    assert.ok(delays.at(-1)! >= 800 && Math.max(...delays) <= 2000, `delays ${delays}`);
    for (const at of spawns) {
      const before = crashes.filter((c) => c.at <= at).at(-1);
      assert.ok(before, 'a respawn follows a crash');
      assert.ok(
        at >= before.at + before.delayMs - 5,
        `respawn at ${at} before ${before.at} + ${before.delayMs} ms`,
      );
    }
    assert.equal(s.events('supervisor.ready').length, 0);
  });
});
