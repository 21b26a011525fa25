/**
 * Structured logs: pino JSON, one event per line on stdout (journald keeps them). Every line
 * carries `event`; job lines carry jobId, queue, class and workerId.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A logger that drops everything, for library use without a logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
