import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLogger, type Logger, writeJobLine } from '../../src/log.ts';

/** A child of one of our loggers whose lines land in an array instead of stdout. */
function capturing(log: Logger): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const child = log.child({ workerId: 'host:42:high,"quoted"' });
  (child as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = {
    write: (s: string) => lines.push(s),
  };
  return { log: child, lines };
}

const sameTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"');

test('the hand-built job line is byte for byte what pino writes', () => {
  const { log, lines } = capturing(createLogger('info', { role: 'worker' }));
  const cases: [string | undefined, string, string | undefined, number][] = [
    ['0f3a', 'default', 'SendEmail', 0.012],
    [undefined, 'odd "queue" \\ ü', undefined, 12],
    ['id\n\u2028', 'q', 'Mod::Klass', 1234.5],
  ];
  for (const [jobId, queue, className, ms] of cases) {
    lines.length = 0;
    log.info({ event: 'job.done', jobId, queue, class: className, ms }, 'job done');
    assert.equal(writeJobLine(log, 'job.done', 'job done', jobId, queue, className, ms), true);
    assert.equal(lines.length, 2);
    assert.equal(sameTime(lines[1]!), sameTime(lines[0]!));
    assert.deepEqual(Object.keys(JSON.parse(lines[1]!)).slice(0, 4), ['level', 'time', 'pid', 'role']);
  }
});

test('a logger not made by createLogger is left to pino', () => {
  const foreign = pino({ level: 'info' }, { write: () => assert.fail('nothing written by hand') });
  assert.equal(writeJobLine(foreign, 'job.done', 'job done', 'x', 'q', 'C', 1), false);
});

/** Runs `body` in a child process with a logger `log`, returns its stdout lines' msg fields. */
function runLogging(body: string): string[] {
  const script = `import { createLogger } from ${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)};
const log = createLogger('info');
${body}`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
}

test('lines waiting to share a write are written at process.exit and when the event loop ends', () => {
  // Neither waits for the batch's timer: process.exit runs exit hooks at once, and the unref'd
  // timer does not keep a finished process alive.
  assert.deepEqual(runLogging(`log.info('a'); log.warn('b'); process.exit(0);`), ['a', 'b']);
  assert.deepEqual(runLogging(`log.info('a'); setTimeout(() => log.info('b'), 50);`), ['a', 'b']);
});

test("a job's line waits a moment to share a write; an event's line takes it out after the turn", () => {
  // stdout is a file, so the child sees what has been written by its size.
  const dir = mkdtempSync(join(tmpdir(), 'rw-log-'));
  const out = openSync(join(dir, 'out'), 'w');
  try {
    const script = `import { fstatSync } from 'node:fs';
import { createLogger, writeJobLine } from ${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)};
const log = createLogger('info');
const size = () => fstatSync(1).size;
const seen = {};
const job = (id) => writeJobLine(log, 'job.done', 'job done', id, 'q', 'C', 1);
// From inside the loop, so the next turn comes long before the linger ends.
setImmediate(() => {
  job('a');
  setImmediate(() => (seen.jobAfterTurn = size()));
  setTimeout(() => {
    seen.jobAfterLinger = size();
    job('b');
    log.info({ event: 'x' }, 'event');
    setImmediate(() => {
      seen.eventAfterTurn = size();
      process.stderr.write(JSON.stringify(seen));
    });
  }, 200);
});`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', out, 'pipe'],
      timeout: 20_000,
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    const seen = JSON.parse(child.stderr);
    const lines = readFileSync(join(dir, 'out'), 'utf8').trim().split('\n');
    const first = Buffer.byteLength(`${lines[0]}\n`);
    assert.deepEqual(seen, {
      jobAfterTurn: 0,
      jobAfterLinger: first,
      eventAfterTurn: statSync(join(dir, 'out')).size,
    });
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).msg),
      ['job done', 'job done', 'event'],
    );
  } finally {
    closeSync(out);
    rmSync(dir, { recursive: true, force: true });
  }
});
