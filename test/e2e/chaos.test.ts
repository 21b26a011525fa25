/**
 * The chaos suite, short (issue 4): scripts/chaos.ts with few jobs and a few faults of each kind
 * against the real supervisor. `npm run chaos` is the long run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

const SCRIPT = new URL('../../scripts/chaos.ts', import.meta.url).pathname;
const TSX = new URL('../../bin/tsx.mjs', import.meta.url).pathname;

test('chaos (short): child and supervisor SIGKILLs, Redis restarts, pause, HUP: nothing lost, nothing failed', async () => {
  const jobs = 1500;
  const args = [
    TSX,
    SCRIPT,
    ...['--jobs', String(jobs), '--workers', '2', '--concurrency', '4', '--job-ms', '40'],
    ...[
      '--child-kills',
      '3',
      '--supervisor-kills',
      '2',
      '--redis-restarts',
      '2',
      '--pauses',
      '1',
      '--hups',
      '1',
    ],
    ...['--timeout', '55', '--seed', '7'],
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('chaos: jobs='));
  assert.ok(line, `no result line; stderr:\n${err}`);
  const m = line.match(
    /^chaos: jobs=(\d+) faults=(\d+) completed=(\d+) lost=(\d+) duplicated=(\d+) failed=(\d+) seconds=([\d.]+)$/,
  );
  assert.ok(m, line);
  const [, j, faults, completed, lost, , failed] = m.map(Number);
  assert.equal(j, jobs);
  assert.equal(faults, 9, `every planned fault was injected\n${err}`);
  assert.equal(lost, 0, `${line}\n${err}`);
  assert.equal(failed, 0, `${line}\n${err}`);
  assert.equal(completed, jobs);
  assert.equal(code, 0, err);
});
