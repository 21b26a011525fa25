/**
 * The pool's one decision, as a pure function: given the groups we want and the children we have,
 * which children to spawn and which to retire. No processes, no clocks, no I/O (resque-pool's
 * `maintain_worker_count`, made testable).
 *
 * Duties:
 *  1. keep `count` children per wanted group (spawn the missing, retire the extra)
 *  2. retire every child of a group that is no longer wanted
 *  3. roll a changed group (same name, new spec key) one child at a time: an outdated child is
 *     retired only once a current one is ready to take its place, so capacity never drops
 *  4. retire the cheapest children first: still starting, then idle, then the newest
 *
 * Retiring means a graceful stop: the child finishes its running job first. Retiring children are
 * no longer counted, so a replacement starts at once.
 */

export interface WantedGroup {
  name: string;
  /** Everything a child is started with except the count; a new key means "restart this group". */
  key: string;
  count: number;
}

export type ChildState = 'starting' | 'ready' | 'retiring';

export interface ActualChild {
  id: number;
  group: string;
  key: string;
  state: ChildState;
  /** Jobs running now. */
  busy: number;
}

export interface Plan {
  spawn: { group: string; count: number }[];
  retire: number[];
}

export function reconcile(wanted: readonly WantedGroup[], actual: readonly ActualChild[]): Plan {
  const plan: Plan = { spawn: [], retire: [] };
  const live = actual.filter((c) => c.state !== 'retiring');
  const wantedNames = new Set(wanted.map((g) => g.name));

  for (const child of live) if (!wantedNames.has(child.group)) plan.retire.push(child.id);

  for (const group of wanted) {
    const mine = live.filter((c) => c.group === group.name);
    const current = mine.filter((c) => c.key === group.key);
    const outdated = mine.filter((c) => c.key !== group.key);

    const missing = group.count - current.length;
    if (missing > 0) plan.spawn.push({ group: group.name, count: missing });
    if (missing < 0) plan.retire.push(...cheapestFirst(current).slice(0, -missing));

    // Rolling restart: keep (ready current + outdated) at `count` while the new ones come up.
    const readyCurrent = Math.min(current.filter((c) => c.state === 'ready').length, group.count);
    const surplus = readyCurrent + outdated.length - group.count;
    if (surplus > 0) plan.retire.push(...cheapestFirst(outdated).slice(0, surplus));
  }
  return plan;
}

/** Starting children hold no job; idle ones lose nothing; among equals the newest goes first. */
function cheapestFirst(children: readonly ActualChild[]): number[] {
  const rank = (c: ActualChild) => (c.state === 'starting' ? 0 : c.busy === 0 ? 1 : 2);
  return [...children].sort((a, b) => rank(a) - rank(b) || b.id - a.id).map((c) => c.id);
}
