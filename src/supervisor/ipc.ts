/**
 * The messages between the supervisor and its worker children (node:cluster IPC), and the spec a
 * child is started with. One file so both sides agree on the protocol.
 */
import type { Config } from '../config/load-config.ts';
import type { WorkerGroup } from '../config/schema.ts';

/** Everything a child needs, passed in its environment as JSON (the supervisor's config wins over files). */
export interface ChildSpec {
  config: Config;
  group: WorkerGroup;
  /** Start paused (the pool is paused: a respawned child must not take jobs). */
  paused: boolean;
}

export const CHILD_SPEC_ENV = 'RESQUE_WORKER_CHILD_SPEC';

/** The environment a child is forked with. */
export function childEnv(spec: ChildSpec): Record<string, string | undefined> {
  return {
    [CHILD_SPEC_ENV]: JSON.stringify(spec),
    // Only the supervisor talks to systemd (NotifyAccess=main); children must not try.
    NOTIFY_SOCKET: undefined,
    WATCHDOG_USEC: undefined,
    WATCHDOG_PID: undefined,
  };
}

/** Child -> supervisor. */
export type ChildMessage =
  /** Every ~1 s from the child's event loop: proves it is not blocked, and carries its state. */
  | { type: 'beat'; busy: number; paused: boolean; processed: number }
  | { type: 'registered'; workerId: string }
  | { type: 'stopping' };

/** Supervisor -> child. */
export type SupervisorMessage =
  | { type: 'pause' }
  | { type: 'resume' }
  /** Graceful stop; `deadline` in ms since epoch, null for none (QUIT). */
  | { type: 'stop'; deadline: number | null }
  | { type: 'kill-jobs' };

export const BEAT_INTERVAL_MS = 1000;

export function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

export function isSupervisorMessage(m: unknown): m is SupervisorMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
