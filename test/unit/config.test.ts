/** The convict schema: defaults, env habits, and errors that name the key and the file. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { overridesFrom, parseCommon } from '../../src/cli/args.ts';
import { ResqueClient } from '../../src/client/client.ts';
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
  assert.deepEqual(
    loadConfig({ env: { QUEUE: 'a', QUEUES: 'b,c' } }).queues,
    ['b', 'c'],
    "QUEUES first, as Resque's rake task reads them",
  );
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
  assert.match(shown, /"redis:\/\/:\*\*\*@10\.0\.0\.1:6380\/2"/, 'as the config errors show it');
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

/** Asserts a ConfigError (exit 78, no stack trace) whose message matches every pattern. */
function refused(load: () => unknown, ...patterns: RegExp[]): string {
  let message = '';
  assert.throws(load, (e: Error) => {
    message = e.message;
    return e instanceof ConfigError && patterns.every((p) => p.test(e.message));
  });
  return message;
}

test('a list that cannot be parsed is a ConfigError naming the key, from the environment or a file', () => {
  refused(() => loadConfig({ env: { QUEUE: ',' } }), /queues: must name at least one queue.*value was ","/);
  refused(
    () => loadConfig({ env: { LOG_LEVEL: 'verbose', COUNT: '2' } }),
    /\(from the environment: LOG_LEVEL\): log\.level: .*value was "verbose"/,
  );
  refused(() => loadConfig({ env: { QUEUES: ' , ' } }), /queues: .*value was " , "/);
  refused(
    () => loadConfig({ env: { RESQUE_GROUPS: '{bad' } }),
    /supervisor\.groups: not valid JSON: .*value was "\{bad"/,
  );
  const q = file('comma-queues.json', { queues: ',' });
  refused(() => loadConfig({ file: q, env: {} }), new RegExp(`config file ${q}: queues: must name`));
  const g = file('string-groups.json', { supervisor: { groups: '{bad' } });
  refused(
    () => loadConfig({ file: g, env: {} }),
    new RegExp(`config file ${g}: supervisor\\.groups: not valid JSON`),
  );
  assert.deepEqual(
    loadConfig({ env: { RESQUE_GROUPS: '[{"queues": "a,b", "count": 2}]' } }).supervisor.groups,
    [{ name: 'a,b', queues: ['a', 'b'], count: 2 }],
  );
});

test('a number that is not one is shown as given, not as null', () => {
  refused(
    () => loadConfig({ env: { CONCURRENCY: 'abc' } }),
    /worker\.concurrency: must be a positive integer, got "abc"/,
  );
  refused(() => loadConfig({ env: { INTERVAL: '5s' } }), /worker\.interval: .*got "5s"/);
  refused(() => loadConfig({ env: { PREFETCH: '' } }), /worker\.prefetch: must be an integer >= 0, got ""/);
  refused(() => loadConfig({ env: { JOB_TIMEOUT: 'soon' } }), /worker\.jobTimeout: .*got "soon"/);
  // Flags: --concurrency abc as the CLI hands it over, and a NaN from code.
  refused(
    () => loadConfig({ env: {}, overrides: overridesFrom(parseCommon(['--concurrency', 'abc']).values) }),
    /worker\.concurrency: must be a positive integer, got "abc"/,
  );
  refused(
    () => loadConfig({ env: {}, overrides: { worker: { concurrency: Number.NaN } } }),
    /worker\.concurrency: must be a positive integer, got NaN/,
  );
  assert.equal(
    loadConfig({ env: {}, overrides: overridesFrom(parseCommon(['--interval', '0.5']).values) }).worker
      .interval,
    0.5,
  );
  const c = loadConfig({ env: { CONCURRENCY: '4', INTERVAL: '0.5', PREFETCH: '0' } });
  assert.deepEqual([c.worker.concurrency, c.worker.interval, c.worker.prefetch], [4, 0.5, 0]);
});

test('a Redis URL whose path is not a database number, or with no host, is refused (ioredis would use db 0 or localhost)', () => {
  for (const [url, why] of [
    ['redis://127.0.0.1:6379/tmp/x', /redis\.url: the path is the database number .*got \/tmp\/x/],
    ['redis://127.0.0.1:6379/1x', /the path is the database number/],
    ['redis:///run/redis/redis.sock', /redis\.url: names no host/],
  ] as const) {
    refused(() => loadConfig({ env: { REDIS_URL: url } }), why);
  }
  for (const url of ['redis://h', 'redis://h/', 'redis://h:6380/15', 'rediss://:pw@h:6380/0?family=6'])
    assert.equal(loadConfig({ env: { REDIS_URL: url } }).redis.url, url);
  assert.throws(
    () => new ResqueClient({ redisUrl: 'redis://h/tmp/x' }),
    /redisUrl the path is the database number/,
  );
  assert.throws(
    () => new ResqueClient({ redisUrl: 'notaurl' }),
    /redisUrl must be a redis:\/\/ or rediss:\/\/ URL/,
  );
});

test('a bad Redis URL is refused without showing its password', () => {
  for (const [url, shown] of [
    ['redis://:hunter2@h:99999', 'redis://:***@h:99999'],
    ['redis://app:hunter2@h:99999/0', 'redis://app:***@h:99999/0'],
    ['redis://:hunter2@pass@h:99999', 'redis://:***@h:99999'],
  ] as const) {
    const fromEnv = refused(
      () => loadConfig({ env: { REDIS_URL: url } }),
      /redis\.url: must be a redis:\/\//,
    );
    const fromFlag = refused(() => loadConfig({ env: {}, overrides: { redis: { url } } }), /redis\.url/);
    const f = file('leaky-url.json', { redis: { url } });
    const fromFile = refused(() => loadConfig({ file: f, env: {} }), /redis\.url/);
    for (const message of [fromEnv, fromFlag, fromFile]) {
      assert.doesNotMatch(message, /hunter2/);
      assert.ok(message.includes(JSON.stringify(shown)), message);
    }
  }
});
