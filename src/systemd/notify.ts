/**
 * Talking to systemd (sd_notify): READY, STATUS, RELOADING, STOPPING and WATCHDOG messages.
 *
 * Duties:
 *  1. load the `sd-notify` addon lazily; without it fall back to `systemd-notify --pid` (needs
 *     NotifyAccess=all when not root, see README); without NOTIFY_SOCKET do nothing at all
 *  2. keep messages in order (the fallback runs one command at a time)
 *  3. ping the watchdog every WATCHDOG_USEC/2 when it is meant for us (sd_watchdog_enabled rules)
 *
 * RESQUE_WORKER_TEST_HANG_WATCHDOG=1 stops the pings, so a test can prove that systemd restarts a
 * hung supervisor.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from '../log.ts';

interface SdNotifyAddon {
  sendState(state: string): void;
}

export interface Notifier {
  readonly backend: 'sd-notify' | 'systemd-notify' | 'none';
  /** One datagram with these lines, e.g. send('READY=1', 'STATUS=...'). */
  send(...lines: string[]): void;
  /** Starts watchdog pings if systemd asked for them; returns a stop function. */
  startWatchdog(): () => void;
}

function loadAddon(): SdNotifyAddon | null {
  try {
    const mod = createRequire(import.meta.url)('sd-notify') as SdNotifyAddon;
    return typeof mod.sendState === 'function' ? mod : null;
  } catch {
    return null;
  }
}

export function createNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env): Notifier {
  const socket = env.NOTIFY_SOCKET;
  const addon = socket ? loadAddon() : null;
  const backend: Notifier['backend'] = !socket ? 'none' : addon ? 'sd-notify' : 'systemd-notify';
  let chain: Promise<void> = Promise.resolve();
  let commandBroken = false;

  const send = (...lines: string[]) => {
    if (backend === 'none' || lines.length === 0) return;
    if (addon) {
      try {
        addon.sendState(lines.join('\n'));
      } catch (err) {
        log.warn({ event: 'systemd.notify-error', err: (err as Error).message }, 'sd_notify failed');
      }
      return;
    }
    if (commandBroken) return;
    chain = chain.then(
      () =>
        new Promise<void>((resolve) => {
          execFile('systemd-notify', [`--pid=${process.pid}`, ...lines], (err) => {
            if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
              commandBroken = true;
              log.error(
                { event: 'systemd.notify-missing' },
                'NOTIFY_SOCKET is set but neither the sd-notify addon nor systemd-notify is available',
              );
            } else if (err) {
              log.warn({ event: 'systemd.notify-error', err: err.message }, 'systemd-notify failed');
            }
            resolve();
          });
        }),
    );
  };

  const startWatchdog = () => {
    const usec = Number(env.WATCHDOG_USEC ?? 0);
    const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
    if (backend === 'none' || !forUs || !(usec > 0)) return () => {};
    const everyMs = Math.max(1, Math.floor(usec / 2000));
    if (env.RESQUE_WORKER_TEST_HANG_WATCHDOG === '1') {
      log.warn({ event: 'systemd.watchdog-hung', everyMs }, 'test knob: not pinging the watchdog');
      return () => {};
    }
    log.info({ event: 'systemd.watchdog', everyMs }, 'pinging the systemd watchdog');
    const timer = setInterval(() => send('WATCHDOG=1'), everyMs);
    return () => clearInterval(timer);
  };

  if (socket) log.info({ event: 'systemd.notify', backend }, `systemd notifications via ${backend}`);
  return { backend, send, startWatchdog };
}

/** CLOCK_MONOTONIC in µs, which systemd's notify-reload wants next to RELOADING=1. */
export function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}
