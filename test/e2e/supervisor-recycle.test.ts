/**
 * Issue 4, recycling: a worker process is replaced after worker.maxJobs jobs, or once its RSS is
 * above worker.maxMemoryMb, between jobs, and no job is lost or failed on the way.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resqueKeys } from '../../src/redis/keys.ts';
import { fixturePool, SupervisorProcess } from '../helpers/supervisor-process.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const keys = resqueKeys();

describe('supervisor: recycling worker processes', () => {
  const sups: SupervisorProcess[] = [];
  const db = useTestRedis({ release: () => Promise.all(sups.map((s) => s.cleanup())) });

  for (const [what, worker, jobs, minRecycles] of [
    ['after maxJobs jobs', { maxJobs: 3 }, 7, 2],
    ['above maxMemoryMb', { maxMemoryMb: 1 }, 3, 3],
  ] as const) {
    test(`recycled ${what}: replaced between jobs, every job done once, none failed`, async () => {
      const r = db.redis.client();
      await r.flushall();
      const s = SupervisorProcess.start({
        config: fixturePool(db.redis.url, 'recycle', {
          supervisor: { count: 1, respawnDelay: 0.2 },
          worker,
        }),
      });
      sups.push(s);
      await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
      await db.client.enqueueMany(
        'recycle',
        Array.from({ length: jobs }, (_, i) => ({ className: 'Echo', args: [i] })),
      );
      await waitFor(async () => (await r.get(keys.statProcessed)) === String(jobs), {
        timeout: 60_000,
        what: `${jobs} jobs processed`,
      });
      assert.equal(await r.get(keys.statFailed), null);
      assert.equal(await db.client.size('recycle'), 0);
      // A worker's log lines go out after the turn that ran the job, and its outcome may reach
      // Redis first: wait for the lines, do not expect them with the count.
      await waitFor(() => s.events('worker.recycle').length >= minRecycles, {
        what: `${minRecycles} worker.recycle lines`,
      });
      const exits = await waitFor(
        () => {
          const e = s.events('child.exited');
          return e.length >= minRecycles && e;
        },
        { what: `${minRecycles} recycled workers exited` },
      );
      assert.ok(
        exits.every((e) => e.code === 0),
        'a recycled worker exits cleanly',
      );
      await waitFor(async () => (await r.scard(keys.workers)) === 1, { what: 'a replacement registered' });
      await waitFor(() => s.events('job.done').length >= jobs, { what: `${jobs} job.done lines` });
      const done = s.events('job.done').map((l) => (l.jobId as string) ?? '');
      assert.equal(new Set(done).size, jobs, 'each job ran once');
      assert.equal(done.length, jobs);
      await s.cleanup();
    });
  }
});
