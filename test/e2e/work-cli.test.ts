/** `resque-worker work|enqueue|status` as real processes with real signals. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { resqueKeys } from '../../src/redis/keys.ts';
import { cli, Daemon } from '../helpers/cli.ts';
import { freePort, TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('resque-worker work (one worker in the foreground)', () => {
  let redis: TestRedis;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    redis = await TestRedis.start();
    env = { REDIS_URL: redis.url, LOG_LEVEL: 'info' };
  });
  after(() => redis.stop());

  test('enqueue from the shell, run, status; QUIT finishes the job, unregisters, exits 0', async () => {
    const r = redis.client();
    const enq = await cli(['enqueue', 'cli', 'Sleepy', '1500', '--track'], env);
    assert.equal(enq.code, 0, enq.stderr);
    const id = enq.stdout.trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal((await cli(['status', id], env)).stdout.trim(), 'waiting');

    const worker = new Daemon(['work', '--jobs', FIXTURES], { ...env, QUEUE: 'cli,other' });
    try {
      const [workerId] = await waitFor(() => r.smembers(keys.workers).then((w) => (w.length ? w : null)));
      assert.equal(workerId, `${workerId!.split(':')[0]}:${worker.proc.pid}:cli,other`);
      const running = async () => JSON.parse((await r.get(keys.jobStatus(id))) ?? '{}').status === 2;
      await waitFor(running, { what: 'status running' });
      // Resque peers find live workers in `ps` by this title (shown once a job has run a moment)
      const title = () =>
        execFileSync('ps', ['-o', 'args=', '-p', String(worker.proc.pid)])
          .toString()
          .trim();
      await waitFor(
        () => {
          const shown = title();
          if (!/^resque-\d+\.\d+\.\d+: Processing cli since \d+/.test(shown))
            throw new Error(`title is ${JSON.stringify(shown)}`);
          return true;
        },
        { what: 'the title "Processing cli since <time>"' },
      );
      worker.kill('SIGQUIT');
      const { code } = await worker.exited;
      assert.equal(code, 0);
      assert.equal(
        (await cli(['status', id], env)).stdout.trim(),
        'complete',
        'QUIT let the running job finish',
      );
      assert.deepEqual(await r.smembers(keys.workers), []);
      const done = worker.events('job.done')[0]!;
      assert.equal(done.jobId, id);
      assert.equal(done.queue, 'cli');
      assert.equal(done.class, 'Sleepy');
      assert.equal(done.workerId, workerId);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  test('enqueue --in: the scheduler in `work` puts the job on its queue once due, and it runs', async () => {
    const worker = new Daemon(['work', '--jobs', FIXTURES, '--queues', 'later'], {
      ...env,
      SCHEDULER_INTERVAL: '0.2',
    });
    try {
      await waitFor(() => worker.events('worker.start').length === 1);
      const enq = await cli(['enqueue', 'later', 'Echo', 'x', '--in', '1', '--track'], env);
      assert.equal(enq.code, 0, enq.stderr);
      const id = enq.stdout.trim();
      assert.equal((await cli(['status', id], env)).stdout.trim(), 'waiting');
      await waitFor(async () => (await cli(['status', id], env)).stdout.trim() === 'complete', {
        timeout: 10_000,
        what: 'the scheduled job run',
      });
      assert.equal(worker.events('scheduler.moved').length, 1);
      const bad = await cli(['enqueue', 'later', 'Echo', '--in', 'soon'], env);
      assert.equal(bad.code, 64);
      assert.match(bad.stderr, /--in takes seconds/);
    } finally {
      worker.kill('SIGTERM');
      await worker.exited;
    }
  });

  test('a recurring job every second, two `work` processes: each run enqueued once or logged as missed, all run', async () => {
    const r = redis.client();
    await r.flushall();
    const schedule = { tick: { cron: '* * * * * *', class: 'Echo', queue: 'cron', args: ['tick'] } };
    const recurringEnv = { ...env, SCHEDULER_INTERVAL: '0.2', RESQUE_SCHEDULE: JSON.stringify(schedule) };
    const workers = [0, 1].map(
      () => new Daemon(['work', '--jobs', FIXTURES, '--queues', 'cron'], recurringEnv),
    );
    const scheduled = () =>
      workers.flatMap((w) => w.events('scheduler.recurring').map((l) => Date.parse(String(l.runAt))));
    try {
      await waitFor(() => scheduled().length >= 4, { timeout: 15_000, what: 'four runs scheduled' });
    } finally {
      for (const w of workers) w.kill('SIGQUIT');
      for (const w of workers) assert.equal((await w.exited).code, 0, w.stderr);
    }
    // Every second from the first run to the last is scheduled once, or (a machine stalled for
    // over a second) in a range logged as missed: none twice, none lost unsaid.
    const runs = scheduled().sort((a, b) => a - b);
    const missed = workers
      .flatMap((w) => w.events('scheduler.recurring-missed'))
      .flatMap((l) => {
        const out: number[] = [];
        for (let t = Date.parse(String(l.from)); t <= Date.parse(String(l.until)); t += 1000) out.push(t);
        return out;
      });
    const seconds = [...runs, ...missed].sort((a, b) => a - b);
    assert.deepEqual(
      seconds.map((t) => t - seconds[0]!),
      seconds.map((_, i) => i * 1000),
      `each second once: scheduled ${runs.map((t) => new Date(t).toISOString()).join(' ')}; missed ${missed.length}`,
    );
    const ran = workers.flatMap((w) => w.events('job.done')).filter((l) => l.class === 'Echo');
    const waiting = (await r.llen(keys.queue('cron'))) + (await r.zcard(keys.delayedSchedule));
    assert.equal(ran.length + waiting, runs.length, 'every run scheduled ran, or waits to');
  });

  test('TERM with a job past the shutdown timeout: the job goes back to its queue, exit 0', async () => {
    const r = redis.client();
    await r.flushall();
    const worker = new Daemon(['work', '--jobs', FIXTURES, '--queues', 'slow'], {
      ...env,
      SHUTDOWN_TIMEOUT: '0.5',
    });
    try {
      await waitFor(() => r.scard(keys.workers));
      const enq = await cli(['enqueue', 'slow', 'Sleepy', '60000', '--track'], env);
      const id = enq.stdout.trim();
      await waitFor(async () => JSON.parse((await r.get(keys.jobStatus(id))) ?? '{}').status === 2);
      worker.kill('SIGTERM');
      const { code } = await worker.exited;
      assert.equal(code, 0);
      const [queued] = await r.lrange(keys.queue('slow'), 0, -1);
      assert.equal(JSON.parse(queued!).id, id);
      assert.equal((await cli(['status', id], env)).stdout.trim(), 'waiting');
      assert.equal(worker.events('worker.requeued').length, 1);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  test('a recycle (here maxJobs) stops the worker and exits 75, for whatever runs it to start it again', async () => {
    await cli(['enqueue', 'recycle', 'Echo', 'one'], env);
    const res = await cli(['work', '--jobs', FIXTURES, '--queues', 'recycle'], { ...env, MAX_JOBS: '1' });
    assert.equal(res.code, 75, res.stderr);
    const events = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    assert.ok(events.includes('worker.recycle') && events.includes('job.done'), events.join(' '));
  });

  test('USR2 pauses (a new job stays queued), CONT resumes', async () => {
    const r = redis.client();
    await r.flushall();
    const worker = new Daemon(['work', '--jobs', FIXTURES, '--queues', 'p'], env);
    try {
      await waitFor(() => r.scard(keys.workers));
      worker.kill('SIGUSR2');
      await waitFor(() => worker.events('worker.pause').length === 1);
      await cli(['enqueue', 'p', 'Echo'], env);
      await new Promise((res) => setTimeout(res, 300)); // the window in which a paused worker must not take it
      assert.equal(await r.llen(keys.queue('p')), 1);
      worker.kill('SIGCONT');
      await waitFor(async () => (await r.get(keys.statProcessed)) === '1');
    } finally {
      worker.kill('SIGTERM');
      await worker.exited;
    }
  });

  test('exits after a stop even when a job module keeps a handle open', async () => {
    const r = redis.client();
    await r.flushall();
    const leaky = new URL('../fixtures/leaky-jobs/', import.meta.url).pathname;
    const worker = new Daemon(['work', '--jobs', leaky, '--queues', 'leak'], env);
    try {
      await waitFor(() => r.scard(keys.workers));
      worker.kill('SIGTERM');
      const { code } = await worker.exited;
      assert.equal(code, 0);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  test('one TERM while Redis has never been reachable: it stops at once (it holds no job), exit 0', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort(); // nothing listens there
    const worker = new Daemon(['work', '--jobs', FIXTURES, '--queues', 'q'], {
      ...env,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      SHUTDOWN_TIMEOUT: '60',
    });
    try {
      await waitFor(() => worker.events('redis.down').length > 0, { what: 'the worker trying Redis' });
      worker.kill('SIGTERM');
      const { code } = await worker.exited;
      assert.equal(code, 0);
      assert.equal(worker.events('worker.stopped').length, 1);
      assert.equal(worker.events('worker.start-error').length, 0);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  test('a second INT exits within seconds even while Redis is unreachable', { timeout: 30_000 }, async () => {
    const own = await TestRedis.start();
    const ownEnv = { ...env, REDIS_URL: own.url, SHUTDOWN_TIMEOUT: '60' };
    const worker = new Daemon(['work', '--jobs', FIXTURES, '--queues', 'down'], ownEnv);
    try {
      const r = own.client();
      await waitFor(() => r.scard(keys.workers));
      const [workerId] = await r.smembers(keys.workers);
      await cli(['enqueue', 'down', 'Sleepy', '60000'], ownEnv);
      await waitFor(async () => (await r.llen(keys.workerInflight(workerId!))) === 1);
      await own.kill();
      worker.kill('SIGINT');
      await waitFor(() => worker.events('signal').length === 1);
      worker.kill('SIGINT');
      const { code } = await worker.exited;
      assert.equal(code, 1);
      const [abandoned] = worker.events('worker.stop-abandoned');
      assert.equal(abandoned?.workerId, workerId);
    } finally {
      worker.kill('SIGKILL');
      await own.stop();
    }
  });

  test('an exception thrown outside the job (a timer of its own): one fatal JSON line naming the job, exit 1, the job left in flight', async () => {
    const r = redis.client();
    const worker = new Daemon(['work', '--jobs', FIXTURES], { ...env, QUEUE: 'crash' });
    try {
      await waitFor(() => worker.events('worker.start').length === 1);
      const id = (await cli(['enqueue', 'crash', 'ThrowsInTimer', '--track'], env)).stdout.trim();
      const { code } = await worker.exited;
      assert.equal(code, 1);
      const [crashed] = worker.events('worker.crashed');
      assert.equal(crashed?.level, 'fatal');
      assert.equal(crashed?.err, 'boom in a timer');
      assert.deepEqual(crashed?.running, [{ queue: 'crash', jobId: id, className: 'ThrowsInTimer' }]);
      assert.match(String(crashed?.workerId), /:crash$/);
      assert.doesNotMatch(worker.stderr, /boom/, 'no plain-text stack besides the JSON line');
      assert.equal(await r.llen(keys.workerInflight(String(crashed?.workerId))), 1, 'left for recovery');
    } finally {
      worker.kill('SIGKILL');
      await r.flushall();
    }
  });

  test('a Redis that refuses the password: one JSON line and one stderr line, exit 78, no hang', async () => {
    const r = redis.client(); // connected before the password: stays authenticated
    await r.config('SET', 'requirepass', 'right');
    try {
      const url = redis.url.replace('redis://', 'redis://:wrong@');
      const res = await cli(['work', '--jobs', FIXTURES, '--redis', url], { ...env, REDIS_URL: url });
      assert.equal(res.code, 78, res.stderr);
      const [line] = res.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.event === 'worker.start-error');
      assert.match(line.err, /WRONGPASS/);
      assert.doesNotMatch(res.stdout, /unreachable/, 'a refusal, not an outage');
      assert.equal(res.stderr.trim().split('\n').length, 1, `one line, no stack: ${res.stderr}`);
      assert.match(res.stderr, /redis\.url: Redis at 127\.0\.0\.1:\d+ refused it: WRONGPASS/);
      assert.doesNotMatch(res.stdout + res.stderr, /wrong@/, 'no password shown');
      // The client commands too: a setting Redis refuses is configuration (78), not an outage (69).
      for (const args of [['enqueue', 'q', 'Echo'], ['stats']]) {
        const refused = await cli([...args, '--redis', url], env);
        assert.equal(refused.code, 78, `${args[0]}: ${refused.stderr}`);
        assert.match(refused.stderr, /refused this connection's settings \(WRONGPASS/);
        assert.doesNotMatch(refused.stderr, /unreachable/);
      }
    } finally {
      await r.config('SET', 'requirepass', '');
    }
  });

  test('a database number Redis refuses: exit 78, and nothing written to database 0 instead', async () => {
    const r = redis.client();
    const before = (await r.keys('*')).sort();
    const url = `${redis.url}/99`;
    const res = await cli(['work', '--jobs', FIXTURES, '--redis', url], env);
    assert.equal(res.code, 78, res.stderr);
    assert.match(res.stderr, /redis\.url: .*refused it: ERR DB index is out of range/);
    const enq = await cli(['enqueue', 'q', 'Echo', '--redis', url], env);
    assert.equal(enq.code, 78, enq.stderr);
    assert.deepEqual((await r.keys('*')).sort(), before);
  });

  test('bad configuration exits non-zero and names the key; a bad queue name is a usage error', async () => {
    const res = await cli(['work', '--jobs', FIXTURES], { ...env, CONCURRENCY: '0' });
    assert.equal(res.code, 78);
    assert.match(res.stderr, /worker\.concurrency/);
    const bad = await cli(['work', '--jobs', '/nonexistent/jobs'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /job path \/nonexistent\/jobs does not exist/);
    const queue = await cli(['enqueue', 'a,b', 'Echo'], env);
    assert.equal(queue.code, 64, queue.stderr);
    assert.equal(queue.stderr.trim().split('\n').length, 1, `one line, no stack: ${queue.stderr}`);
    assert.match(queue.stderr, /invalid queue name "a,b"/);
    const unknown = await cli(['frobnicate'], env);
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  test('usage errors exit 64 and write nothing; <command> --help prints usage and does nothing else', async () => {
    const r = redis.client();
    await r.flushall();
    for (const args of [
      ['enqueue', 'q'],
      ['enqueue', 'q', 'Echo', '[1,2'], // a JSON typo is refused, not sent as the text "[1,2"
      ['enqueue', 'q', 'Echo', '{a:1}'],
      ['enqueue', 'q', 'Echo', '"unterminated'],
      ['enqueue', 'q', 'Echo', '12345678901234567890'], // JSON.parse would round it
      ['enqueue', 'q', 'Echo', '[1e999]'], // and make this null
      ['enqueue', 'q', 'Echo', '12345678.123456789'], // and this 12345678.12345679
      ['enqueue', 'q', 'Echo', '100000000000000000000000'], // and this 1e+23
      ['enqueue', 'q', 'Echo', '--at', 'Dec 1 9:00'], // Date.parse: 2001-12-01
      ['enqueue', 'q', 'Echo', '--at', '2026-02-30T00:00:00Z'], // Date.parse: March 2
      ['enqueue', 'q', 'Echo', '--in', '1e20'],
      ['queue', 'a,b'],
      ['enqueue', 'q', 'Echo', '--bogus'],
      ['status', 'id-1', 'id-2'],
      ['config'],
      ['config', 'check', 'extra'],
      ['work', 'extra'],
      [],
    ]) {
      const res = await cli(args, env);
      assert.equal(res.code, 64, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /^resque-worker: /, args.join(' '));
      assert.doesNotMatch(res.stderr, /\n\s+at /, `no stack: ${res.stderr}`);
    }
    for (const args of [
      ['enqueue', 'q', 'Echo', '--help'],
      ['status', '-h'],
      ['pause', '--help'],
      ['config', 'check', '--help'],
    ]) {
      const res = await cli(args, env);
      assert.equal(res.code, 0, args.join(' '));
      assert.match(res.stdout, /^usage: resque-worker /, args.join(' '));
    }
    assert.deepEqual(await r.keys('*'), [], 'nothing was enqueued');
    const literal = await cli(
      ['enqueue', 'q', 'Echo', 'plain text', '3', '"12345678901234567890"', '--', '--help'],
      env,
    );
    assert.equal(literal.code, 0, literal.stderr);
    const [payload] = await r.lrange(keys.queue('q'), 0, -1);
    assert.deepEqual(JSON.parse(payload!).args, ['plain text', 3, '12345678901234567890', '--help']);
    // --at as `date` writes it (--rfc-3339=seconds, +%FT%T%z, -Ins): at the same instant.
    for (const at of [
      '2036-12-01 09:00:00+00:00',
      '2036-12-01T10:00:00+0100',
      '2036-12-01T09:00:00,000000000+00:00',
    ]) {
      const res = await cli(['enqueue', 'later', 'Echo', '--at', at], env);
      assert.equal(res.code, 0, `${at}: ${res.stderr}`);
    }
    assert.deepEqual(await r.zrange(keys.delayedSchedule, 0, -1), [String(Date.UTC(2036, 11, 1, 9) / 1000)]);
  });
});
