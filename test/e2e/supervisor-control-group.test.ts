/**
 * Issue 3 / resque#1559: systemd (KillMode=control-group, `systemctl kill` default --kill-whom=all)
 * signals every process of the unit, and sends CONT right after TERM. Children must obey the
 * signal themselves without handling the supervisor's copy twice, and a CONT during a stop must
 * not resume a paused pool (systemd-lab pitfall 8).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resqueKeys } from '../../src/redis/keys.ts';
import { fixturePool, jobStartMarker, SupervisorProcess } from '../helpers/supervisor-process.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const keys = resqueKeys();

describe('supervisor under signals to the whole process group', () => {
  let s: SupervisorProcess;
  const db = useTestRedis({ release: async () => s?.cleanup() });

  test('USR2 to all pauses; TERM+CONT to all: the running job finishes, the paused pool starts nothing, exit 0', async () => {
    const r = db.redis.client();
    s = SupervisorProcess.start({
      detached: true,
      config: fixturePool(db.redis.url, 'g', { supervisor: { count: 2, shutdownTimeout: 20 } }),
    });
    await s.waitForEvent('supervisor.ready', { timeout: 30_000 });
    const marker = jobStartMarker();
    const running = await db.client.enqueue('g', 'Stubborn', [1500, marker.file], { trackStatus: true });
    await marker.started();

    s.killGroup('SIGUSR2');
    await s.waitForEvent('supervisor.pause');
    await waitFor(() => s.events('worker.pause').length >= 2, { what: 'both workers paused' });
    const queued = await db.client.enqueue('g', 'Echo', ['must wait'], { trackStatus: true });

    s.killGroup('SIGTERM');
    s.killGroup('SIGCONT');
    const { code } = await s.exit;
    assert.equal(code, 0, s.dump());
    assert.equal((await db.client.status(running)).status, 'complete');
    assert.equal((await db.client.status(queued)).status, 'waiting', 'CONT after TERM resumed the pool');
    assert.equal(await r.llen(keys.queue('g')), 1);
    assert.equal(await r.scard(keys.workers), 0);
    assert.equal(s.events('worker.resume').length + s.events('supervisor.resume').length, 0);
    // Each child started its stop once, whichever of TERM or the supervisor's message came first.
    const stops = s.events('worker.stop-requested');
    assert.equal(stops.length, 2, s.dump());
    assert.equal(new Set(stops.map((l) => l.pid)).size, 2);
    assert.equal(s.events('child.exited', (l) => l.code === 0).length, 2);
  });
});
