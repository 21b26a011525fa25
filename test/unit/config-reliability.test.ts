/** Reliability settings (issue 4): defaults like Ruby's, bad values named clearly. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load-config.ts';

test('defaults: dead after 300 s like Ruby, poison limit 3, prune every 60 s, requeue dead jobs', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.worker.deadAfter, 300);
  assert.equal(c.worker.poisonLimit, 3);
  assert.equal(c.supervisor.pruneInterval, 60);
  assert.equal(c.supervisor.deadWorkerJobs, 'requeue');
});

test('env variables set them', () => {
  const c = loadConfig({
    env: { DEAD_AFTER: '180', POISON_LIMIT: '5', PRUNE_INTERVAL: '10', DEAD_WORKER_JOBS: 'fail' },
  });
  assert.deepEqual(
    [c.worker.deadAfter, c.worker.poisonLimit, c.supervisor.pruneInterval, c.supervisor.deadWorkerJobs],
    [180, 5, 10, 'fail'],
  );
});

test('negative counts and zero timeouts are refused with the key named', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DEAD_AFTER: '0' }, /worker\.deadAfter/],
    [{ DEAD_AFTER: '-5' }, /worker\.deadAfter/],
    [{ POISON_LIMIT: '-1' }, /worker\.poisonLimit/],
    [{ POISON_LIMIT: '0' }, /worker\.poisonLimit/],
    [{ PRUNE_INTERVAL: '0' }, /supervisor\.pruneInterval/],
    [{ DEAD_WORKER_JOBS: 'drop' }, /supervisor\.deadWorkerJobs/],
    [{ HEARTBEAT_INTERVAL: '0' }, /worker\.heartbeatInterval/],
    [{ COUNT: '-3' }, /supervisor\.count/],
    [{ JOB_TIMEOUT: '0' }, /worker\.jobTimeout/],
  ];
  for (const [env, key] of cases) {
    assert.throws(
      () => loadConfig({ env }),
      (e: Error) => e instanceof ConfigError && key.test(e.message),
      JSON.stringify(env),
    );
  }
});

test('a deadAfter that would prune live workers is refused', () => {
  assert.throws(
    () => loadConfig({ env: { DEAD_AFTER: '50', HEARTBEAT_INTERVAL: '30' } }),
    /worker\.deadAfter \(50 s\) must be more than twice worker\.heartbeatInterval \(30 s\)/,
  );
});

test('in a file, the error names the file and the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-rel-config-'));
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ worker: { poisonLimit: -2 } }));
  assert.throws(
    () => loadConfig({ file: f, env: {} }),
    (e: Error) => e instanceof ConfigError && e.message.includes(f) && /worker\.poisonLimit/.test(e.message),
  );
});
