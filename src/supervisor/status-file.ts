/**
 * The pool's status line beside the pidfile (`<pidfile>.status`), for `resque-worker status`. The
 * process title carries it too, but Linux cuts a title to the length of the command line that
 * started the process ("crash loop: mail (4 crashes, ret"). Written atomically when the line
 * changes (at most every 250 ms), with the supervisor's pid, so a stale file is never read as
 * another supervisor's.
 */
import { readFileSync, rmSync } from 'node:fs';
import { writeFileAtomically } from '../util/pidfile.ts';

function statusFileOf(pidfile: string): string {
  return `${pidfile}.status`;
}

export function writeStatusFile(pidfile: string, line: string, pid = process.pid): void {
  try {
    writeFileAtomically(statusFileOf(pidfile), `${pid}\t${line}\n`, pid);
  } catch {
    // The title and systemd's STATUS= carry the line too: not worth failing the pool for.
  }
}

/** The line supervisor `pid` last wrote, or null. */
export function readStatusFile(pidfile: string, pid: number): string | null {
  try {
    const [owner, line] = readFileSync(statusFileOf(pidfile), 'utf8').trimEnd().split('\t');
    return Number(owner) === pid && line ? line : null;
  } catch {
    return null;
  }
}

export function removeStatusFile(pidfile: string, pid = process.pid): void {
  if (readStatusFile(pidfile, pid) !== null) rmSync(statusFileOf(pidfile), { force: true });
}
