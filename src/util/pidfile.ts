/**
 * The supervisor's pidfile: written atomically at start, removed at exit, read by the control
 * commands. A pidfile of a live process refuses a second supervisor; a stale one is replaced.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export class PidfileError extends Error {
  override name = 'PidfileError';
}

export function readPidfile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // Missing: no supervisor. Unreadable: one may well run; saying "none" would mislead.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PidfileError(`pidfile ${path}: cannot read it: ${(err as Error).message}`);
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A live resque-worker supervisor, not a process that reused the pid of a stale pidfile (after a
 * crash or a reboot): its command line is the supervisor's title, or `resque-worker ... start`
 * before it set one. Where /proc cannot be read, a live pid is taken at its word.
 */
export function isSupervisor(pid: number): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  if (cmdline.startsWith('resque-pool-supervisor')) return true;
  const argv = cmdline.split('\0');
  return argv.includes('start') && argv.some((a) => /(^|\/)resque-worker(\.mjs)?$/.test(a));
}

export function writePidfile(path: string, pid = process.pid): void {
  const other = readPidfile(path);
  if (other !== null && other !== pid && isSupervisor(other)) {
    throw new PidfileError(`pidfile ${path}: supervisor ${other} is already running`);
  }
  try {
    writeFileAtomically(path, `${pid}\n`, pid);
  } catch (err) {
    throw new PidfileError(`pidfile ${path}: cannot write: ${(err as Error).message}`);
  }
}

/**
 * Writes through a temporary file renamed over `path`, so a reader never sees half a file; the
 * temporary file is removed if the write fails. `pid` makes its name this process's own.
 */
export function writeFileAtomically(path: string, text: string, pid = process.pid): void {
  const tmp = `${path}.${pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Removes the pidfile if it is still ours (a successor may have replaced it). */
export function removePidfile(path: string, pid = process.pid): void {
  try {
    if (readPidfile(path) === pid) rmSync(path, { force: true });
  } catch {
    // Unreadable now: not ours to remove.
  }
}
