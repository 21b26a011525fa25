/**
 * Issue 3: signals to the supervisor. USR2 pauses the pool (also across a respawn), CONT resumes,
 * TTIN/TTOU scale the first group, USR1 kills running jobs and keeps the workers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ResqueClient } from '../../src/client/client.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { fixturePool, jobStartMarker, SupervisorProcess } from '../helpers/supervisor-process.ts';
import { waitFor } from '../helpers/wait.ts';

const keys = resqueKeys();

describe('supervisor signals', () => {
  let redis: TestRedis;
  let client: ResqueClient;
  let s: SupervisorProcess;

  before(async () => {
    redis = await TestRedis.start();
    client = new ResqueClient({ redisUrl: redis.url });
    s = SupervisorProcess.start({
      config: fixturePool(redis.url, 'q', { supervisor: { count: 2, respawnDelay: 0.2 } }),
    });
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
  });
  after(async () => {
    await s.cleanup();
    await client.close();
    await redis.stop();
  });

  /** The queue keeps its job over several poll intervals (0.2 s) of every worker. */
  async function staysQueued(queue: string, ms: number): Promise<void> {
    const r = redis.client();
    const end = Date.now() + ms;
    while (Date.now() < end) {
      assert.equal(await r.llen(keys.queue(queue)), 1, `job taken while paused\n${s.dump()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  test('USR2: a new job stays queued, also on a respawned child; CONT: it runs', async () => {
    s.kill('SIGUSR2');
    await s.waitForEvent('supervisor.pause');
    await s.waitForEvent('worker.pause', { count: 2 });
    const id = await client.enqueue('q', 'Echo', ['paused?'], { trackStatus: true });
    await staysQueued('q', 1500);

    // A child that dies while the pool is paused comes back paused.
    const [victim] = s.childPids();
    process.kill(victim!, 'SIGKILL');
    const [re] = await s.waitForEvent('child.respawned');
    assert.equal(re!.paused, true);
    await s.waitForEvent('child.registered', { match: (l) => l.childPid === re!.childPid });
    await staysQueued('q', 1000);

    s.kill('SIGCONT');
    await s.waitForEvent('supervisor.resume');
    await waitFor(async () => (await client.status(id)).status === 'complete', {
      what: 'job run after CONT',
    });
  });

  test('TTIN adds a worker to the first group, TTOU removes one', async () => {
    const r = redis.client();
    await waitFor(async () => (await r.scard(keys.workers)) === 2, { what: '2 workers' });
    s.kill('SIGTTIN');
    await s.waitForEvent('supervisor.scale', { match: (l) => l.count === 3 });
    await waitFor(async () => (await r.scard(keys.workers)) === 3, { timeout: 20_000, what: '3 workers' });
    s.kill('SIGTTOU');
    await s.waitForEvent('supervisor.scale', { match: (l) => l.count === 2 });
    await s.waitForEvent('child.retiring');
    await waitFor(async () => (await r.scard(keys.workers)) === 2, { timeout: 20_000, what: '2 workers' });
  });

  test('TTOU right after TTIN retires the worker still starting: it exits, not works on', async () => {
    const r = redis.client();
    await waitFor(() => s.childPids().length === 2, { timeout: 20_000, what: '2 child processes' });
    const spawned = s.events('child.spawned').length;
    s.kill('SIGTTIN');
    const [child] = (await s.waitForEvent('child.spawned', { count: spawned + 1 })).slice(spawned);
    // Sent before the new process listens for the supervisor's messages (it is still loading):
    // Node drops what arrives before a listener, so the supervisor sends it again at its first word.
    s.kill('SIGTTOU');
    const [retiring] = await s.waitForEvent('child.retiring', {
      match: (l) => l.childId === child!.childId,
    });
    assert.equal(retiring!.childPid, child!.childPid);
    await s.waitForEvent('child.exited', { match: (l) => l.childId === child!.childId, timeout: 20_000 });
    await waitFor(async () => (await r.scard(keys.workers)) === 2, { what: '2 workers' });
    assert.equal(s.childPids().length, 2);
  });

  test('USR1: the running job is killed (a failure), the workers stay', async () => {
    const r = redis.client();
    // the worker retired by the TTOU above may still be exiting
    await waitFor(() => s.childPids().length === 2, { timeout: 20_000, what: '2 child processes' });
    const before = s.childPids().sort();
    const marker = jobStartMarker();
    const id = await client.enqueue('q', 'Stubborn', [30_000, marker.file], { trackStatus: true });
    await marker.started();
    s.kill('SIGUSR1');
    await waitFor(async () => (await client.status(id)).status === 'failed', { what: 'job killed' });
    const failure = JSON.parse((await r.lindex(keys.failed, 0))!);
    assert.equal(failure.exception, 'JobKilled');
    assert.deepEqual(s.childPids().sort(), before);
    assert.equal(await r.scard(keys.workers), 2);
  });
});
