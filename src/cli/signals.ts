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
