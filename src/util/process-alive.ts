/**
 * Is a process of this machine alive? Used by the pruner to judge workers of ours on this host.
 * `kill(pid, 0)` says whether the pid exists (EPERM: it does, owned by someone else); a zombie
 * (killed, not yet reaped) counts as dead. The pid namespace tells whether two processes can see
 * each other's pids at all (containers sharing a host name do not).
 */
import { readFileSync, readlinkSync } from 'node:fs';

let ns: string | undefined;

/**
 * Where a pid names one process: the pid namespace on this machine, `pid:[4026531836]@<machine
 * id>` on Linux (systemd's /etc/machine-id); '' where unknown. The namespace's inode alone is no
 * identity: the root namespace has the same one on every host, so two hosts with one host name
 * (cloned VMs, a fixed name in an image) would judge each other's workers by pid. The machine id,
 * unlike the boot id, survives a reboot: the workers a crash left behind are still this machine's
 * to recover at start-up.
 */
export function pidNamespace(): string {
  if (ns === undefined) {
    try {
      ns = readlinkSync('/proc/self/ns/pid');
    } catch {
      ns = '';
    }
    for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      try {
        const id = readFileSync(file, 'utf8').trim();
        if (id) {
          ns += `@${id}`;
          break;
        }
      } catch {}
    }
  }
  return ns;
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parens, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux) or a race with its exit: kill(0) said it exists
  }
}
