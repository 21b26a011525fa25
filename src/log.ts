/**
 * Structured logs: pino JSON, one event per line on stdout (journald keeps them). Every line
 * carries `event`; job lines carry jobId, queue, class and workerId.
 *
 * Lines are written in batches: every line logged in one turn of the event loop goes out in one
 * synchronous write, right after that turn (setImmediate). A worker finishing 50 jobs at once
 * makes one write syscall instead of 50, no line waits for more than the current turn, and the
 * writes stay synchronous on the main thread, so no line is ever "in flight" in another thread
 * when the process exits: an `exit` hook writes what is left (process.exit, the end of the event
 * loop, an uncaught exception). Only a SIGKILL can lose lines, those of its last turn.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** One per process, shared by every logger, so lines keep their order. */
let stdout: BatchedStdout | undefined;

/** Marks loggers made by createLogger (their children inherit it): their line format is known. */
const OURS = Symbol('resque-worker.logger');
const { chindingsSym, streamSym } = pino.symbols;

export function createLogger(level = 'info', bindings: Record<string, unknown> = {}): Logger {
  stdout ??= new BatchedStdout();
  const logger = pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      timestamp: isoTimeCached,
      formatters: { level: (label) => ({ level: label }) },
    },
    stdout,
  );
  (logger as unknown as Record<symbol, unknown>)[OURS] = true;
  return logger;
}

/**
 * Writes the info line of a finished job, byte for byte what `log.info({event, jobId, queue,
 * class, ms}, msg)` writes (a test compares them), without pino's generic serialiser: it is the
 * one line a busy worker writes per job, and building it by hand costs a third as much. Returns
 * false for a logger not made by createLogger, whose format is not known here: log through pino.
 */
export function writeJobLine(
  log: Logger,
  event: string,
  msg: string,
  jobId: string | undefined,
  queue: string,
  className: string | undefined,
  ms: number,
): boolean {
  const internals = log as unknown as Record<symbol, unknown>;
  if (internals[OURS] !== true) return false;
  let line = `{"level":"info"${isoTimeCached()}${internals[chindingsSym] as string},"event":"${event}"`;
  if (jobId !== undefined) line += `,"jobId":${JSON.stringify(jobId)}`;
  line += `,"queue":${JSON.stringify(queue)}`;
  if (className !== undefined) line += `,"class":${JSON.stringify(className)}`;
  line += `,"ms":${ms},"msg":"${msg}"}\n`;
  (internals[streamSym] as DestinationStream).write(line);
  return true;
}

let lastMs = -1;
let lastTime = '';

/**
 * pino's isoTime, made once per millisecond: a busy worker logs dozens of job lines in the same
 * millisecond, and building the Date and its ISO string was half of pino's cost per line.
 */
function isoTimeCached(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/** A logger that drops everything, for library use without a logger. */
export const silentLogger: Logger = pino({ level: 'silent' });

class BatchedStdout implements DestinationStream {
  // pino's own synchronous stdout writer: it retries EAGAIN on a non-blocking pipe and partial writes.
  readonly #out = pino.destination({ dest: 1, sync: true });
  #pending = '';
  #scheduled = false;

  constructor() {
    process.on('exit', () => this.flush());
  }

  write(line: string): void {
    this.#pending += line;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.#scheduled = false;
    if (this.#pending === '') return;
    const batch = this.#pending;
    this.#pending = '';
    this.#out.write(batch);
  };
}
