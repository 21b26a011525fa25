#!/usr/bin/env node
// `npm test`: every test file under test/unit, test/integration, test/e2e, and test/systemd (a
// real systemd booted in a throw-away container: needs root and systemd-nspawn; SKIP_SYSTEMD_TESTS=1
// leaves it out), on Node's test runner with tsx. Extra args are passed through, e.g.
// `npm test -- --test-name-pattern=reserve`, or a list of files.
// It builds dist/ first when src/ changed since the last build: the tests that start the real
// command run the compiled daemon, as production does.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The daemon reads its settings from the environment too (over the config file): a REDIS_URL or
// QUEUE exported in the developer's shell must not point the tests' daemons at their Redis.
const schema = readFileSync('src/config/schema.ts', 'utf8');
const configEnv = [...schema.matchAll(/env: '([A-Z_]+)'/g)].map((m) => m[1]);
for (const name of [...configEnv, 'QUEUES', 'RESQUE_WORKER_CONFIG', 'RESQUE_WORKER_FROM', 'NOTIFY_SOCKET'])
  delete process.env[name];

const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const layers = ['unit', 'integration', 'e2e'];
const canBootSystemd = process.getuid?.() === 0 && existsSync('/usr/bin/systemd-nspawn');
if (process.env.SKIP_SYSTEMD_TESTS !== '1' && canBootSystemd) layers.push('systemd');
else if (process.env.SKIP_SYSTEMD_TESTS !== '1')
  console.log('# test/systemd skipped: needs root and systemd-nspawn (apt-get install systemd-container)');
if (files.length === 0) {
  for (const layer of layers) {
    let names = [];
    try {
      names = readdirSync(join('test', layer));
    } catch {}
    files.push(
      ...names
        .filter((n) => n.endsWith('.test.ts'))
        .sort()
        .map((n) => join('test', layer, n)),
    );
  }
}
const result = spawnSync(
  process.execPath,
  // A test that hangs fails (and names itself) instead of holding the run forever; the few that
  // need longer set their own timeout.
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=120000',
    '--test-reporter=spec',
    ...flags,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
