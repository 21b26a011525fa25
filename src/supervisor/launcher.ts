/**
 * How the supervisor starts a child, behind a small interface so the supervisor does not talk to
 * node:cluster directly. The entry point (src/cli/start.ts) calls `cluster.setupPrimary` once.
 */
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { SupervisorMessage } from './ipc.ts';

export interface ChildHandle {
  readonly pid: number;
  send(message: SupervisorMessage): void;
  kill(signal: NodeJS.Signals): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
}

export interface Launcher {
  launch(env: Record<string, string | undefined>): ChildHandle;
}

export const clusterLauncher: Launcher = {
  launch(env) {
    const w: ClusterWorker = cluster.fork(env);
    // An IPC write to a child that just died fails with EPIPE; its exit is what we act on.
    w.on('error', () => {});
    return {
      get pid() {
        return w.process.pid ?? 0;
      },
      send(message) {
        if (!w.isConnected()) return;
        try {
          w.send(message, undefined, () => {});
        } catch {
          // channel closed between the check and the write: the exit event follows
        }
      },
      kill(signal) {
        try {
          w.process.kill(signal);
        } catch {
          // already gone
        }
      },
      onMessage(listener) {
        w.on('message', listener);
      },
      onExit(listener) {
        w.on('exit', (code, signal) => listener(code, signal || null));
      },
    };
  },
};
