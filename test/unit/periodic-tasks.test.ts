import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Config } from '../../src/config/load-config.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import type { ScriptedRedis } from '../../src/redis/scripts.ts';
import {
  type PeriodicTask,
  type PeriodicTaskContext,
  PeriodicTasks,
} from '../../src/supervisor/periodic-tasks.ts';

function context(): { ctx: () => PeriodicTaskContext; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({}, { write: (s: string) => lines.push(JSON.parse(s)) });
  const ctx = {
    redis: {} as ScriptedRedis,
    keys: resqueKeys('resque'),
    config: {} as Config,
    log,
  };
  return { ctx: () => ctx, lines };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function task(name: string, intervalMs: number, run: () => unknown): PeriodicTask {
  return { name, intervalMs, onError: { event: `${name}.error`, msg: `could not ${name}` }, run };
}

test('a task runs when due, never twice at once, and a failure is logged as its own event', async () => {
  const { ctx, lines } = context();
  const tasks = new PeriodicTasks();
  let release = () => {};
  let runs = 0;
  tasks.add(
    task('slow', 1000, () => {
      runs++;
      return new Promise<void>((r) => {
        release = r;
      });
    }),
    0,
  );
  tasks.add(
    task('broken', 1000, () => {
      throw new Error('Redis said no');
    }),
    0,
  );
  const settle = () => new Promise((r) => setImmediate(r));
  tasks.runDue(999, ctx);
  await settle();
  assert.equal(runs, 0, 'not due before its interval');
  tasks.runDue(1000, ctx);
  await settle();
  tasks.runDue(5000, ctx);
  await settle();
  assert.equal(runs, 1, 'a run still going is not started again');
  await until('the failure lines', () => lines.length === 2);
  assert.deepEqual(
    lines.map(({ event, task, err, msg }) => ({ event, task, err, msg })),
    Array(2).fill({ event: 'broken.error', task: 'broken', err: 'Redis said no', msg: 'could not broken' }),
    'a failed task is retried when next due',
  );
  release();
  await settle();
  tasks.runDue(6000, ctx);
  await settle();
  assert.equal(runs, 2, 'due again once the last run ended');
});

test('on timers, a task runs every interval while active and not after its stop', async () => {
  const { ctx } = context();
  const tasks = new PeriodicTasks();
  let runs = 0;
  let active = false;
  tasks.add(task('count', 10, () => runs++));
  const stop = tasks.runOnTimers(ctx, () => active);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runs, 0, 'no run while inactive');
  active = true;
  await until('three runs', () => runs >= 3);
  stop();
  const after = runs;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runs, after, 'no run after stop');
});
