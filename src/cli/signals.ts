/**
 * Signals are queued, then handled one at a time through a table, so a signal that arrives while
 * another is being handled (a HUP during shutdown, a second TERM) has a defined meaning.
 */
import type { Logger } from '../log.ts';

export type SignalName =
  | 'SIGTERM'
  | 'SIGINT'
  | 'SIGQUIT'
  | 'SIGHUP'
  | 'SIGUSR1'
  | 'SIGUSR2'
  | 'SIGCONT'
  | 'SIGTTIN'
  | 'SIGTTOU';
/** `again` is true when this signal was already received before. */
export type SignalHandler = (again: boolean) => unknown;

export function onSignals(log: Logger, table: Partial<Record<SignalName, SignalHandler>>): () => void {
  const queue: SignalName[] = [];
  const seen = new Set<SignalName>();
  let draining = false;
  const drain = async () => {
    if (draining) return;
    draining = true;
    while (queue.length > 0) {
      const signal = queue.shift()!;
      const again = seen.has(signal);
      seen.add(signal);
      log.info({ event: 'signal', signal, again }, `received ${signal}`);
      try {
        // Not awaited beyond a turn: a stop must not block the handling of a later signal.
        void Promise.resolve(table[signal]?.(again)).catch((err: Error) =>
          log.error({ event: 'signal.error', signal, err: err.message }, 'signal handler failed'),
        );
      } catch (err) {
        log.error({ event: 'signal.error', signal, err: (err as Error).message }, 'signal handler failed');
      }
    }
    draining = false;
  };
  const listeners = new Map<SignalName, () => void>();
  for (const signal of Object.keys(table) as SignalName[]) {
    const listener = () => {
      queue.push(signal);
      void drain();
    };
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

/**
 * An exception nobody caught (a job's callback that throws, a rejection nobody handles) ends the
 * process, as Node would, but as one JSON line at fatal, naming what was running: Node's own report
 * is a multi-line stack on stderr that journald splits and nothing ties to a job. The jobs stay in
 * flight, for the supervisor (or the next worker with this id) to recover.
 */
export function logFatalErrors(log: Logger, running: () => unknown): void {
  process.on('uncaughtException', (err, origin) => {
    let jobs: unknown;
    try {
      jobs = running();
    } catch {
      jobs = 'unknown';
    }
    log.fatal(
      { event: 'worker.crashed', origin, err: String(err?.message ?? err), stack: err?.stack, running: jobs },
      'uncaught exception: exiting; the jobs in flight are recovered',
    );
    process.exit(1);
  });
}
