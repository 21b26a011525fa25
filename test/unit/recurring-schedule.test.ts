/** scheduler.schedule: recurring jobs checked at load, and their run times. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { latestRunAt, nextRunAt, parseRecurringSchedule } from '../../src/config/recurring-schedule.ts';

const nightly = { cron: '0 3 * * *', class: 'NightlyReport', queue: 'reports' };

test('a schedule as resque-scheduler writes one: args default to none, a single value is the one argument', () => {
  const [a, b, c] = parseRecurringSchedule({
    nightly,
    hourly: { cron: '@hourly', class: 'Ping', queue: 'q', args: 'x', description: 'keeps it warm' },
    paris: { cron: '0 9 * * 1-5 Europe/Paris', class: 'Open', queue: 'q', args: [1, { a: 2 }] },
  });
  assert.deepEqual(a, {
    name: 'nightly',
    cron: '0 3 * * *',
    className: 'NightlyReport',
    queue: 'reports',
    args: [],
  });
  assert.deepEqual(b?.args, ['x']);
  assert.equal(b?.description, 'keeps it warm');
  assert.equal(c?.cron, '0 9 * * 1-5', "rufus's trailing time zone is read as the zone");
  assert.equal(c?.timezone, 'Europe/Paris');
  assert.deepEqual(c?.args, [1, { a: 2 }]);
  assert.equal(
    parseRecurringSchedule({ mon: { cron: '0 0 3 * * MON', class: 'W', queue: 'q' } })[0]?.cron,
    '0 0 3 * * MON',
    'a last field with letters that is no time zone stays a field',
  );
});

test('a bad entry stops the load, naming scheduler.schedule, the job and its key', () => {
  const bad: [unknown, RegExp][] = [
    [{ n: { ...nightly, cron: '61 * * * *' } }, /n\.cron: .*minute/],
    [{ n: { ...nightly, cron: '0 0 30 2 *' } }, /n\.cron: "0 0 30 2 \*" never runs/],
    [{ n: { ...nightly, cron: '' } }, /n\.cron: must be a cron pattern/],
    [{ n: { ...nightly, timezone: 'Mars/Base' } }, /n\.timezone: not an IANA time zone/],
    [
      { n: { ...nightly, cron: '0 3 * * * UTC', timezone: 'UTC' } },
      /n\.cron: names a time zone, and so does \.timezone/,
    ],
    [{ n: { ...nightly, class: '' } }, /n\.class: must name the job class/],
    [{ n: { ...nightly, queue: 'a,b' } }, /n\.queue: invalid queue name/],
    [{ n: { ...nightly, every: '30s' } }, /n: unknown key "every"/],
    [{ n: 'daily' }, /n: must be an object/],
    [[nightly], /must be an object of named recurring jobs/],
  ];
  for (const [schedule, message] of bad) {
    assert.throws(() => parseRecurringSchedule(schedule), message, JSON.stringify(schedule));
    assert.throws(
      () => loadConfig({ env: { RESQUE_SCHEDULE: JSON.stringify(schedule) } }),
      (e: Error) =>
        /scheduler\.schedule/.test(e.message) && message.test(e.message) && /RESQUE_SCHEDULE/.test(e.message),
      JSON.stringify(schedule),
    );
  }
});

test('from a config file (convict would read the job names as settings): loaded, or refused naming key and file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-schedule-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ scheduler: { interval: 1, schedule: { nightly } } }));
  const { scheduler } = loadConfig({ file, env: {} });
  assert.equal(scheduler.interval, 1);
  assert.deepEqual(
    scheduler.schedule.map((j) => [j.name, j.cron]),
    [['nightly', '0 3 * * *']],
  );
  writeFileSync(
    file,
    JSON.stringify({ scheduler: { schedule: { nightly: { ...nightly, cron: '0 25 * * *' } } } }),
  );
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (e: Error) => e.message.includes(file) && /scheduler\.schedule: nightly\.cron: .*hour/.test(e.message),
  );
  assert.deepEqual(loadConfig({ env: {} }).scheduler.schedule, [], 'none by default');
  writeFileSync(file, JSON.stringify({ scheduler: { interval: null, schedule: { nightly } } }));
  assert.throws(
    () => loadConfig({ file, env: {} }),
    /scheduler\.schedule has recurring jobs, but scheduler\.interval is null/,
  );
});

test("the latest run at or before now, and the next one, in the job's time zone", () => {
  const [utc, paris, everySecond] = parseRecurringSchedule({
    utc: { ...nightly, timezone: 'UTC' },
    paris: { ...nightly, timezone: 'Europe/Paris' },
    s: { cron: '* * * * * *', class: 'T', queue: 'q' },
  });
  const at3 = Date.parse('2026-11-28T03:00:00Z');
  assert.equal(latestRunAt(utc!, at3), at3, 'a run at now is due now');
  assert.equal(latestRunAt(utc!, at3 - 1), at3 - 86_400_000);
  assert.equal(nextRunAt(utc!, at3), at3 + 86_400_000);
  assert.equal(
    latestRunAt(paris!, at3),
    Date.parse('2026-11-28T02:00:00Z'),
    '03:00 in Paris is 02:00 UTC in winter',
  );
  assert.equal(latestRunAt(everySecond!, at3 + 1500), at3 + 1000);
});
