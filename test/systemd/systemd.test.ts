/**
 * Issue 5: the shipped units and the real daemon under a real systemd. Runs scripts/systemd-e2e.sh,
 * which boots a throw-away systemd-nspawn container (root needed; see the script's header for the
 * packages), drives the units with systemctl and prints a PASS/FAIL line per check. This file
 * asserts that every check passed. scripts/run-tests.mjs runs it only with RUN_SYSTEMD_TESTS=1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

const SCRIPT = new URL('../../scripts/systemd-e2e.sh', import.meta.url).pathname;

test('systemd end-to-end: scripts/systemd-e2e.sh passes every check', { timeout: 480_000 }, async (t) => {
  const child = spawn('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  // On a test timeout or abort, TERM lets the script power the container off and clean up.
  const onAbort = () => child.kill('SIGTERM');
  t.signal.addEventListener('abort', onAbort, { once: true });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    output += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    output += s;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.signal.removeEventListener('abort', onAbort);

  const lines = output.split('\n');
  for (const line of lines) if (/^(PASS|FAIL) /.test(line)) t.diagnostic(line.trimEnd());
  const summary = lines.filter((l) => /^\d+ passed, \d+ failed$/.test(l)).at(-1);
  const failed = lines.filter((l) => l.startsWith('FAIL'));
  assert.equal(failed.length, 0, `failed checks:\n${failed.join('\n')}\n\nfull output:\n${output}`);
  assert.ok(summary, `no "N passed, N failed" line; output:\n${output}`);
  const [passed, nfailed] = summary.split(/\D+/).map(Number);
  assert.equal(nfailed, 0, summary);
  assert.ok((passed ?? 0) >= 20, `only ${passed} checks ran: ${summary}`);
  assert.equal(code, 0, `exit code ${code}\n${output}`);
});
