/** What a worker process is started with and shows of itself. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { processTitle, WorkerTitle, workerNodeFlags } from '../../src/worker/worker-process.ts';
import { waitFor } from '../helpers/wait.ts';

test('worker children get a small young generation, a callable gc and eager feedback, unless the user set them', () => {
  const all = ['--max-semi-space-size=4', '--expose-gc', '--no-lazy-feedback-allocation'];
  assert.deepEqual(workerNodeFlags([]), all);
  assert.deepEqual(workerNodeFlags(['--max-semi-space-size=16']), all.slice(1));
  assert.deepEqual(workerNodeFlags([], '--expose-gc --max-semi-space-size=8 --lazy-feedback-allocation'), []);
  assert.deepEqual(
    workerNodeFlags(['--max_semi_space_size=16', '--expose_gc', '--no_lazy_feedback_allocation']),
    [],
  );
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

test('the title: state at once, a job a moment later, and a job over sooner never shown', async () => {
  const before = process.title;
  const waiting = 'resque-0.1.0: Waiting for q';
  const title = new WorkerTitle(() => ({ stopping: false, paused: false, queues: ['q'] }));
  try {
    title.now();
    assert.equal(process.title, waiting);
    title.soon('q');
    assert.equal(process.title, waiting, 'a job shows a moment later, not at once');
    title.soon(); // the job is over first: nothing to show
    await sleep(250); // the absence of a change can only be waited out
    assert.equal(process.title, waiting);
    title.soon('q');
    await waitFor(() => process.title.startsWith('resque-0.1.0: Processing q since '), { what: 'job title' });
    title.soon();
    await waitFor(() => process.title === waiting, { what: 'idle title' });
  } finally {
    title.close();
    process.title = before;
  }
});
