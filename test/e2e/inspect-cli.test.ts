/** `resque-worker queues|workers|stats|queue|failures`: what resque-web shows, from the shell. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRecurringSchedule, recurringRunsField } from '../../src/config/recurring-schedule.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { Worker } from '../../src/worker/worker.ts';
import { cli } from '../helpers/cli.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = new URL('../fixtures/jobs/', import.meta.url).pathname;
const keys = resqueKeys();

describe('inspecting Redis from the shell', () => {
  const workers: Worker[] = [];
  const db = useTestRedis({
    jobs: [FIXTURES],
    release: () => Promise.all(workers.splice(0).map((w) => w.stop())),
  });
  const run = (...args: string[]) => cli([...args, '--redis', db.redis.url]);
  const json = async (...args: string[]) => {
    const res = await run(...args, '--json');
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  test('queues, queue, workers, stats; failures list, retry, remove, clear', async () => {
    await db.client.enqueue('mail', 'Echo', ['a']);
    await db.client.enqueue('mail', 'Echo', ['b']);
    await db.client.enqueue('other', 'Echo', ['c']);
    assert.deepEqual(await json('queues'), [
      { name: 'mail', size: 2 },
      { name: 'other', size: 1 },
    ]);
    assert.deepEqual(
      (await json('queue', 'mail', '--start', '1')).map((p: { args: unknown[] }) => p.args),
      [['b']],
    );
    assert.match((await run('queues')).stdout, /^mail {2}2\nother {2}1\n$/);

    const w = new Worker({ redisUrl: db.redis.url, queues: ['boom'], registry: db.registry, interval: 0.1 });
    workers.push(w);
    await w.start();
    assert.deepEqual(
      (await json('workers')).map((x: { id: string }) => x.id),
      [w.id],
    );
    assert.match(
      (await run('workers')).stdout,
      new RegExp(`^${w.id.replace(/[*]/g, '\\*')} {2}idle {2}processed 0`),
    );
    for (const m of ['one', 'two', 'three']) await db.client.enqueue('boom', 'Boom', [m]);
    await waitFor(async () => (await db.client.failures.count()) === 3);
    const stats = await json('stats');
    assert.equal(stats.failed, 3);
    assert.equal(stats.pending, 3);

    const list = (await run('failures')).stdout.trim().split('\n');
    assert.equal(list.length, 3);
    assert.match(list[0]!, /^0 {2}\d{4}\/\d\d\/\d\d \S+ UTC {2}boom {2}Boom {2}TypeError: one$/);
    assert.equal((await run('failures', 'count')).stdout.trim(), '3');

    await w.stop(); // the retried job stays queued, to be seen there
    const retried = await run('failures', 'retry', '0', '0'); // once, however often it is named
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(
      (await json('queue', 'boom')).map((p: { args: unknown[] }) => p.args),
      [['one']],
    );
    assert.match((await run('failures', 'list', '--count', '1')).stdout, /\(retried /);
    const missing = await run('failures', 'retry', '1', '7');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no failure at index 7 \(3 failures: 0-2\); nothing retried/);
    assert.equal(await db.client.size('boom'), 1, 'failure 1 not retried either');
    assert.equal((await run('failures', 'remove', '2')).code, 0);
    assert.equal(await db.client.failures.count(), 2);

    for (const args of [
      ['failures', 'clear'],
      ['queue', 'mail', 'remove'],
      ['failures', 'frob'],
      ['queue'],
    ]) {
      const res = await run(...args);
      assert.equal(res.code, 64, `${args.join(' ')}: ${res.stderr}`);
    }
    assert.equal(await db.client.failures.count(), 2, 'nothing cleared without --yes');
    // Bad data in Redis (a queue key of the wrong type): Redis's own error, one line, no stack.
    await db.redis.client().set(keys.queue('broken'), 'not a list');
    const broken = await run('queue', 'broken');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^resque-worker: WRONGTYPE .*\n$/);
    assert.match((await run('failures', 'clear', '--yes')).stdout, /removed 2 failures/);
    assert.match((await run('queue', 'mail', 'remove', '--yes')).stdout, /removed queue mail and its 2 jobs/);
    assert.equal(await db.redis.client().exists(keys.queue('mail')), 0);
    assert.deepEqual(
      (await json('queues')).map((q: { name: string }) => q.name),
      ['boom', 'other'],
    );
  });

  test('scheduled lists the next scheduled jobs; scheduled cancel takes them out', async () => {
    assert.match((await run('scheduled')).stdout, /^nothing scheduled$/m);
    const at = Date.parse('2030-01-02T03:04:05Z');
    const first = await db.client.enqueueAt(at, 'mail', 'Echo', ['ann']);
    const second = await db.client.enqueueAt(at + 1000, 'mail', 'Echo', ['bo']);
    assert.deepEqual((await run('scheduled')).stdout.trim().split('\n'), [
      `2030-01-02T03:04:05Z  mail  Echo  ["ann"]  ${first}`,
      `2030-01-02T03:04:06Z  mail  Echo  ["bo"]  ${second}`,
    ]);
    assert.deepEqual(await json('scheduled', '--count', '1'), [
      { at: at / 1000, job: { class: 'Echo', args: ['ann'], queue: 'mail', id: first } },
    ]);
    const cancelled = await run('scheduled', 'cancel', first, 'nope');
    assert.equal(cancelled.code, 1, 'one of them was not scheduled');
    assert.match(cancelled.stdout, new RegExp(`^cancelled ${first}$`, 'm'));
    assert.match(cancelled.stderr, /no scheduled job nope/);
    assert.deepEqual(
      (await json('scheduled')).map((s: { job: { id: string } }) => s.job.id),
      [second],
    );
    assert.equal((await run('scheduled', 'frob')).code, 64);
  });

  test("recurring lists the config's recurring jobs, the last run claimed in Redis and the next", async () => {
    assert.match((await run('recurring')).stdout, /^no recurring jobs/);
    const schedule = {
      nightly: { cron: '0 3 * * * Europe/Paris', class: 'Report', queue: 'reports', args: ['daily'] },
      hourly: { cron: '@hourly', class: 'Ping', queue: 'q', description: 'keeps it warm' },
    };
    const env = { RESQUE_SCHEDULE: JSON.stringify(schedule) };
    const lastNightly = Date.parse('2026-11-28T02:00:00Z') / 1000;
    const [nightlyJob] = parseRecurringSchedule(schedule);
    await db.redis.client().hset(keys.recurringLastRuns, recurringRunsField(nightlyJob!), lastNightly);
    const res = await cli(['recurring', '--redis', db.redis.url, '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    const [nightly, hourly] = JSON.parse(res.stdout);
    assert.deepEqual(
      { ...nightly, nextRun: undefined },
      {
        name: 'nightly',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        class: 'Report',
        queue: 'reports',
        args: ['daily'],
        description: null,
        lastHandled: '2026-11-28T02:00:00Z',
        nextRun: undefined,
      },
    );
    const next = Date.parse(nightly.nextRun);
    assert.ok(next > Date.now() && next - Date.now() <= 86_400_000, nightly.nextRun);
    assert.equal(
      new Date(next).toLocaleString('en-GB', {
        timeZone: 'Europe/Paris',
        hour: '2-digit',
        minute: '2-digit',
      }),
      '03:00',
    );
    assert.equal(hourly.lastHandled, null);
    assert.equal(hourly.description, 'keeps it warm');
    const text = await cli(['recurring', '--redis', db.redis.url], env);
    assert.match(
      text.stdout,
      /^nightly {2}0 3 \* \* \* \(Europe\/Paris\) {2}reports {2}Report {2}\["daily"\] {2}last handled 2026-11-28T02:00:00Z {2}next \S+Z$/m,
    );
    assert.match(text.stdout, /^hourly {2}@hourly {2}q {2}Ping {2}\[\] {2}last handled none {2}next \S+Z$/m);
  });
});
