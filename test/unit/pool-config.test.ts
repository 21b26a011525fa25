/** The pool as the config describes it, and the status line systemd and `ps` show. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import {
  checkPoolConfig,
  countsOf,
  holdsOneJobAtATime,
  wantedGroups,
} from '../../src/supervisor/pool-config.ts';
import { type PoolSnapshot, statusLine } from '../../src/supervisor/pool-status.ts';

test('no groups: one group of COUNT workers on QUEUE, named after its queues', () => {
  const c = loadConfig({ env: { QUEUE: 'high,low', COUNT: '3', RESQUE_JOBS: '/srv/jobs' } });
  const [g, ...rest] = wantedGroups(c, countsOf(c));
  assert.equal(rest.length, 0);
  assert.equal(g!.name, 'high,low');
  assert.equal(g!.count, 3);
  assert.deepEqual(g!.spec.queues, ['high', 'low']);
});

test('no job modules: no workers, whatever the counts (they would fail every job they took)', () => {
  const c = loadConfig({ env: { QUEUE: '*', COUNT: '3' } });
  assert.deepEqual(c.jobs, []);
  assert.equal(wantedGroups(c, countsOf(c))[0]!.count, 0);
  assert.equal(wantedGroups(c, new Map([['*', 5]]))[0]!.count, 0, 'TTIN adds none either');
});

test('a group key changes with what children run, not with the count', () => {
  const env = {};
  const base = { supervisor: { groups: [{ name: 'a', queues: 'q', count: 1 }] } };
  const c1 = loadConfig({ env, overrides: base as never });
  const key = (c: ReturnType<typeof loadConfig>, counts = countsOf(c)) => wantedGroups(c, counts)[0]!.key;
  assert.equal(key(c1), key(c1, new Map([['a', 5]])));
  const c2 = loadConfig({
    env,
    overrides: { supervisor: { groups: [{ name: 'a', queues: 'q', count: 4 }] } } as never,
  });
  assert.equal(key(c1), key(c2));
  const c3 = loadConfig({
    env,
    overrides: { supervisor: { groups: [{ name: 'a', queues: 'q,r', count: 1 }] } } as never,
  });
  assert.notEqual(key(c1), key(c3));
  const c4 = loadConfig({ env, overrides: { ...base, worker: { concurrency: 4 } } as never });
  assert.notEqual(key(c1), key(c4));
});

test('checkPoolConfig: duplicate group names, an unknown scaleGroup, missing job paths', () => {
  const dup = loadConfig({
    env: {},
    overrides: {
      supervisor: {
        groups: [
          { queues: 'a', count: 1 },
          { queues: 'a', count: 2 },
        ],
      },
    } as never,
  });
  assert.throws(() => checkPoolConfig(dup), /supervisor\.groups: two groups are named "a"/);
  const scale = loadConfig({ env: { SCALE_GROUP: 'nope' } });
  assert.throws(() => checkPoolConfig(scale), /supervisor\.scaleGroup: no group is named "nope"/);
  const jobs = loadConfig({ env: { RESQUE_JOBS: '/does/not/exist' } });
  assert.throws(() => checkPoolConfig(jobs), /jobs: \/does\/not\/exist does not exist/);
  checkPoolConfig(loadConfig({ env: {} }));
});

test('status line: busy/total, no jobs, paused, processed, Redis, crash loops', () => {
  const snap: PoolSnapshot = {
    state: 'running',
    paused: true,
    wanted: 3,
    noJobs: false,
    workers: 3,
    ready: 2,
    retiring: 1,
    busy: 2,
    processed: 41,
    redis: 'down',
    crashLoops: [{ group: 'high', crashes: 4, retryInS: 8 }],
    children: [],
  };
  assert.equal(
    statusLine(snap),
    '2/3 workers busy, 1 starting, 1 retiring, paused, 41 processed, redis down, crash loop: high (4 crashes, retry in 8 s)',
  );
  assert.equal(
    statusLine({
      ...snap,
      paused: false,
      ready: 3,
      retiring: 0,
      redis: 'up',
      crashLoops: [],
      state: 'stopping',
    }),
    '2/3 workers busy, stopping, 41 processed, redis up',
  );
  assert.equal(
    statusLine({ ...snap, noJobs: true, busy: 0, workers: 0, ready: 0, retiring: 0, paused: false }),
    '0/0 workers busy, no job modules configured, 41 processed, redis down, crash loop: high (4 crashes, retry in 8 s)',
  );
});

test("a group holds one job at a time only at concurrency 1 without prefetch (a hung worker's job is then the culprit)", () => {
  const c = loadConfig({ env: {} });
  assert.equal(holdsOneJobAtATime(c, { name: 'a', queues: ['a'], count: 1 }), true);
  assert.equal(holdsOneJobAtATime(c, { name: 'a', queues: ['a'], count: 1, concurrency: 2 }), false);
  const prefetching = loadConfig({ env: { PREFETCH: '5' } });
  assert.equal(holdsOneJobAtATime(prefetching, { name: 'a', queues: ['a'], count: 1 }), false);
});
