/**
 * Issue 3: the supervisor starts the configured pool, shows it (pidfile, status, titles), stops
 * gracefully on TERM, and refuses a bad config.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { resqueKeys } from '../../src/redis/keys.ts';
import { processAlive } from '../../src/util/process-alive.ts';
import { cli } from '../helpers/cli.ts';
import { startRedisProxy } from '../helpers/redis-proxy.ts';
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

describe('supervisor lifecycle', () => {
  const sups: SupervisorProcess[] = [];
  const db = useTestRedis({ release: () => Promise.all(sups.map((s) => s.cleanup())) });

  test('QUEUE=high COUNT=3 with no config file: 3 workers register; pidfile and pool status show them', async () => {
    const r = db.redis.client();
    const s = SupervisorProcess.start({
      config: {},
      args: ['--jobs', FIXTURE_JOBS],
      env: { REDIS_URL: db.redis.url, QUEUE: 'high', COUNT: '3', INTERVAL: '0.2' },
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready');
    const ids = await r.smembers(keys.workers);
    assert.equal(ids.length, 3, s.dump());
    for (const id of ids) assert.match(id, /^[^:]+:\d+:high$/);
    assert.deepEqual(ids.map((id) => Number(id.split(':')[1])).sort(), s.childPids().sort());
    assert.equal(s.events('child.spawned').length, 3);

    // The child process titles are Resque's; the supervisor shows the pool.
    for (const pid of s.childPids())
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^resque-0\.1\.0: Waiting for high/);
    await waitFor(() => readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').includes('0/3 workers busy'), {
      what: 'supervisor title',
    });

    const status = spawnSync(process.execPath, [BIN, 'status', '--pidfile', s.pidfile, '--json'], {
      env: { ...process.env, REDIS_URL: db.redis.url },
      encoding: 'utf8',
    });
    assert.equal(status.status, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    assert.equal(report.supervisor.pid, s.pid);
    assert.match(report.supervisor.status, /^\d\/3 workers busy, \d+ processed, redis up$/, 'the whole line');
    assert.deepEqual(report.workers.map((w: { id: string }) => w.id).sort(), ids.sort());

    // Its scheduler (every scheduler.interval, 2 s) puts a scheduled job on its queue once due.
    const id = await db.client.enqueueIn(0, 'high', 'Echo', ['later'], { trackStatus: true });
    await waitFor(async () => (await db.client.status(id)).status === 'complete', {
      what: 'the scheduled job moved by the supervisor and run',
    });
    assert.equal(s.events('scheduler.moved').length, 1);
  });

  test('no job modules configured: ready with no workers, saying why; a reload that lists them starts the pool, whose jobs never see its spec', async () => {
    const r = db.redis.client();
    await r.flushall();
    const base = { redis: { url: db.redis.url }, queues: '*', worker: { interval: 0.2 } };
    const s = SupervisorProcess.start({ config: { ...base, supervisor: { count: 2 } } });
    sups.push(s);
    await s.waitForEvent('supervisor.ready');
    assert.equal(s.events('supervisor.no-jobs').length, 1);
    assert.equal(s.events('child.spawned').length, 0);
    await waitFor(
      () => readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').includes('no job modules configured'),
      {
        what: 'supervisor title',
      },
    );
    // A peer's job, as on a host that already runs Resque: nobody takes it only to fail it.
    await db.client.enqueue('peer', 'Echo', ['waits']);
    s.writeConfig({ ...base, jobs: [FIXTURE_JOBS], supervisor: { count: 2 } });
    s.kill('SIGHUP');
    await waitFor(async () => (await r.scard(keys.workers)) === 2, { timeout: 20_000, what: '2 workers' });
    await waitFor(async () => (await r.get(keys.statProcessed)) === '1', { what: 'the waiting job run' });
    assert.equal(await r.llen(keys.failed), 0);
    // The child's spec (the whole config, a Redis password included) is not left to jobs.
    const id = await db.client.enqueue('env', 'SeesEnv', ['RESQUE_WORKER_CHILD_SPEC', 'PATH'], {
      trackStatus: true,
    });
    await waitFor(async () => (await db.client.status(id)).status === 'complete', { what: 'SeesEnv' });
    assert.deepEqual((await db.client.status(id)).result, ['PATH']);
    s.kill('SIGTERM');
    assert.equal((await s.exit).code, 0);
  });

  test('TERM with jobs running: they finish, the pool unregisters, exit 0, pidfile removed', async () => {
    const r = db.redis.client();
    await r.flushall();
    const s = SupervisorProcess.start({
      config: fixturePool(db.redis.url, 'work', { supervisor: { count: 2, shutdownTimeout: 20 } }),
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready');
    assert.equal(readFileSync(s.pidfile, 'utf8').trim(), String(s.pid));
    const markers = [jobStartMarker(), jobStartMarker()];
    const jobs = [
      await db.client.enqueue('work', 'Stubborn', [1500, markers[0]!.file], { trackStatus: true }),
      await db.client.enqueue('work', 'Stubborn', [1500, markers[1]!.file], { trackStatus: true }),
    ];
    for (const m of markers) await m.started();
    const t0 = Date.now();
    s.kill('SIGTERM');
    const { code } = await s.exit;
    assert.equal(code, 0, s.dump());
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    for (const id of jobs) assert.equal((await db.client.status(id)).status, 'complete');
    assert.equal(await r.scard(keys.workers), 0);
    assert.equal(s.events('child.exited', (l) => l.code === 0).length, 2);
    assert.deepEqual(
      s.events('supervisor.stopped').map((l) => l.processed),
      [2],
      'the jobs that finished during the stop are counted',
    );
    assert.equal(existsSync(s.pidfile), false, 'pidfile removed');
    assert.equal(existsSync(`${s.pidfile}.status`), false, 'status file removed');
  });

  test('a bad config at start: non-zero exit naming the key and the file; config check refuses it too', async () => {
    const bad = [
      { config: { redis: { url: db.redis.url }, supervisor: { count: -2 } }, expect: /supervisor\.count/ },
      {
        config: {
          redis: { url: db.redis.url },
          supervisor: { groups: [{ queues: 'a', count: 1, bogus: 1 }] },
        },
        expect: /supervisor\.groups.*bogus/,
      },
      { config: { redis: { url: db.redis.url }, jobs: ['./nope'] }, expect: /jobs: .*nope does not exist/ },
    ];
    const runs = bad.map((b) => SupervisorProcess.start({ config: b.config }));
    sups.push(...runs);
    await Promise.all(
      runs.map(async (s, i) => {
        const { code } = await s.exit;
        const err = s.stderr.join('\n');
        assert.equal(code, 78, err);
        assert.match(err, bad[i]!.expect);
        if (i < 2) assert.ok(err.includes(s.configPath), `names the file: ${err}`);
        assert.equal(existsSync(s.pidfile), false);
        const check = await configCheck(s.configPath);
        assert.equal(check.code, 78, check.err);
        assert.match(check.err, bad[i]!.expect);
      }),
    );
  });

  test('a password or database number Redis refuses: the pool stops, exit 78, nothing written elsewhere', async () => {
    const r = db.redis.client(); // connected before the password: stays authenticated
    const before = (await r.keys('*')).sort();
    await r.config('SET', 'requirepass', 'right');
    try {
      const urls = [db.redis.url.replace('redis://', 'redis://:wrong@'), `${db.redis.url}/99`];
      const runs = urls.map((url) =>
        SupervisorProcess.start({
          config: { redis: { url }, jobs: [FIXTURE_JOBS], queues: 'q', supervisor: { count: 2 } },
        }),
      );
      sups.push(...runs);
      const reasons = [/WRONGPASS/, /NOAUTH|DB index is out of range/];
      for (const [i, s] of runs.entries()) {
        const { code } = await s.exit;
        const stderr = s.stderr.join('');
        assert.equal(code, 78, s.dump());
        assert.equal(stderr.trim().split('\n').length, 1, `one line, no stack: ${stderr}`);
        assert.match(stderr, /redis\.url: Redis at 127\.0\.0\.1:\d+ refused it: /);
        assert.match(stderr, reasons[i]!);
        assert.doesNotMatch(stderr + s.dump(), /wrong@/, 'no password shown');
        assert.equal(s.events('supervisor.redis-refused').length, 1);
        assert.equal(existsSync(s.pidfile), false);
      }

      // A refusal that ends within the grace (a password set just after Redis started listening):
      // the pool starts.
      const later = SupervisorProcess.start({
        config: {
          redis: { url: db.redis.url.replace('redis://', 'redis://:later@') },
          jobs: [FIXTURE_JOBS],
          queues: 'q',
          supervisor: { count: 1 },
        },
      });
      sups.push(later);
      await later.waitForEvent('redis.down', { match: (l) => /WRONGPASS/.test(String(l.err)) });
      await r.config('SET', 'requirepass', 'later');
      await later.waitForEvent('supervisor.ready', { timeout: 30_000 });
      assert.equal(later.events('supervisor.redis-refused').length, 0, later.dump());
      later.kill('SIGTERM');
      assert.equal((await later.exit).code, 0, later.dump());
    } finally {
      await r.config('SET', 'requirepass', '');
    }
    assert.deepEqual(
      (await r.keys('*')).filter((k) => !k.startsWith('resque:stat')).sort(),
      before.filter((k) => !k.startsWith('resque:stat')),
      'nothing written to another database',
    );
  });

  test('a Redis too old for our scripts: start and work exit 69 with one line, not a crash loop', async () => {
    const proxy = await startRedisProxy(db.redis.port, { reportMajorVersion: 6 });
    try {
      const s = SupervisorProcess.start({
        config: { redis: { url: proxy.url }, jobs: [FIXTURE_JOBS], queues: 'q', supervisor: { count: 2 } },
      });
      sups.push(s);
      const { code } = await s.exit;
      const stderr = s.stderr.join('');
      assert.equal(code, 69, s.dump());
      assert.equal(stderr.trim().split('\n').length, 1, `one line, no stack: ${stderr}`);
      assert.match(stderr, /Redis 6\.\d+\.\d+ is too old: resque-worker needs Redis 6\.2\.0 or later/);
      assert.equal(s.events('supervisor.redis-unsupported').length, 1, s.dump());
      assert.equal(existsSync(s.pidfile), false);

      // Not spawnSync: the proxy runs in this process.
      const work = await cli(['work', '--jobs', FIXTURE_JOBS, '--redis', proxy.url]);
      assert.equal(work.code, 69, work.stderr);
      assert.match(work.stderr, /is too old/);
    } finally {
      await proxy.close();
    }
  });

  test('pause|resume|reload|stop commands signal the supervisor through its pidfile', async () => {
    const s = SupervisorProcess.start({
      config: { redis: { url: db.redis.url }, jobs: [FIXTURE_JOBS], queues: 'c', supervisor: { count: 1 } },
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
    const run = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [BIN, ...args, '--pidfile', s.pidfile], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('exit', (code) => resolve({ code, out }));
      });
    const [paused, reloaded] = await Promise.all([run('pause'), run('reload')]);
    assert.equal(paused.code, 0);
    assert.equal(reloaded.code, 0);
    await s.waitForEvent('supervisor.pause');
    await s.waitForEvent('supervisor.reload');
    assert.equal((await run('resume')).code, 0);
    await s.waitForEvent('supervisor.resume');
    const stopped = await run('stop');
    assert.equal(stopped.code, 0);
    assert.match(stopped.out, /stopped/);
    assert.equal((await s.exit).code, 0);
    assert.equal((await run('pause')).code, 1, 'no supervisor running any more');
    // A stale pidfile whose pid another program has now (after a crash or a reboot): not signalled.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(s.pidfile, `${other.pid}\n`);
      const refused = await run('stop', '--nowait');
      assert.equal(refused.code, 1);
      assert.ok(processAlive(other.pid!), 'the other program was not signalled');
      assert.equal((await run('status', '--redis', db.redis.url)).code, 3, 'not running');
    } finally {
      other.kill('SIGKILL');
    }
  });

  test('children of a supervisor that vanished (SIGKILL) stop by themselves and unregister', async () => {
    const r = db.redis.client();
    await r.flushall();
    const s = SupervisorProcess.start({
      config: { redis: { url: db.redis.url }, jobs: [FIXTURE_JOBS], queues: 'o', supervisor: { count: 2 } },
    });
    sups.push(s);
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
    const children = s.childPids();
    s.kill('SIGKILL');
    await s.waitForEvent('worker.orphaned', { count: 2 });
    await waitFor(() => children.every((pid) => !existsSync(`/proc/${pid}`)), { what: 'children gone' });
    // Only these children: live workers of earlier tests register again after the flushall (heartbeat).
    const left = (await r.smembers(keys.workers)).filter((id) =>
      children.some((pid) => id.includes(`:${pid}:`)),
    );
    assert.deepEqual(left, []);
  });
});

/** `resque-worker config check --config <file>`: its exit code and stderr. */
function configCheck(file: string): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'config', 'check', '--config', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, err }));
  });
}
