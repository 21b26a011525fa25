/**
 * Jobs that misbehave in the ways real code does: odd errors, failing or hung hooks, odd timeouts,
 * Ruby-style static perform. Each still ends in one readable outcome, and the worker goes on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { Job } from '../../src/jobs/job.ts';
import { JobLoadError, JobRegistry } from '../../src/jobs/job-registry.ts';
import { type InvalidPayloadError, parsePayload } from '../../src/jobs/payload.ts';
import { JobAbort, jobTimeoutOf } from '../../src/jobs/perform-job.ts';
import { silentLogger } from '../../src/log.ts';
import { parseInFlightEntry } from '../../src/worker/in-flight-entry.ts';
import { runEntry } from '../../src/worker/run-entry.ts';

/** Runs one job of `registry` as a worker does; returns the outcome, the report and the parsed failure record. */
async function run(registry: JobRegistry, className: string, args: unknown[] = [], log = silentLogger) {
  const payload = JSON.stringify({ class: className, args, id: 'j1' });
  const entry = parseInFlightEntry(Buffer.from(['t#1', '2026-11-27T12:00:00Z', 'q', payload].join('\0')));
  const [ack, report] = await runEntry(
    entry,
    parsePayload(payload),
    { registry, workerId: 'h:1:q', defaultTimeout: null, log, retries: true },
    new JobAbort(),
  );
  return { report, failure: ack.failure ? JSON.parse(ack.failure) : undefined };
}

test("errors whose fields are not strings (BigInt, undefined, another realm's, a bad stack, throwing getters) make a valid record", async () => {
  class BigIntMessage extends Error {
    constructor() {
      super('x');
      (this as { message: unknown }).message = 10n;
    }
  }
  class NoMessage extends Error {
    constructor() {
      super();
      (this as { message: unknown }).message = undefined;
    }
  }
  const throwing = (make: () => unknown) => () => {
    throw make();
  };
  const registry = new JobRegistry().register({
    BigIntJob: throwing(() => new BigIntMessage()),
    NoMessageJob: throwing(() => new NoMessage()),
    VmJob: throwing(() => runInNewContext('new TypeError("from a vm")')),
    BadStack: throwing(() => Object.assign(new Error('bad stack'), { stack: 42 })),
    NameGetter: throwing(() =>
      Object.defineProperty(new Error('named'), 'name', {
        get: () => {
          throw new Error('no');
        },
      }),
    ),
  });
  const expect = {
    BigIntJob: ['BigIntMessage', '10'],
    NoMessageJob: ['NoMessage', ''],
    VmJob: ['TypeError', 'from a vm'],
    BadStack: ['Error', 'bad stack'],
    NameGetter: ['Error', 'named'],
  };
  for (const [name, [exception, error]] of Object.entries(expect)) {
    const { report, failure } = await run(registry, name);
    assert.equal(report.outcome, 'failed', name);
    assert.equal(failure.exception, exception, name);
    assert.equal(failure.error, error, name);
    assert.ok(Array.isArray(failure.backtrace), name);
  }
});

test("a tearDown that fails after the job did does not hide the job's error; setUp failing still gets tearDown", async () => {
  const calls: string[] = [];
  class FailsTwice extends Job {
    perform() {
      throw new Error('perform boom');
    }
    tearDown() {
      throw new Error('teardown boom');
    }
    onFailure(err: Error) {
      calls.push(`onFailure:${err.message}`);
    }
  }
  class SetUpFails extends Job {
    setUp() {
      throw new Error('setUp boom');
    }
    perform() {
      calls.push('perform');
    }
    tearDown() {
      calls.push('tearDown');
    }
  }
  const registry = new JobRegistry().register({ FailsTwice, SetUpFails });
  assert.equal((await run(registry, 'FailsTwice')).failure.error, 'perform boom');
  assert.equal((await run(registry, 'SetUpFails')).failure.error, 'setUp boom');
  assert.deepEqual(calls, ['onFailure:perform boom', 'tearDown']);
});

test('a rejected payload still names its job (id, class) in its report', async () => {
  const raw = '{"class":"Echo","args":"not an array","id":"abc"}';
  const entry = parseInFlightEntry(Buffer.from(['t#1', '2026-11-27T12:00:00Z', 'q', raw].join('\0')));
  const parsed = (() => {
    try {
      return parsePayload(raw);
    } catch (err) {
      return err as InvalidPayloadError;
    }
  })();
  const ctx = {
    registry: new JobRegistry(),
    workerId: 'h:1:q',
    defaultTimeout: null,
    log: silentLogger,
    retries: true,
  };
  const [, report] = await runEntry(entry, parsed, ctx, new JobAbort());
  assert.equal(report.failure?.exception, 'InvalidPayload');
  assert.equal(report.jobId, 'abc');
  assert.equal(report.className, 'Echo');
});

test('an onFailure that never settles ends with the job timeout, not never', async () => {
  class HangsOnFailure extends Job {
    static timeout = 0.2;
    perform() {
      throw new Error('failed');
    }
    onFailure() {
      return new Promise(() => {});
    }
  }
  const started = Date.now();
  const { failure } = await run(new JobRegistry().register({ HangsOnFailure }), 'HangsOnFailure');
  assert.equal(failure.error, 'failed');
  assert.ok(Date.now() - started < 2000);
});

test('static timeout: Infinity or beyond a timer means none, not an instant JobTimeout', async () => {
  assert.equal(jobTimeoutOf(Object.assign(() => {}, { timeout: Number.POSITIVE_INFINITY })), undefined);
  assert.equal(jobTimeoutOf(Object.assign(() => {}, { timeout: 30 * 86400 })), 2_147_483);
  class Patient extends Job {
    static timeout = 30 * 86400;
    async perform() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'done';
    }
  }
  assert.equal((await run(new JobRegistry().register({ Patient }), 'Patient')).report.outcome, 'done');
});

test("Ruby's `def self.perform` (a static perform, static hooks) and a perform class field both run", async () => {
  const calls: string[] = [];
  // biome-ignore lint/complexity/noStaticOnlyClass: the shape of a port of Ruby's `def self.perform`
  class StaticStyle {
    static beforePerform(n: number) {
      calls.push(`before:${n}`);
    }
    static perform(this: { queue: string }, n: number) {
      // biome-ignore lint/complexity/noThisInStatic: `this` is the job's context, as for an object job
      calls.push(`perform:${n}:${this.queue}`);
      return n * 2;
    }
  }
  class FieldStyle {
    perform = (n: number) => n + 1;
  }
  class NoPerform {}
  const registry = new JobRegistry().register({ StaticStyle, FieldStyle, NoPerform } as never);
  assert.equal((await run(registry, 'StaticStyle', [2])).report.outcome, 'done');
  assert.deepEqual(calls, ['before:2', 'perform:2:q']);
  assert.equal((await run(registry, 'FieldStyle', [1])).report.outcome, 'done');
  const { failure } = await run(registry, 'NoPerform');
  assert.match(failure.error, /job class NoPerform has no perform method/);
});

test('loading: two modules exporting different jobs with perform under one name is an error naming both; a module throwing a non-Error names its file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-jobs-'));
  try {
    writeFileSync(join(dir, 'a.mjs'), 'export class Welcome { perform() { return "a"; } }\n');
    writeFileSync(join(dir, 'b.mjs'), 'export const Welcome = { perform() { return "b"; } };\n');
    await assert.rejects(new JobRegistry().load([dir]), (err: Error) => {
      assert.ok(err instanceof JobLoadError);
      assert.match(err.message, /job class "Welcome" is exported by both .*a\.mjs and .*b\.mjs/);
      return true;
    });
    const helpers = mkdtempSync(join(tmpdir(), 'rw-jobs-'));
    writeFileSync(
      join(helpers, 'mail.mjs'),
      'export function validate() {}\nexport class Mail { perform() {} }\n',
    );
    writeFileSync(
      join(helpers, 'resize.mjs'),
      'export function validate() {}\nexport class Resize { perform() {} }\n',
    );
    writeFileSync(
      join(helpers, 'legacy.mjs'),
      'class Legacy { perform() {} }\nexport { Legacy as "module.exports" };\n',
    );
    assert.deepEqual(
      (await new JobRegistry().load([helpers])).names,
      ['Mail', 'Resize', 'validate'],
      "two modules' plain helper functions of one name are no error (the last wins, as before); module.exports is no name",
    );
    rmSync(helpers, { recursive: true });
    const same = mkdtempSync(join(tmpdir(), 'rw-jobs-'));
    writeFileSync(join(same, 'mail.mjs'), 'export class Welcome { perform() {} }\n');
    writeFileSync(join(same, 'index.mjs'), 'export { Welcome } from "./mail.mjs";\n');
    assert.deepEqual(
      (await new JobRegistry().load([same])).names,
      ['Welcome'],
      'a re-export is the same job',
    );
    rmSync(same, { recursive: true });
    const bad = join(dir, 'throws.mjs');
    writeFileSync(bad, 'throw null;\n');
    await assert.rejects(
      new JobRegistry().load([bad]),
      /cannot load job module .*throws\.mjs: it threw null/,
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("this.log: the worker's logger, its lines carrying the job's id, queue and class, for every shape", async () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({}, { write: (l: string) => lines.push(JSON.parse(l)) }).child({ workerId: 'h:1:q' });
  class Klass extends Job<[number]> {
    perform(n: number) {
      this.log.info({ n }, 'from a class');
    }
  }
  const registry = new JobRegistry().register({
    Klass,
    fn(this: { log: typeof log }, n: number) {
      this.log.warn({ n }, 'from a function');
    },
    obj: {
      perform(this: { log: typeof log }, n: number) {
        this.log.info({ n }, 'from an object');
      },
    },
  });
  for (const [name, n] of [
    ['Klass', 1],
    ['fn', 2],
    ['obj', 3],
  ] as const) {
    const { report } = await run(registry, name, [n], log);
    assert.equal(report.outcome, 'done', name);
  }
  assert.deepEqual(
    lines.map(({ jobId, queue, class: c, workerId, n, msg }) => ({
      jobId,
      queue,
      class: c,
      workerId,
      n,
      msg,
    })),
    [
      { jobId: 'j1', queue: 'q', class: 'Klass', workerId: 'h:1:q', n: 1, msg: 'from a class' },
      { jobId: 'j1', queue: 'q', class: 'fn', workerId: 'h:1:q', n: 2, msg: 'from a function' },
      { jobId: 'j1', queue: 'q', class: 'obj', workerId: 'h:1:q', n: 3, msg: 'from an object' },
    ],
  );
});

test('a job with a log of its own keeps it: a field, or one assigned in setUp or perform', async () => {
  const mine = { info: (msg: string) => seen.push(msg) };
  const seen: string[] = [];
  class Field extends Job {
    override log = mine as never;
    perform() {
      (this.log as unknown as typeof mine).info('field');
    }
  }
  class Assigned {
    log: unknown;
    setUp() {
      this.log = mine;
    }
    perform() {
      (this.log as typeof mine).info('setUp');
    }
  }
  const registry = new JobRegistry().register({
    Field,
    Assigned,
    fn(this: { log: unknown }) {
      this.log = mine;
      (this.log as typeof mine).info('function');
    },
  });
  for (const name of ['Field', 'Assigned', 'fn']) {
    const { report } = await run(registry, name);
    assert.equal(report.outcome, 'done', `${name}: ${report.failure?.error}`);
  }
  assert.deepEqual(seen, ['field', 'setUp', 'function']);
});
