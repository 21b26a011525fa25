/**
 * Spawns the real `resque-worker start` with a temporary config file, collects its JSON log lines
 * (its own and its children's: they share stdout), and waits for events in them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './wait.ts';

const BIN = new URL('../../bin/resque-worker.mjs', import.meta.url).pathname;
export const FIXTURE_JOBS = new URL('../fixtures/jobs/', import.meta.url).pathname;

/**
 * A file for a `Stubborn` job to create when its perform starts, and a wait for it: a job's
 * php-resque status says "running" as soon as a worker holds it, which can be just before it starts.
 */
export function jobStartMarker(): { file: string; started: () => Promise<void> } {
  const file = join(mkdtempSync(join(tmpdir(), 'rw-started-')), 'started');
  return {
    file,
    started: async () => {
      await waitFor(() => existsSync(file), { what: `job start (${file})` });
    },
  };
}

/** A pool on the fixture jobs: the config most supervisor tests start with. */
export function fixturePool(
  redisUrl: string,
  queues: string,
  opts: { supervisor: Record<string, unknown>; worker?: Record<string, unknown> },
): Record<string, unknown> {
  return {
    redis: { url: redisUrl },
    jobs: [FIXTURE_JOBS],
    queues,
    worker: { interval: 0.2, ...opts.worker },
    supervisor: opts.supervisor,
  };
}

export type LogLine = Record<string, unknown> & { event?: string; pid?: number };

export interface SupervisorProcessOptions {
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  args?: string[];
  /** Own process group, so a test can signal every process at once as systemd does. */
  detached?: boolean;
  /** Another copy of bin/resque-worker.mjs (a test's copy of the package). */
  bin?: string;
}

export class SupervisorProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'rw-sup-'));
  readonly configPath = join(this.dir, 'config.json');
  readonly pidfile = join(this.dir, 'supervisor.pid');
  proc!: ChildProcess;
  exit: Promise<{ code: number | null; signal: string | null }> = Promise.resolve({
    code: null,
    signal: null,
  });

  #detached = false;

  static start(opts: SupervisorProcessOptions = {}): SupervisorProcess {
    const s = new SupervisorProcess();
    s.#detached = opts.detached ?? false;
    s.writeConfig(opts.config ?? {});
    s.proc = spawn(
      process.execPath,
      [opts.bin ?? BIN, 'start', '--config', s.configPath, ...(opts.args ?? [])],
      {
        env: { ...process.env, NOTIFY_SOCKET: '', PIDFILE: s.pidfile, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: opts.detached ?? false,
      },
    );
    s.exit = new Promise((resolve) => s.proc.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: s.proc.stdout! }).on('line', (line) => {
      try {
        s.lines.push(JSON.parse(line) as LogLine);
      } catch {
        s.lines.push({ event: 'non-json', line });
      }
    });
    createInterface({ input: s.proc.stderr! }).on('line', (line) => s.stderr.push(line));
    return s;
  }

  writeConfig(config: Record<string, unknown>): void {
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /** Signals the whole process group (needs `detached`): systemd's KillMode=control-group. */
  killGroup(signal: NodeJS.Signals): void {
    process.kill(-this.pid, signal);
  }

  events(event: string, match: (l: LogLine) => boolean = () => true): LogLine[] {
    return this.lines.filter((l) => l.event === event && match(l));
  }

  /** Waits until `count` lines of `event` (matching `match`) were logged; returns them. */
  async waitForEvent(
    event: string,
    {
      count = 1,
      match = () => true,
      timeout = 20_000,
    }: { count?: number; match?: (l: LogLine) => boolean; timeout?: number } = {},
  ): Promise<LogLine[]> {
    return waitFor(
      () => {
        const found = this.events(event, match);
        return found.length >= count && found;
      },
      { timeout, what: `${count} x ${event} in the supervisor log` },
    );
  }

  /** Pids of the live children, from the supervisor's own spawn/exit lines. */
  childPids(): number[] {
    const spawned = this.lines.filter((l) => l.event === 'child.spawned' || l.event === 'child.respawned');
    const exited = new Set(this.events('child.exited').map((l) => l.childPid as number));
    return spawned.map((l) => l.childPid as number).filter((pid) => !exited.has(pid));
  }

  /** Stops it if still running (SIGKILL after a while), and removes the temp dir. */
  async cleanup(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      // Two INTs: stop now, running jobs put back.
      this.proc.kill('SIGINT');
      this.proc.kill('SIGINT');
      // Its own process group: the children too, as they are no longer the test runner's.
      const kill = () => (this.#detached ? process.kill(-this.pid, 'SIGKILL') : this.proc.kill('SIGKILL'));
      const t = setTimeout(kill, 5000);
      await this.exit;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  dump(): string {
    return [...this.lines.map((l) => JSON.stringify(l)), ...this.stderr].join('\n');
  }
}
