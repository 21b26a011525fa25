/**
 * The supervisor's record of one worker child: what it runs, what it last said, and where it is
 * in its life (starting -> ready -> retiring -> exited).
 */
import { host } from '../jobs/payload.ts';
import type { ChildHandle } from './launcher.ts';
import type { ActualChild, ChildState } from './reconcile.ts';

export class PoolChild {
  state: ChildState = 'starting';
  /** The Resque worker id it registered with. */
  registeredId: string | null = null;
  busy = 0;
  paused = false;
  processed = 0;
  readonly spawnedAt = Date.now();
  /** performance.now() at the fork: hang detection runs on the monotonic clock, not the wall clock. */
  readonly spawnedMono = performance.now();
  readyAt: number | null = null;
  /** performance.now() of its last IPC message (any message proves the event loop turns). */
  lastContact: number | null = null;
  /** Killed by us because its event loop stopped. */
  hung = false;
  /** Killed by us because it outlived the stop deadline: its jobs go back to their queues. */
  killedForStop = false;
  /** The child said it is stopping (a signal of its own, or our stop). */
  stopping = false;

  constructor(
    readonly id: number,
    readonly group: string,
    readonly queues: readonly string[],
    readonly key: string,
    readonly handle: ChildHandle,
    /**
     * It holds one job at a time (concurrency 1, no prefetch): if its event loop blocks, the job in
     * its in-flight list is the one that blocked it.
     */
    readonly oneJobAtATime = false,
  ) {}

  get pid(): number {
    return this.handle.pid;
  }

  /** Resque worker id: the registered one, else what the child's Worker computes (`host:pid:queues`). */
  get workerId(): string {
    return this.registeredId ?? `${host()}:${this.pid}:${this.queues.join(',')}`;
  }

  /** Takes in a heartbeat; returns whether anything shown in the status line changed. */
  beat(m: { busy: number; paused: boolean; processed: number }): boolean {
    const changed = this.busy !== m.busy || this.paused !== m.paused || this.processed !== m.processed;
    this.busy = m.busy;
    this.paused = m.paused;
    this.processed = m.processed;
    return changed;
  }

  registered(workerId: string): void {
    this.registeredId = workerId;
    this.readyAt = Date.now();
    if (this.state === 'starting') this.state = 'ready';
  }

  facts(): ActualChild {
    return { id: this.id, group: this.group, key: this.key, state: this.state, busy: this.busy };
  }

  describe(): Record<string, unknown> {
    return { childId: this.id, childPid: this.pid, group: this.group, workerId: this.workerId };
  }
}
