import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { atomicWrites, createLogger, type Logger, writeJobLine } from '../../src/log.ts';

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
  const script = `import { createLogger, writeJobLine } from ${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)};
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
  const job = `writeJobLine(log, 'job.done', 'job done', 'id', 'q', 'C', 1)`;
  assert.deepEqual(runLogging(`log.info('a'); log.warn('b'); ${job}; ${job}; process.exit(0);`), [
    'a',
    'b',
    'job done',
    'job done',
  ]);
  // The second job line, a turn after the first, waits on the batch timer when the loop runs out.
  assert.deepEqual(
    runLogging(`log.info('a'); setTimeout(() => { ${job}; setImmediate(() => ${job}); }, 50);`),
    ['a', 'job done', 'job done'],
  );
});

test("job lines that follow one another share a write; a lone one and an event's go out after their turn", () => {
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
setImmediate(() => {
  job('a'); // the first in a while: out after this turn
  setImmediate(() => {
    seen.afterA = size();
    const t = performance.now();
    job('b'); // right after a: waits up to 20 ms for more
    setImmediate(() => {
      seen.afterB = size();
      seen.bWasQuick = performance.now() - t < 15; // else its timer may have fired: not asserted
      setTimeout(() => {
        seen.afterLinger = size();
        job('c'); // 200 ms after b: alone again
        setImmediate(() => {
          seen.afterC = size();
          job('d');
          log.info({ event: 'x' }, 'event'); // takes d out with it, after this turn
          setImmediate(() => {
            seen.afterEvent = size();
            process.stderr.write(JSON.stringify(seen));
          });
        });
      }, 200);
    });
  });
});`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', out, 'pipe'],
      timeout: 20_000,
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    const seen = JSON.parse(child.stderr);
    const lines = readFileSync(join(dir, 'out'), 'utf8').trim().split('\n');
    assert.deepEqual(
      lines.map((l) => [JSON.parse(l).msg, JSON.parse(l).jobId]),
      [
        ['job done', 'a'],
        ['job done', 'b'],
        ['job done', 'c'],
        ['job done', 'd'],
        ['event', undefined],
      ],
    );
    const job = Buffer.byteLength(`${lines[0]}\n`); // job lines differ only in a one-letter id
    assert.equal(seen.afterA, job);
    if (seen.bWasQuick) assert.equal(seen.afterB, job, 'b waited for company');
    assert.equal(seen.afterLinger, 2 * job);
    assert.equal(seen.afterC, 3 * job);
    assert.equal(seen.afterEvent, statSync(join(dir, 'out')).size);
  } finally {
    closeSync(out);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch goes out in writes of at most PIPE_BUF bytes, each ending at a line end (a pool shares one pipe)', () => {
  const line = (n: number, text = 'x') => `{"n":${n},"msg":"${text.repeat(40)}"}\n`;
  const ascii = Array.from({ length: 200 }, (_, n) => line(n)).join('');
  const wide = Array.from({ length: 200 }, (_, n) => line(n, 'é€')).join(''); // 2- and 3-byte characters
  const long = `${line(1)}${'{"big":"'}${'y'.repeat(9000)}"}\n${line(2)}`;
  for (const batch of [ascii, wide, long]) {
    const writes = atomicWrites(batch);
    assert.equal(writes.join(''), batch, 'nothing lost or reordered');
    for (const w of writes) {
      assert.ok(w.endsWith('\n'), 'each write ends at a line end');
      const oneLine = w.indexOf('\n') === w.length - 1;
      assert.ok(Buffer.byteLength(w) <= 4096 || oneLine, 'at most PIPE_BUF, unless one line is longer');
    }
  }
  assert.ok(atomicWrites(ascii).length > 1);
  assert.deepEqual(atomicWrites(line(1)), [line(1)], 'a short batch is one write');
});
