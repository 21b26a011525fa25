/** The convict schema: defaults, env habits, and errors that name the key and the file. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, redactConfig } from '../../src/config/load-config.ts';
import { schema } from '../../src/config/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'rw-config-'));
function file(name: string, data: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data));
  return path;
}

test('every schema key has doc, format and default', () => {
  const walk = (node: Record<string, unknown>, path: string): void => {
    if ('default' in node) {
      assert.ok(typeof node.doc === 'string' && node.doc.length > 10, `${path}: doc`);
      assert.ok('format' in node, `${path}: format`);
      assert.ok(typeof node.env === 'string', `${path}: env`);
      return;
    }
    for (const [k, v] of Object.entries(node)) walk(v as Record<string, unknown>, path ? `${path}.${k}` : k);
  };
  walk(schema as unknown as Record<string, unknown>, '');
});

test('defaults, then file, then env, then flags', () => {
  assert.deepEqual(loadConfig({ env: {} }).queues, ['*']);
  const f = file('a.json', { queues: 'high,default', worker: { concurrency: 4 }, jobs: ['./jobs'] });
  const c = loadConfig({ file: f, env: { QUEUES: 'envq', INTERVAL: '2', PREFETCH: '10' } });
  assert.deepEqual(c.queues, ['envq']);
  assert.equal(c.worker.prefetch, 10);
  assert.equal(loadConfig({ env: {} }).worker.prefetch, 0, 'no prefetch by default (Resque semantics)');
  assert.equal(c.worker.concurrency, 4);
  assert.equal(c.worker.interval, 2);
  assert.deepEqual(c.jobs, [join(dir, 'jobs')], 'job paths in a file are relative to the file');
  const flags = loadConfig({
    file: f,
    env: { QUEUE: 'envq' },
    overrides: { queues: ['flagq'], worker: { concurrency: 9 } },
  });
  assert.deepEqual(flags.queues, ['flagq']);
  assert.equal(flags.worker.concurrency, 9);
  assert.ok(Object.isFrozen(flags) && Object.isFrozen(flags.worker));
});

test('a bad value names the key and the file', () => {
  const f = file('bad.json', { worker: { concurrency: 0 } });
  assert.throws(
    () => loadConfig({ file: f, env: {} }),
    (e: Error) =>
      e instanceof ConfigError && e.message.includes(f) && e.message.includes('worker.concurrency'),
  );
});

test('an unknown key is an error', () => {
  const f = file('unknown.json', { wokrer: { concurrency: 2 } });
  assert.throws(() => loadConfig({ file: f, env: {} }), /wokrer/);
});

test('negative counts, zero timeouts and broken groups are refused', () => {
  assert.throws(() => loadConfig({ env: { COUNT: '-1' } }), /supervisor\.count/);
  assert.throws(() => loadConfig({ env: { PREFETCH: '-1' } }), /worker\.prefetch/);
  assert.throws(() => loadConfig({ env: { JOB_TIMEOUT: '0' } }), /worker\.jobTimeout/);
  assert.throws(() => loadConfig({ env: { SHUTDOWN_TIMEOUT: '0' } }), /supervisor\.shutdownTimeout/);
  const g = file('groups.json', { supervisor: { groups: [{ queues: 'a', count: -2 }] } });
  assert.throws(() => loadConfig({ file: g, env: {} }), /group 0\.count/);
  const q = file('queues.json', { queues: '' });
  assert.throws(() => loadConfig({ file: q, env: {} }), /queues/);
});

test('a file that is not JSON, or missing, says so', () => {
  assert.throws(() => loadConfig({ file: file('x.json', '{nope'), env: {} }), /not valid JSON/);
  assert.throws(() => loadConfig({ file: join(dir, 'missing.json'), env: {} }), /not found/);
});

test('redaction hides the Redis password', () => {
  const c = loadConfig({ env: { REDIS_URL: 'redis://:s3cret@10.0.0.1:6380/2' } });
  const shown = JSON.stringify(redactConfig(c));
  assert.doesNotMatch(shown, /s3cret/);
  assert.match(shown, /REDACTED/);
});

test('nullable numbers come from the environment as numbers (JOB_TIMEOUT, MAX_JOBS, MAX_MEMORY_MB)', () => {
  const c = loadConfig({ env: { JOB_TIMEOUT: '30', MAX_JOBS: '10', MAX_MEMORY_MB: '512' } });
  assert.equal(c.worker.jobTimeout, 30);
  assert.equal(c.worker.maxJobs, 10);
  assert.equal(c.worker.maxMemoryMb, 512);
  assert.equal(loadConfig({ env: { JOB_TIMEOUT: 'null' } }).worker.jobTimeout, null);
  assert.throws(() => loadConfig({ env: { MAX_JOBS: 'ten' } }), /worker\.maxJobs/);
});

test('durations beyond what a Node timer can wait are refused (they would fire after 1 ms)', () => {
  assert.throws(() => loadConfig({ env: { JOB_TIMEOUT: '3000000' } }), /worker\.jobTimeout.*<= 2147483/);
  assert.throws(() => loadConfig({ env: { SHUTDOWN_TIMEOUT: '2147484' } }), /supervisor\.shutdownTimeout/);
  assert.equal(loadConfig({ env: { INTERVAL: '2147483' } }).worker.interval, 2147483);
});
