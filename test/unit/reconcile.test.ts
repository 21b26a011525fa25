import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../src/supervisor/backoff.ts';
import { type ActualChild, reconcile } from '../../src/supervisor/reconcile.ts';

const child = (id: number, over: Partial<ActualChild> = {}): ActualChild => ({
  id,
  group: 'g',
  key: 'k1',
  state: 'ready',
  busy: 0,
  ...over,
});

describe('reconcile', () => {
  test('an empty pool spawns every wanted worker', () => {
    assert.deepEqual(
      reconcile(
        [
          { name: 'a', key: 'k', count: 2 },
          { name: 'b', key: 'k', count: 1 },
        ],
        [],
      ),
      {
        spawn: [
          { group: 'a', count: 2 },
          { group: 'b', count: 1 },
        ],
        retire: [],
      },
    );
  });

  test('a pool at its count does nothing; starting children count', () => {
    const plan = reconcile([{ name: 'g', key: 'k1', count: 2 }], [child(1), child(2, { state: 'starting' })]);
    assert.deepEqual(plan, { spawn: [], retire: [] });
  });

  test('a child that exited is replaced (the facts no longer list it)', () => {
    assert.deepEqual(reconcile([{ name: 'g', key: 'k1', count: 3 }], [child(1), child(3)]).spawn, [
      { group: 'g', count: 1 },
    ]);
  });

  test('scaling down retires starting, then idle, then the newest busy children', () => {
    const actual = [
      child(1, { busy: 1 }),
      child(2, { busy: 1 }),
      child(3),
      child(4, { busy: 1 }),
      child(5, { state: 'starting' }),
    ];
    assert.deepEqual(reconcile([{ name: 'g', key: 'k1', count: 1 }], actual).retire, [5, 3, 4, 2]);
  });

  test('retiring children are not counted: their replacements start at once', () => {
    const plan = reconcile([{ name: 'g', key: 'k1', count: 2 }], [child(1, { state: 'retiring' }), child(2)]);
    assert.deepEqual(plan, { spawn: [{ group: 'g', count: 1 }], retire: [] });
  });

  test('a group no longer wanted is retired whole', () => {
    const plan = reconcile([], [child(1), child(2, { group: 'other' })]);
    assert.deepEqual(plan.retire.sort(), [1, 2]);
  });

  test('a changed group rolls: old children retire only as new ones become ready', () => {
    const wanted = [{ name: 'g', key: 'k2', count: 2 }];
    // HUP with a new spec: two new ones start, none of the old ones is retired yet.
    let plan = reconcile(wanted, [child(1), child(2)]);
    assert.deepEqual(plan, { spawn: [{ group: 'g', count: 2 }], retire: [] });
    // One new child ready: one old one (the idle one first) may go.
    plan = reconcile(wanted, [
      child(1, { busy: 1 }),
      child(2),
      child(3, { key: 'k2' }),
      child(4, { key: 'k2', state: 'starting' }),
    ]);
    assert.deepEqual(plan, { spawn: [], retire: [2] });
    // Both ready: the last old one goes.
    plan = reconcile(wanted, [
      child(1, { busy: 1 }),
      child(2, { state: 'retiring' }),
      child(3, { key: 'k2' }),
      child(4, { key: 'k2' }),
    ]);
    assert.deepEqual(plan, { spawn: [], retire: [1] });
  });

  test('a changed group that also shrinks keeps capacity at the new count', () => {
    const wanted = [{ name: 'g', key: 'k2', count: 1 }];
    const plan = reconcile(wanted, [child(1), child(2), child(3, { busy: 1 })]);
    assert.deepEqual(plan.spawn, [{ group: 'g', count: 1 }]);
    assert.deepEqual(plan.retire, [2, 1]);
  });

  test('count 0 retires everything of the group and spawns nothing', () => {
    assert.deepEqual(reconcile([{ name: 'g', key: 'k1', count: 0 }], [child(1)]), { spawn: [], retire: [1] });
  });
});

describe('respawn back-off', () => {
  const opts = { delayMs: 1000, maxMs: 8000, stableMs: 30_000 };

  test('doubles per crash in a row up to the max, and flags a crash loop from the third', () => {
    const b = new Backoff(opts);
    const delays = [0, 1, 2, 3, 4, 5].map(() => b.crashed(0, 100));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(b.crashLoop, true);
    assert.equal(b.wait(0), 8000);
    assert.equal(b.wait(9000), 0);
  });

  test('a crash after a stable run starts a new series; stable() ends the loop', () => {
    const b = new Backoff(opts);
    b.crashed(0, 0);
    b.crashed(0, 0);
    b.crashed(0, 0);
    assert.equal(b.crashLoop, true);
    assert.equal(b.crashed(100_000, 60_000), 1000);
    assert.equal(b.crashLoop, false);
    b.crashed(0, 0);
    b.stable();
    assert.equal(b.crashes, 0);
  });
});
