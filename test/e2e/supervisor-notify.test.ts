/**
 * Issue 3: what the supervisor tells systemd. A unix datagram socket stands in for systemd
 * (NOTIFY_SOCKET, bound by a small Python helper): READY once every child registered, STATUS
 * lines, RELOADING then READY around a HUP, STOPPING on stop, WATCHDOG pings when asked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NotifySocket } from '../helpers/notify-socket.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { FIXTURE_JOBS, SupervisorProcess } from '../helpers/supervisor-process.ts';
import { waitFor } from '../helpers/wait.ts';

describe('supervisor sd_notify', () => {
  let redis: TestRedis;
  const cleanups: (() => unknown)[] = [];

  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    for (const c of cleanups) await c();
    await redis.stop();
  });

  const config = () => ({
    redis: { url: redis.url },
    jobs: [FIXTURE_JOBS],
    queues: 'q',
    worker: { interval: 0.2 },
    supervisor: { count: 2 },
  });

  test('READY after every child registered, STATUS, RELOADING then READY, STOPPING, in order', async () => {
    const sock = await NotifySocket.start();
    cleanups.push(() => sock.stop());
    const s = SupervisorProcess.start({
      config: config(),
      env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: '' },
    });
    cleanups.push(() => s.cleanup());
    await waitFor(() => sock.lines.includes('READY=1'), { timeout: 30_000, what: 'READY=1' });
    const readySeenAt = Date.now();
    // READY comes after both children registered. Their log lines come through another pipe than
    // the notification, maybe later: compared by the times they carry.
    const registered = await s.waitForEvent('child.registered', { count: 2 });
    for (const l of registered) assert.ok(Date.parse(l.time as string) <= readySeenAt, s.dump());
    const readyAt = sock.lines.indexOf('READY=1');
    const status = sock.lines.slice(readyAt).find((l) => l.startsWith('STATUS='));
    assert.match(status ?? '', /^STATUS=0\/2 workers busy, 0 processed, redis up$/);
    await waitFor(() => sock.lines.includes('WATCHDOG=1'), { what: 'a watchdog ping' });

    s.kill('SIGUSR2');
    await waitFor(() => sock.lines.some((l) => /^STATUS=.*paused/.test(l)), { what: 'paused in STATUS' });

    s.kill('SIGHUP');
    await s.waitForEvent('supervisor.reload');
    await waitFor(() => sock.lines.lastIndexOf('READY=1') > readyAt, { what: 'READY=1 after reload' });
    s.kill('SIGTERM');
    assert.equal((await s.exit).code, 0, s.dump());

    const lines = sock.lines.filter((l) => !l.startsWith('WATCHDOG='));
    const order = ['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1'];
    let at = -1;
    for (const want of order) {
      const next = lines.indexOf(want, at + 1);
      assert.ok(next > at, `${want} after position ${at} in ${JSON.stringify(lines)}`);
      at = next;
    }
    const reloading = lines.indexOf('RELOADING=1');
    assert.match(lines[reloading + 1] ?? '', /^MONOTONIC_USEC=\d+$/);
    assert.ok(sock.messages.every((m) => !m.includes('WATCHDOG=1') || m === 'WATCHDOG=1'));
  });

  test('RESQUE_WORKER_TEST_HANG_WATCHDOG=1 stops the pings; without NOTIFY_SOCKET it runs normally', async () => {
    const sock = await NotifySocket.start();
    cleanups.push(() => sock.stop());
    const hung = SupervisorProcess.start({
      config: config(),
      env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '200000', RESQUE_WORKER_TEST_HANG_WATCHDOG: '1' },
    });
    cleanups.push(() => hung.cleanup());
    const plain = SupervisorProcess.start({ config: config() });
    cleanups.push(() => plain.cleanup());
    await waitFor(() => sock.lines.includes('READY=1'), { timeout: 30_000, what: 'READY=1' });
    await hung.waitForEvent('systemd.watchdog-hung');
    await plain.waitForEvent('supervisor.ready', { timeout: 30_000 });
    // Several 100 ms ping periods pass without a ping.
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      assert.ok(!sock.lines.includes('WATCHDOG=1'));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(plain.events('systemd.notify').length, 0);
  });
});
