/**
 * Issue 3: HUP re-reads the config. A new count or a changed group is applied without losing or
 * killing a job (rolling restart); a bad file keeps the old config; a pause survives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ResqueClient } from '../../src/client/client.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import {
  FIXTURE_JOBS,
  jobStartMarker,
  type LogLine,
  SupervisorProcess,
} from '../helpers/supervisor-process.ts';
import { waitFor } from '../helpers/wait.ts';

const keys = resqueKeys();

describe('supervisor reload (HUP)', () => {
  let redis: TestRedis;
  let client: ResqueClient;
  let s: SupervisorProcess;
  const config = (supervisor: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    redis: { url: redis.url },
    jobs: [FIXTURE_JOBS],
    queues: 'q',
    worker: { interval: 0.2 },
    ...extra,
    supervisor: { respawnDelay: 0.2, ...supervisor },
  });

  before(async () => {
    redis = await TestRedis.start();
    client = new ResqueClient({ redisUrl: redis.url });
    s = SupervisorProcess.start({ config: config({ count: 1 }) });
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
  });
  after(async () => {
    await s.cleanup();
    await client.close();
    await redis.stop();
  });

  test('HUP with a bigger, then smaller count: the pool follows, running jobs finish', async () => {
    const r = redis.client();
    s.writeConfig(config({ count: 3 }));
    s.kill('SIGHUP');
    await s.waitForEvent('supervisor.reload');
    await waitFor(async () => (await r.scard(keys.workers)) === 3, { timeout: 20_000, what: '3 workers' });

    const jobs = await Promise.all(
      [0, 1, 2].map(() => client.enqueue('q', 'Stubborn', [1500], { trackStatus: true })),
    );
    await waitFor(async () => (await client.workers()).filter((w) => w.job).length === 3, {
      what: '3 jobs running',
    });
    s.writeConfig(config({ count: 1 }));
    s.kill('SIGHUP');
    await s.waitForEvent('supervisor.reload', { count: 2 });
    await s.waitForEvent('child.retiring', { count: 2 });
    for (const id of jobs)
      await waitFor(async () => (await client.status(id)).status === 'complete', { what: `job ${id}` });
    await waitFor(async () => (await r.scard(keys.workers)) === 1, { timeout: 20_000, what: '1 worker' });
    assert.equal(await r.llen(keys.failed), 0);
    assert.equal(s.events('child.exited', (l) => l.code !== 0).length, 0, s.dump());
  });

  test('HUP with an invalid file: logged, still running the old config', async () => {
    const r = redis.client();
    s.writeConfig({ ...config({ count: 5 }), worker: { interval: 'often' } });
    s.kill('SIGHUP');
    const [failed] = await s.waitForEvent('supervisor.reload-failed');
    assert.match(String(failed!.err), /worker\.interval/);
    s.writeConfig({ ...config({ count: 5 }), nonsense: true });
    s.kill('SIGHUP');
    await s.waitForEvent('supervisor.reload-failed', { count: 2 });
    // another Redis namespace: the supervisor could no longer recover its own children there
    const moved = config({ count: 5 }) as { redis: Record<string, unknown> };
    s.writeConfig({ ...moved, redis: { ...moved.redis, namespace: 'elsewhere' } });
    s.kill('SIGHUP');
    const [third] = await s.waitForEvent('supervisor.reload-failed', { count: 3 }).then((l) => l.slice(2));
    assert.match(String(third!.err), /redis\.namespace changed: .*restart/);
    assert.match(
      readFileSync(`${s.pidfile}.status`, 'utf8'),
      /, reload rejected: redis\.namespace changed/,
      'the status line says so, for `resque-worker status`',
    );
    assert.equal(await r.scard(keys.workers), 1);
    const id = await client.enqueue('q', 'Echo', ['still working'], { trackStatus: true });
    await waitFor(async () => (await client.status(id)).status === 'complete', { what: 'job run' });
    assert.equal(s.events('child.spawned').length + s.events('child.respawned').length, 3);
  });

  test('a paused pool stays paused across a HUP that restarts its group (rolling), and no job is lost', async () => {
    const r = redis.client();
    const marker = jobStartMarker();
    const running = await client.enqueue('q', 'Stubborn', [1500, marker.file], { trackStatus: true });
    await marker.started();
    s.kill('SIGUSR2');
    await s.waitForEvent('supervisor.pause');
    const oldExited = (l: LogLine) => l.group === 'q' && l.code === 0;
    const exitedBefore = s.events('child.exited', oldExited).length; // earlier tests retired some
    // New queue list = a changed group: its children are replaced one by one.
    s.writeConfig(config({ count: 1 }, { queues: 'q,other' }));
    s.kill('SIGHUP');
    await s.waitForEvent('supervisor.reload', { count: 3 });
    const [spawned] = await s.waitForEvent('child.spawned', { match: (l) => l.group === 'q,other' });
    assert.equal(spawned!.paused, true);
    await waitFor(async () => (await client.status(running)).status === 'complete', {
      what: 'the old child finished its job',
    });
    await s.waitForEvent('child.exited', { count: exitedBefore + 1, match: oldExited });
    await waitFor(async () => (await r.smembers(keys.workers)).every((id) => id.endsWith(':q,other')), {
      what: 'only new workers',
    });
    const queued = await client.enqueue('other', 'Echo', ['after reload'], { trackStatus: true });
    const end = Date.now() + 1200;
    while (Date.now() < end) {
      assert.equal((await client.status(queued)).status, 'waiting', 'paused pool took a job');
      await new Promise((res) => setTimeout(res, 100));
    }
    s.kill('SIGCONT');
    await waitFor(async () => (await client.status(queued)).status === 'complete', {
      what: 'job after CONT',
    });
  });

  test('HUP that adds a recurring job: its runs start, enqueued by the supervisor and run by the pool; the interval cannot change', async () => {
    const schedule = { tick: { cron: '*/4 * * * * *', class: 'Echo', queue: 'q', args: ['recurring'] } };
    let reloads = s.events('supervisor.reload').length;
    s.writeConfig(config({ count: 1 }, { scheduler: { schedule } }));
    s.kill('SIGHUP');
    await s.waitForEvent('supervisor.reload', { count: ++reloads });
    const [run] = await s.waitForEvent('scheduler.recurring', { timeout: 20_000 });
    assert.equal(run!.name, 'tick');
    await s.waitForEvent('job.done', { match: (l) => l.class === 'Echo', timeout: 20_000 });

    // The scheduler's timer was set at start (2 s): a new interval is a restart, not a reload.
    const failed = s.events('supervisor.reload-failed').length;
    s.writeConfig(config({ count: 1 }, { scheduler: { interval: 1, schedule } }));
    s.kill('SIGHUP');
    const refused = (await s.waitForEvent('supervisor.reload-failed', { count: failed + 1 })).at(-1);
    assert.match(String(refused?.err), /scheduler\.interval changed \(2 to 1\).*a restart, not a reload/);
  });
});
