/** Pins every key against the wire-format contract (Ruby Resque / php-resque / node-resque). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resqueKeys } from '../../src/redis/keys.ts';
import { scriptSource } from '../../src/redis/scripts.ts';

test('Resque keys under the default namespace', () => {
  const k = resqueKeys();
  const id = 'host:123:high,low';
  assert.deepEqual(
    {
      queues: k.queues,
      queue: k.queue('high'),
      workers: k.workers,
      worker: k.worker(id),
      started: k.workerStarted(id),
      heartbeats: k.heartbeats,
      processed: k.statProcessed,
      failed: k.statFailed,
      workerProcessed: k.workerStatProcessed(id),
      workerFailed: k.workerStatFailed(id),
      failedList: k.failed,
      pause: k.pauseAllWorkers,
      status: k.jobStatus('abc'),
      prefixedStatus: k.jobStatus('abc', 'app'),
    },
    {
      queues: 'resque:queues',
      queue: 'resque:queue:high',
      workers: 'resque:workers',
      worker: 'resque:worker:host:123:high,low',
      started: 'resque:worker:host:123:high,low:started',
      heartbeats: 'resque:workers:heartbeat',
      processed: 'resque:stat:processed',
      failed: 'resque:stat:failed',
      workerProcessed: 'resque:stat:processed:host:123:high,low',
      workerFailed: 'resque:stat:failed:host:123:high,low',
      failedList: 'resque:failed',
      pause: 'resque:pause-all-workers',
      status: 'resque:job:abc:status',
      prefixedStatus: 'resque:job:app_abc:status',
    },
  );
});

test('prefixes used by Lua scripts agree with the key builders', () => {
  const k = resqueKeys('ns');
  assert.equal(`${k.queuePrefix}x`, k.queue('x'));
  assert.equal(`${k.jobStatusPrefix}abc:status`, k.jobStatus('abc'));
  assert.equal(`${k.jobStatusPrefix}p_abc:status`, k.jobStatus('abc', 'p'));
});

test('namespace, and no namespace at all', () => {
  assert.equal(resqueKeys('myapp').queue('q'), 'myapp:queue:q');
  assert.equal(resqueKeys('').queue('q'), 'queue:q');
});

test('our extension keys never collide with a Resque key for a worker id', () => {
  const k = resqueKeys();
  const id = 'h:1:q';
  const ours = [
    k.workerInflight(id),
    k.workerLastReserve(id),
    k.idleWorkers,
    k.recoveredPrefix,
    k.pruneLock,
    k.ourWorkers,
  ];
  const resque = [k.worker(id), k.workerStarted(id), k.workerStatProcessed(id), k.workerStatFailed(id)];
  for (const key of ours) assert.ok(!resque.includes(key), key);
  assert.ok(ours.every((key) => key.startsWith('resque:')));
});

test('enqueue.lua spells the keys it names from the prefix as the key builders do', () => {
  const source = scriptSource('enqueue');
  const k = resqueKeys('ns');
  const literal = (key: string) => `'${key.slice(k.prefix.length)}'`;
  for (const key of [k.idleWorkers, k.pauseAllWorkers, k.ourWorkers, k.handOffSeq])
    assert.ok(source.includes(`ns .. ${literal(key)}`), key);
  // Per-worker keys: ns .. '<before id>' .. <id> [.. '<after id>']
  for (const [name, key] of [
    ['record', k.worker('ID')],
    ['in-flight list', k.workerInflight('ID')],
    ['channel', k.workerChannel('ID')],
  ] as const) {
    const [before, after] = key.slice(k.prefix.length).split('ID') as [string, string];
    const spelled = new RegExp(
      `ns \\.\\. '${before}' \\.\\. [\\w.]+${after ? ` \\.\\. '${after}'` : "(?![\\w.]| \\.\\. ')"}`,
    );
    assert.match(source, spelled, name);
  }
});

test("schedule.lua and the client use resque-scheduler's keys, spelled from the prefix as the builders do", () => {
  const k = resqueKeys();
  assert.deepEqual(
    [k.delayedSchedule, k.delayed(1764000000), k.delayedTimestamps('{"class":"A"}')],
    ['resque:delayed_queue_schedule', 'resque:delayed:1764000000', 'resque:timestamps:{"class":"A"}'],
  );
  const source = scriptSource('schedule');
  const ns = resqueKeys('ns');
  const literal = (key: string) => `ns .. '${key.slice(ns.prefix.length)}'`;
  for (const key of [ns.failed, ns.queues, ns.statProcessed, ns.statFailed, ns.idleWorkers])
    assert.ok(source.includes(literal(key)), key);
  for (const key of [ns.delayed(0), ns.delayedTimestamps(''), ns.queue(''), ns.workerChannel('')])
    assert.ok(source.includes(literal(key).replace(/0?'$/, "'")), key);
});
