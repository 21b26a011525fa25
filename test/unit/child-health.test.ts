/** The supervisor's hang detection and crash-loop series, on a clock the test sets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { silentLogger } from '../../src/log.ts';
import { ChildHealth, STABLE_MS } from '../../src/supervisor/child-health.ts';
import type { ChildHandle } from '../../src/supervisor/launcher.ts';
import { PoolChild } from '../../src/supervisor/pool-child.ts';

const config = loadConfig({ env: { HANG_TIMEOUT: '30', RESPAWN_DELAY: '1', RESPAWN_DELAY_MAX: '60' } });

function child(id: number, group = 'g'): PoolChild & { kills: string[] } {
  const kills: string[] = [];
  const handle: ChildHandle = {
    pid: 1000 + id,
    send: () => {},
    kill: (signal) => kills.push(signal),
    onMessage: () => {},
    onExit: () => {},
  };
  return Object.assign(new PoolChild(id, group, ['q'], 'k', handle), { kills });
}

test('a child silent past hangTimeout is killed; a stall of the supervisor itself kills nobody', () => {
  const health = new ChildHealth(config, silentLogger);
  const quiet = child(1);
  const talking = child(2);
  quiet.lastContact = 0;
  talking.lastContact = 0;
  for (let t = 0; t <= 30_000; t += 500) {
    talking.lastContact = t;
    health.checkAlive([quiet, talking], t);
  }
  assert.deepEqual(quiet.kills, []);

  // The supervisor was stopped for 40 s: both children's beats wait unread in their sockets.
  health.checkAlive([quiet, talking], 70_000);
  assert.deepEqual(quiet.kills, [], 'a stall is not a silence');
  assert.deepEqual(talking.kills, []);
  for (let t = 70_500; t <= 100_000; t += 500) {
    talking.lastContact = t - 1; // its beats, the queued ones first
    health.checkAlive([quiet, talking], t);
  }
  assert.deepEqual(quiet.kills, [], 'a fresh window of hangTimeout after the stall');
  health.checkAlive([quiet, talking], 100_500);
  assert.deepEqual(quiet.kills, ['SIGKILL'], 'silent for hangTimeout after the stall: hung');
  assert.equal(quiet.hung, true);
  assert.deepEqual(talking.kills, []);
});

test('a crash series ends only with a child ready after the last crash, not with a sibling already up', () => {
  const health = new ChildHealth(config, silentLogger);
  const crashes = () => health.crashLoops(0);
  const old = child(1);
  old.registered('w1');
  old.readyAt = 0;
  // A rolling restart to a broken config: the old child keeps working, every new one crashes.
  let now = STABLE_MS + 1_000;
  for (let i = 0; i < 4; i++) {
    const broken = child(10 + i);
    health.replacementDue(broken, true, false, now);
    health.settleStable([old], now, () => {});
    now += 1_000;
  }
  assert.equal(crashes()[0]?.crashes, 4, 'the series grows into a crash loop');

  const good = child(20);
  good.registered('w20');
  good.readyAt = now;
  health.settleStable([old, good], now + STABLE_MS - 1, () => {});
  assert.equal(crashes().length, 1, 'not yet up for STABLE_MS');
  const settled: string[] = [];
  health.settleStable([old, good], now + STABLE_MS, (g) => settled.push(g));
  assert.deepEqual(settled, ['g']);
  assert.deepEqual(crashes(), []);
});
