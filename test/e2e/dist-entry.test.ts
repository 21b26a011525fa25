/**
 * Which code the real command runs: the compiled dist/ when it is up to date (tsx only for
 * TypeScript job modules), src/ through tsx when a file under src/ changed since the build (said
 * once on stderr) or when there is no build; a supervisor's children run what it runs.
 *
 * The tests run a copy of the package (bin, src, dist, config, package.json; node_modules linked),
 * so that touching its src/ does not send the test files running alongside to the tsx fallback.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, Daemon } from '../helpers/cli.ts';
import { type LogLine, SupervisorProcess } from '../helpers/supervisor-process.ts';
import { useTestRedis } from '../helpers/use-test-redis.ts';
import { waitFor } from '../helpers/wait.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const TS_JOBS = new URL('../fixtures/ts-jobs/', import.meta.url).pathname;
const JS_JOBS = new URL('../fixtures/js-jobs/', import.meta.url).pathname;
const STALE_WARNING =
  /^resque-worker: src\/index\.ts changed after the last build: running src\/ through tsx/;
/** Before any build of dist/ there can be. */
const LONG_AGO = new Date('2020-01-01T00:00:00Z');

/** Sets the time of src/ and everything under it. */
function touchTree(dir: string, time: Date): void {
  utimesSync(dir, time, time);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) touchTree(path, time);
    else utimesSync(path, time, time);
  }
}

describe('bin/resque-worker.mjs: compiled dist/ or src/ through tsx', () => {
  const sups: SupervisorProcess[] = [];
  const daemons: Daemon[] = [];
  const db = useTestRedis({
    flushEach: true,
    release: async () => {
      for (const d of daemons.splice(0)) d.kill('SIGKILL');
      await Promise.all(sups.splice(0).map((s) => s.cleanup()));
    },
  });
  let root = '';
  let bin = '';
  const srcAge = (time: Date) => touchTree(join(root, 'src'), time);
  const staleSrc = () => utimesSync(join(root, 'src/index.ts'), new Date(), new Date());

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'rw-dist-'));
    for (const d of ['bin', 'src', 'dist', 'config', 'package.json'])
      cpSync(join(REPO, d), join(root, d), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    bin = join(root, 'bin/resque-worker.mjs');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const worker = (jobs: string, queue: string) => {
    const d = new Daemon(['work', '--jobs', jobs, '--queues', queue], { REDIS_URL: db.redis.url }, bin);
    daemons.push(d);
    return d;
  };
  const jobsLine = (d: Daemon) =>
    waitFor(() => d.events('worker.jobs')[0], { what: `worker.jobs from pid ${d.proc.pid}: ${d.stderr}` });
  const result = async (id: string) => {
    const st = await waitFor(
      async () => {
        const s = await db.client.status(id);
        return (s.status === 'complete' || s.status === 'failed') && s;
      },
      { timeout: 20_000, what: `job ${id} to finish` },
    );
    assert.equal(st.status, 'complete', JSON.stringify(st));
    return st.result;
  };
  /** The worker.jobs line of every child the supervisor started, once `count` of them said it. */
  const childLines = async (
    s: SupervisorProcess,
    count: number,
    match: (l: LogLine) => boolean = () => true,
  ) =>
    s.waitForEvent('worker.jobs', { count, match: (l) => l.role === 'worker' && match(l), timeout: 30_000 });

  test('up to date: dist/ runs, says nothing; .js job modules never load tsx', async () => {
    srcAge(LONG_AGO);
    const v = await cli(['--version'], {}, bin);
    assert.match(v.stdout, /^resque-worker \d+\.\d+\.\d+ \(compiled dist\/\)$/m);
    assert.equal(v.stderr, '');

    const d = worker(JS_JOBS, 'js');
    const line = await jobsLine(d);
    assert.deepEqual([line.from, line.tsx, line.jobs], ['dist', false, ['Echo']]);
    const id = await db.client.enqueue('js', 'Echo', ['plain'], { trackStatus: true });
    assert.equal(await result(id), 'plain');
    assert.equal(d.stderr, '');
  });

  test('from dist/, a .ts job module with its own .ts imports gets tsx registered and runs', async () => {
    srcAge(LONG_AGO);
    const d = worker(TS_JOBS, 'ts');
    const line = await jobsLine(d);
    assert.deepEqual([line.from, line.tsx, line.jobs], ['dist', true, ['Greet']]);
    const id = await db.client.enqueue('ts', 'Greet', ['ann'], { trackStatus: true });
    assert.equal(await result(id), 'hello there, ann');
    assert.equal(d.stderr, '');
  });

  test('a .ts job module of a CommonJS app (no "type": "module") loads, from dist/ and from src/', async () => {
    // Most apps: Node reads their .ts as CommonJS, and tsx's ESM hook alone failed on `export`.
    const app = mkdtempSync(join(tmpdir(), 'rw-cjs-app-'));
    try {
      mkdirSync(join(app, 'jobs/lib'), { recursive: true });
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'commonjs' }));
      writeFileSync(join(app, 'jobs/lib/shout.ts'), "export const shout = (s: string): string => s + '!';\n");
      writeFileSync(
        join(app, 'jobs/welcome.ts'),
        [
          "import { shout } from './lib/shout';",
          'export class Welcome {',
          '  perform(name: string): string {',
          "    return shout('welcome ' + name);",
          '  }',
          '}',
          "export default { 'Mailers::Welcome': Welcome };",
        ].join('\n'),
      );
      for (const from of ['dist', 'src'] as const) {
        srcAge(LONG_AGO);
        if (from === 'src') staleSrc();
        const d = worker(join(app, 'jobs'), `cjs-${from}`);
        const line = await jobsLine(d);
        assert.deepEqual(
          [line.from, line.tsx, line.jobs],
          [from, true, ['Mailers::Welcome', 'Welcome']],
          d.stderr,
        );
        const id = await db.client.enqueue(`cjs-${from}`, 'Mailers::Welcome', ['ann'], { trackStatus: true });
        assert.equal(await result(id), 'welcome ann!');
        d.kill('SIGKILL');
      }
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  test('supervisor from dist/: its children run dist/, and still do after src/ changes under them', async () => {
    srcAge(LONG_AGO);
    const s = SupervisorProcess.start({
      bin,
      config: {
        redis: { url: db.redis.url },
        jobs: [TS_JOBS],
        queues: 'ts',
        supervisor: { count: 2, respawnDelay: 0.1 },
      },
    });
    sups.push(s);
    const first = await childLines(s, 2);
    for (const l of first)
      assert.deepEqual(
        (l.nodeFlags as string[]).filter((f) =>
          ['--max-semi-space-size=4', '--expose-gc', '--no-lazy-feedback-allocation'].includes(f),
        ),
        ['--max-semi-space-size=4', '--expose-gc', '--no-lazy-feedback-allocation'],
        'children get the worker node flags',
      );
    assert.deepEqual(
      first.map((l) => [l.from, l.tsx]),
      [
        ['dist', true],
        ['dist', true],
      ],
      s.dump(),
    );
    // An edit now must not give the next child other code than its supervisor runs.
    staleSrc();
    const victim = first[0]!.pid!;
    process.kill(victim, 'SIGKILL');
    const [respawned] = await childLines(s, 1, (l) => !first.some((f) => f.pid === l.pid));
    assert.equal(respawned!.from, 'dist', s.dump());
    const id = await db.client.enqueue('ts', 'Greet', ['bo'], { trackStatus: true });
    assert.equal(await result(id), 'hello there, bo');
    assert.deepEqual(s.stderr, [], 'children say nothing about src/: they do not look');
  });

  test('src/ newer than the build: src/ through tsx for the supervisor and its children, said once', async () => {
    srcAge(LONG_AGO);
    staleSrc();
    const v = await cli(['--version'], {}, bin);
    assert.match(v.stdout, /\(src\/ through tsx\)/);
    assert.match(v.stderr, STALE_WARNING);

    const s = SupervisorProcess.start({
      bin,
      config: { redis: { url: db.redis.url }, jobs: [JS_JOBS], queues: 'js', supervisor: { count: 2 } },
    });
    sups.push(s);
    const lines = await childLines(s, 2);
    assert.deepEqual(
      lines.map((l) => [l.from, l.tsx]),
      [
        ['src', true],
        ['src', true],
      ],
      s.dump(),
    );
    const id = await db.client.enqueue('js', 'Echo', ['from src'], { trackStatus: true });
    assert.equal(await result(id), 'from src');
    assert.equal(s.stderr.length, 1, s.stderr.join('\n'));
    assert.match(s.stderr[0]!, STALE_WARNING);
  });

  test('no dist/ at all: src/ through tsx, without a word', async () => {
    srcAge(LONG_AGO);
    renameSync(join(root, 'dist'), join(root, 'dist.away'));
    try {
      const v = await cli(['--version'], {}, bin);
      assert.match(v.stdout, /\(src\/ through tsx\)/);
      assert.equal(v.stderr, '');
    } finally {
      renameSync(join(root, 'dist.away'), join(root, 'dist'));
    }
  });
});
