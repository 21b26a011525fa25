/** What a worker process is started with and shows of itself. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processTitle, workerNodeFlags } from '../../src/worker/worker-process.ts';

test('worker children get a small young generation and a callable gc, unless the user set them', () => {
  assert.deepEqual(workerNodeFlags([]), ['--max-semi-space-size=4', '--expose-gc']);
  assert.deepEqual(workerNodeFlags(['--max-semi-space-size=16']), ['--expose-gc']);
  assert.deepEqual(workerNodeFlags([], '--expose-gc --max-semi-space-size=8'), []);
  assert.deepEqual(workerNodeFlags(['--max_semi_space_size=16', '--expose_gc']), []);
});

test("Resque's procline, which peers look for before they prune a worker", () => {
  const queues = ['high', 'low'];
  assert.equal(
    processTitle({ stopping: false, paused: false, queues }),
    'resque-0.1.0: Waiting for high,low',
  );
  assert.equal(
    processTitle({ stopping: false, paused: false, queues, processing: 'high' }, 1_700_000_000_500),
    'resque-0.1.0: Processing high since 1700000000',
  );
  assert.equal(processTitle({ stopping: false, paused: true, queues }), 'resque-0.1.0: Paused');
  assert.equal(processTitle({ stopping: true, paused: true, queues }), 'resque-0.1.0: Stopping');
});
