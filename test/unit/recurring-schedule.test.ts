/** scheduler.schedule: recurring jobs checked at load, and their run times. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import {
  latestRunAt,
  nextRunAt,
  parseRecurringSchedule,
  recurringScheduleAsInput,
} from '../../src/config/recurring-schedule.ts';

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
  assert.deepEqual(
    parseRecurringSchedule({ d: { cron: '@daily Europe/Paris', class: 'D', queue: 'q' } }).map((j) => [
      j.cron,
      j.timezone,
    ]),
    [['@daily', 'Europe/Paris']],
    'a zone after an @ pattern too',
  );
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
    [
      { n: { ...nightly, cron: '0 0 0 1 1 * 2030' } },
      /n\.cron: takes 5 fields, or 6 with seconds first \(no year field\)/,
    ],
    [{ n: { ...nightly, queue: 'a,b' } }, /n\.queue: invalid queue name/],
    [{ n: { ...nightly, every: '30s' } }, /n: unknown key "every"/],
    [{ n: 'daily' }, /n: must be an object/],
    [{ n: { ...nightly, cron: '0 3 * *' } }, /n\.cron: takes 5 fields, or 6/],
    [{ n: { ...nightly, queue: 'mail*' } }, /n\.queue: "mail\*": a queue to enqueue to has no \*/],
    [[nightly], /must be an object of named recurring jobs/],
  ];
  assert.throws(
    () => parseRecurringSchedule({ n: { ...nightly, args: [Number.POSITIVE_INFINITY] } }),
    /n\.args: args of NightlyReport: args\[0\] is Infinity/,
  );
  assert.throws(
    () =>
      loadConfig({
        env: { RESQUE_SCHEDULE: '{"n": {"cron": "0 3 * * *", "class": "C", "queue": "q", "args": [1e400]}}' },
      }),
    /scheduler\.schedule: n\.args: .*Infinity/,
  );
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

test("no class: the job's name is its class, as in resque-scheduler; config check's form loads back the same", () => {
  const given = {
    SendDigest: { cron: '0 8 * * 1', queue: 'mail' },
    'a.b': { cron: '0 3 * * * Europe/Paris', queue: 'q', args: { 'k.v': 1 }, description: 'dotted' },
  };
  const jobs = parseRecurringSchedule(given);
  assert.equal(jobs[0]?.className, 'SendDigest');
  assert.deepEqual(jobs[1]?.args, [{ 'k.v': 1 }], 'a single value (an object too) is the one argument');
  assert.deepEqual(parseRecurringSchedule(recurringScheduleAsInput(jobs)), jobs);
});

test('scheduler.interval must be at most half the shortest time between runs; names with dots load from a file; values are not echoed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-schedule-'));
  const file = join(dir, 'config.json');
  const everySecond = { cron: '* * * * * *', class: 'T', queue: 'q', args: ['s3cret'] };
  writeFileSync(file, JSON.stringify({ scheduler: { schedule: { 'every.second': everySecond } } }));
  assert.throws(
    () => loadConfig({ file, env: {} }),
    /scheduler\.schedule: every\.second\.cron: runs 1 s apart, but the scheduler looks every 2 s/,
  );
  const bunched = { ...everySecond, cron: '0,1 * * * * *' };
  assert.throws(
    () => loadConfig({ env: { RESQUE_SCHEDULE: JSON.stringify({ b: bunched }) } }),
    /b\.cron: runs 1 s apart/,
  );
  writeFileSync(
    file,
    JSON.stringify({ scheduler: { interval: 0.5, schedule: { 'every.second': everySecond } } }),
  );
  assert.equal(loadConfig({ file, env: {} }).scheduler.schedule[0]?.name, 'every.second');
  // 1e400 is Infinity once parsed: refused from the file, not turned into null on the way.
  writeFileSync(
    file,
    '{"scheduler": {"schedule": {"big": {"cron": "0 3 * * *", "class": "B", "queue": "q", "args": [1e400]}}}}',
  );
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (e: Error) => e.message.includes(file) && /scheduler\.schedule: big\.args: .*Infinity/.test(e.message),
  );
  writeFileSync(file, JSON.stringify({ scheduler: { schedule: { n: { ...everySecond, cron: 'nope' } } } }));
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (e: Error) => /n\.cron: /.test(e.message) && !e.message.includes('s3cret'),
  );
});

test('daylight saving time: a time that does not exist runs once, at the hour after; a repeated hour runs a fixed time once', () => {
  const [fixed, halfHourly] = parseRecurringSchedule({
    fixed: { cron: '30 2 * * *', class: 'F', queue: 'q', timezone: 'Europe/Paris' },
    half: { cron: '*/30 * * * *', class: 'H', queue: 'q', timezone: 'Europe/Paris' },
  });
  const runs = (job: typeof fixed, from: string, n: number) => {
    const out: string[] = [];
    let t = Date.parse(from);
    for (let i = 0; i < n; i++) {
      t = nextRunAt(job!, t)!;
      out.push(new Date(t).toISOString().slice(0, 16));
    }
    return out;
  };
  // 2027-03-28: 02:00 to 03:00 does not exist in Paris; 2027-10-31: 02:00 to 03:00 comes twice.
  assert.deepEqual(runs(fixed, '2027-03-27T12:00:00Z', 2), ['2027-03-28T01:00', '2027-03-29T00:30']);
  assert.deepEqual(runs(fixed, '2027-10-30T12:00:00Z', 2), ['2027-10-31T00:30', '2027-11-01T01:30']);
  assert.deepEqual(
    runs(halfHourly, '2027-10-31T00:15:00Z', 4),
    ['2027-10-31T00:30', '2027-10-31T01:00', '2027-10-31T01:30', '2027-10-31T02:00'],
    'both 02:30s run: they are different times',
  );
});
