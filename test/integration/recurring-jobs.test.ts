/**
 * Recurring jobs (scheduler.schedule) through recur.lua: each run scheduled once however many
 * schedulers see it, a job first seen starting with its next run, a missed run skipped, and the
 * run moved onto its queue as any scheduled job.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { parseRecurringSchedule, recurringRunsField } from '../../src/config/recurring-schedule.ts';
import { silentLogger } from '../../src/log.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { moveDueJobs } from '../../src/scheduler/move-due-jobs.ts';
import { RecurringJobs } from '../../src/scheduler/recurring-jobs.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';

const keys = resqueKeys();
const GRACE = 60_000;
const MINUTE = 60_000;

describe('recurring jobs', () => {
  const db = useTestRedis({ flushEach: true });
  const jobs = parseRecurringSchedule({
    'every-minute': { cron: '* * * * *', class: 'Echo', queue: 'cron', args: ['tick'] },
  });
  const t0 = Date.parse('2026-11-27T12:00:00Z');

  function scheduler() {
    const lines: Record<string, unknown>[] = [];
    const log = pino({}, { write: (l: string) => lines.push(JSON.parse(l)) });
    return { recurring: new RecurringJobs(keys, log), lines };
  }
  const runs = async () => {
    const r = db.redis.client();
    const out: [number, unknown][] = [];
    for (const ts of await r.zrange(keys.delayedSchedule, 0, -1))
      for (const item of await r.lrange(keys.delayed(ts), 0, -1)) out.push([Number(ts), JSON.parse(item)]);
    return out;
  };

  test('a job first seen starts with its next run; each run is scheduled once across schedulers', async () => {
    const redis = defineScripts(db.redis.client());
    const [a, b] = [scheduler(), scheduler()];
    assert.equal(await a.recurring.scheduleDue(redis, jobs, t0 + 5000, GRACE), 0, 'first seen: no run yet');
    assert.equal(
      await db.redis.client().hget(keys.recurringLastRuns, recurringRunsField(jobs[0]!)),
      String(t0 / 1000),
    );
    assert.deepEqual(await runs(), []);

    // The next minute, seen by two schedulers at once, then again by both.
    const seen = await Promise.all(
      [a, b].map((s) => s.recurring.scheduleDue(redis, jobs, t0 + MINUTE + 1, GRACE)),
    );
    assert.deepEqual(seen.sort(), [0, 1]);
    for (const s of [a, b])
      assert.equal(await s.recurring.scheduleDue(redis, jobs, t0 + MINUTE + 2000, GRACE), 0);
    const [[ts, item]] = (await runs()) as [[number, Record<string, unknown>]];
    assert.equal(ts, (t0 + MINUTE) / 1000);
    assert.deepEqual(
      { ...item, id: undefined },
      { class: 'Echo', args: ['tick'], queue: 'cron', id: undefined },
    );
    assert.match(String(item.id), /^[0-9a-f]{32}$/);
    const logged = [...a.lines, ...b.lines].filter((l) => l.event === 'scheduler.recurring');
    assert.equal(logged.length, 1);
    assert.deepEqual(
      {
        ...logged[0],
        level: undefined,
        time: undefined,
        pid: undefined,
        hostname: undefined,
        msg: undefined,
      },
      {
        ...logged[0],
        event: 'scheduler.recurring',
        name: 'every-minute',
        queue: 'cron',
        class: 'Echo',
        runAt: '2026-11-27T12:01:00.000Z',
        level: undefined,
        time: undefined,
        pid: undefined,
        hostname: undefined,
        msg: undefined,
      },
    );

    // A scheduler whose clock runs behind (it sees 12:00 still) schedules nothing again.
    const late = scheduler();
    assert.equal(await late.recurring.scheduleDue(redis, jobs, t0 + 30_000, GRACE), 0);
    assert.equal((await runs()).length, 1);

    // Due: moved onto its queue as any scheduled job (Redis's clock is past 2026-11-27 12:01).
    await moveDueJobs(redis, keys, silentLogger);
    const [queued] = await db.redis.client().lrange(keys.queue('cron'), 0, -1);
    assert.deepEqual(JSON.parse(queued!).args, ['tick']);
    assert.deepEqual(await db.redis.client().smembers(keys.queues), ['cron']);
  });

  test('runs missed while no scheduler ran: logged once as a range; the latest runs if within the grace', async () => {
    const redis = defineScripts(db.redis.client());
    const s = scheduler();
    await s.recurring.scheduleDue(redis, jobs, t0, GRACE); // first seen at 12:00
    // Down from 12:00 to 12:03:30: 12:03 is 30 s late, within the grace; 12:01 and 12:02 are missed.
    assert.equal(await s.recurring.scheduleDue(redis, jobs, t0 + 3 * MINUTE + 30_000, GRACE), 1);
    // Down until 12:07:05 with a grace of 1 s: 12:04 to 12:07 missed, seen by two schedulers.
    const other = scheduler();
    assert.equal(await s.recurring.scheduleDue(redis, jobs, t0 + 7 * MINUTE + 5000, 1000), 0);
    assert.equal(await other.recurring.scheduleDue(redis, jobs, t0 + 7 * MINUTE + 5000, 1000), 0);
    assert.deepEqual(
      (await runs()).map(([ts]) => ts),
      [(t0 + 3 * MINUTE) / 1000],
    );
    const missed = [...s.lines, ...other.lines]
      .filter((l) => l.event === 'scheduler.recurring-missed')
      .map((l) => [l.from, l.until]);
    assert.deepEqual(missed, [
      ['2026-11-27T12:01:00.000Z', '2026-11-27T12:02:00.000Z'],
      ['2026-11-27T12:04:00.000Z', '2026-11-27T12:07:00.000Z'],
    ]);
    // Back in time: the next run is scheduled, and nothing is missed in between.
    assert.equal(await other.recurring.scheduleDue(redis, jobs, t0 + 8 * MINUTE + 1000, GRACE), 1);
    assert.equal(
      [...s.lines, ...other.lines].filter((l) => l.event === 'scheduler.recurring-missed').length,
      2,
    );
  });

  test('a job whose pattern changes starts afresh (no runs of the old pattern taken as missed); one failing job does not stop the others', async () => {
    const redis = defineScripts(db.redis.client());
    const s = scheduler();
    await s.recurring.scheduleDue(redis, jobs, t0, GRACE); // every minute, first seen at 12:00
    const [daily] = parseRecurringSchedule({
      'every-minute': { cron: '30 12 * * *', class: 'Echo', queue: 'cron', args: ['tick'] },
    });
    await s.recurring.scheduleDue(redis, jobs, t0 + 59 * MINUTE, GRACE); // 12:59 run, 12:01-12:58 missed
    const before = s.lines.length;
    // Reloaded in the same process at 13:00 as a daily job at 12:30: entered afresh, nothing missed,
    // nothing enqueued; its first run is the next day's, not one taken as where it starts.
    assert.equal(await s.recurring.scheduleDue(redis, [daily!], t0 + 60 * MINUTE, GRACE), 0);
    assert.deepEqual(s.lines.slice(before), []);
    assert.equal(
      await db.redis.client().hget(keys.recurringLastRuns, recurringRunsField(daily!)),
      String((t0 + 30 * MINUTE) / 1000),
    );
    assert.equal(
      await s.recurring.scheduleDue(redis, [daily!], t0 + 24 * 60 * MINUTE + 30 * MINUTE + 5000, GRACE),
      1,
    );
    assert.deepEqual(
      s.lines.slice(before).map((l) => l.event),
      ['scheduler.recurring'],
    );

    // Two jobs due at different times, the first one's delayed list broken.
    const pair = parseRecurringSchedule({
      a: { cron: '10 * * * * *', class: 'Echo', queue: 'cron' },
      b: { cron: '20 * * * * *', class: 'Echo', queue: 'cron' },
    });
    const p = scheduler();
    await p.recurring.scheduleDue(redis, pair, t0 + 30_000, GRACE); // both first seen
    await db.redis.client().set(keys.delayed((t0 + MINUTE + 10_000) / 1000), 'not a list');
    assert.equal(await p.recurring.scheduleDue(redis, pair, t0 + MINUTE + 30_000, GRACE), 1, 'b scheduled');
    const [failed] = p.lines.filter((l) => l.event === 'scheduler.recurring-error');
    assert.equal(failed?.name, 'a');
    assert.match(String(failed?.err), /WRONGTYPE/);
  });
});
