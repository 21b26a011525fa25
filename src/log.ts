/**
 * Structured logs: pino JSON, one event per line on stdout (journald keeps them). Every line
 * carries `event`; job lines carry jobId, queue, class and workerId.
 *
 * Lines are written in batches. An event's line goes out right after the current turn of the event
 * loop (setImmediate), with every line logged before it. A finished job's line (the one line per
 * job) that follows another within LINGER_MS may wait up to LINGER_MS for more, or until
 * FLUSH_BYTES are waiting: a worker finishing 50 jobs at once, or one job every few milliseconds,
 * makes one write syscall for all of them instead of one each, and the reader (journald) is woken
 * once. A lone job's line goes out after its turn, as an event's does: waiting would cost the
 * process a wake-up of its own and save nothing. The writes stay synchronous on the main thread,
 * so no line is ever "in flight" in another thread when the process exits: an `exit` hook writes
 * what is left (process.exit, the end of the event loop, an uncaught exception). Only a signal
 * the process has no handler for (SIGKILL; we handle TERM, INT, QUIT, HUP, USR1/2, CONT) or V8
 * running out of heap can lose lines: events of its last turn, job lines of its last LINGER_MS.
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
  const stream = internals[streamSym] as DestinationStream;
  if (stream instanceof BatchedStdout) stream.writeJobLine(line);
  else stream.write(line);
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

/** How long a job's line may wait for others to share its write; lines closer than this are a stream. */
const LINGER_MS = 20;
/** A batch this long goes out at once. */
const FLUSH_BYTES = 16 * 1024;
/**
 * PIPE_BUF: a write to a pipe up to this long is never interleaved with another process's. A pool's
 * workers share the supervisor's stdout, so a longer write could tear lines of theirs in two.
 */
const ATOMIC_WRITE_BYTES = 4096;

/**
 * A batch of lines cut into writes of at most `limit` bytes, each ending at a line's end (a line
 * longer than that goes alone). Cut on bytes, not characters: '\n' never occurs inside a
 * multi-byte UTF-8 character.
 */
export function atomicWrites(batch: string, limit = ATOMIC_WRITE_BYTES): string[] {
  // 3 bytes per UTF-16 unit at most: short batches need no measuring.
  if (batch.length * 3 <= limit) return [batch];
  const size = Buffer.byteLength(batch);
  if (size <= limit) return [batch];
  // ASCII (job lines almost always are): a character is a byte, cut the string itself.
  const text: string | Buffer = size === batch.length ? batch : Buffer.from(batch);
  const cut = (a: number, b: number) =>
    typeof text === 'string' ? text.slice(a, b) : text.toString('utf8', a, b);
  const writes: string[] = [];
  let from = 0;
  while (size - from > limit) {
    let end = text.lastIndexOf('\n', from + limit - 1) + 1;
    if (end <= from) end = text.indexOf('\n', from) + 1 || size;
    writes.push(cut(from, end));
    from = end;
  }
  if (from < size) writes.push(cut(from, size));
  return writes;
}

class BatchedStdout implements DestinationStream {
  // pino's own synchronous stdout writer: it retries EAGAIN on a non-blocking pipe and partial writes.
  readonly #out = pino.destination({ dest: 1, sync: true });
  #pending = '';
  /** A flush is due after this turn. */
  #soon = false;
  /** Job lines' flush, one per batch; unref'd: the exit hook writes what it would have. */
  #timer: NodeJS.Timeout | undefined;
  /** When the last job line came (performance.now()). */
  #lastJobLine = Number.NEGATIVE_INFINITY;

  constructor() {
    process.on('exit', () => this.flush());
  }

  /** pino's lines (events): out after this turn, with every line before them. */
  write(line: string): void {
    this.#pending += line;
    if (!this.#soon) {
      this.#soon = true;
      setImmediate(this.flush);
    }
  }

  writeJobLine(line: string): void {
    const now = performance.now();
    const lone = now - this.#lastJobLine >= LINGER_MS;
    this.#lastJobLine = now;
    if (lone) {
      this.write(line);
      return;
    }
    this.#pending += line;
    if (this.#pending.length >= FLUSH_BYTES) this.flush();
    else if (!this.#soon) this.#timer ??= setTimeout(this.flush, LINGER_MS).unref();
  }

  readonly flush = (): void => {
    this.#soon = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending === '') return;
    const batch = this.#pending;
    this.#pending = '';
    for (const write of atomicWrites(batch)) this.#out.write(write);
  };
}
